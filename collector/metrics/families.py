"""The Prometheus metric families camwatch exports: the one declaration (DESIGN §7; the names are a contract).

Each family is written here once (name, type, help text, label names) and read by both
renderers (:mod:`collector.metrics.registry`, :mod:`collector.metrics.text`) and by the
dashboards' metric names (``dashboards/metrics.py``). This module imports nothing of the project,
so the dashboards can read it without the collector.

A family's ``name`` is the name its ``# HELP``/``# TYPE`` lines carry in the Prometheus text
format: a counter's ends in ``_total`` (prometheus_client's families take it with or without).
``FAMILIES`` lists them in the order ``/metrics`` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """The ``# TYPE`` of a family."""

    GAUGE = "gauge"
    COUNTER = "counter"
    HISTOGRAM = "histogram"


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()  # a histogram's ``le`` is implied

    @property
    def sample_names(self) -> tuple[str, ...]:
        """The names its samples carry (what PromQL selects)."""
        if self.kind is Kind.HISTOGRAM:
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


# Codes and names are one-to-one, so the names add no series.
CAMERA_LABELS = ("camera", "camera_name", "village", "village_name", "township", "township_name", "county", "county_name")
REGION_LABELS = ("level", "region", "region_name")  # level: village, township or county
LOCATION_LABELS = ("point", "lon", "lat")

# Per camera. The location family is a gauge of 1 rather than an ``info`` type: an info family
# would be exported as ``camwatch_camera_location_info``, and the dashboards read this name.
CAMERA_UP = Family("camwatch_camera_up", Kind.GAUGE,
                   "1 while online or degraded, 0 while offline; absent while unknown or excluded", CAMERA_LABELS)
CAMERA_VIDEO_OK = Family("camwatch_camera_video_ok", Kind.GAUGE,
                         "1 when the last video check (VQD) passed, 0 when it failed or got no picture; absent before the first check",
                         CAMERA_LABELS)
CAMERA_OFFLINE_CAUSE = Family("camwatch_camera_offline_cause", Kind.GAUGE,
                              "1 for the cause of the current offline state; absent while online, unknown or excluded",
                              (*CAMERA_LABELS, "cause"))
CAMERA_CLOCK_OFFSET = Family("camwatch_camera_clock_offset_seconds", Kind.GAUGE,
                             "camera clock minus ours (ONVIF), from the last probe; absent when it did not read the clock",
                             CAMERA_LABELS)
CAMERA_STATE_SINCE = Family("camwatch_camera_state_since_timestamp_seconds", Kind.GAUGE,
                            "start of the current state (Unix time)", CAMERA_LABELS)
CAMERA_PROBE_DURATION = Family("camwatch_camera_probe_duration_seconds", Kind.GAUGE,
                               "duration of each stage of the last fast-tier probe", (*CAMERA_LABELS, "stage"))
CAMERA_LOCATION = Family("camwatch_camera_location", Kind.GAUGE,
                         "1 for every camera: its point name and coordinates (lon/lat empty when unknown), for tables and maps",
                         (*CAMERA_LABELS, *LOCATION_LABELS))
CAMERA_FAILED_CHECK = Family("camwatch_camera_failed_check", Kind.GAUGE,
                              "1 for each failed check of a degraded camera: picture checks (VQD) and clock (its "
                              "clock off by more than probe.clock_skew_s); absent otherwise", (*CAMERA_LABELS, "check"))

# Per region (village, township, county).
REGION_CAMERAS = Family("camwatch_region_cameras", Kind.GAUGE,
                        "cameras now by status (online, degraded, offline, unknown, excluded)", (*REGION_LABELS, "status"))
REGION_ONLINE = Family("camwatch_region_online_ratio", Kind.GAUGE,
                       "cameras online or degraded / cameras online, degraded or offline, now (unknown and excluded "
                       "left out); absent when none is", REGION_LABELS)
REGION_AVAILABILITY = Family("camwatch_region_availability_ratio", Kind.GAUGE,
                             "time-weighted online ratio (degraded counts as online) over a window (1d, 7d, 30d, month), "
                             "unknown time and exclusions left out", (*REGION_LABELS, "window"))
REGION_COVERAGE = Family("camwatch_region_coverage_ratio", Kind.GAUGE,
                         "coverage now, by level: village = share of its planned points covered (a point with an online "
                         "or degraded camera); township and county = fully covered villages / villages with a planned "
                         "point (not a share of points); absent until known (a camera of the village still unknown)",
                         REGION_LABELS)
REGION_TARGET = Family("camwatch_region_target_ratio", Kind.GAUGE,
                       "contract target of the online ratio (as configured for the region, 0.95 by default)", REGION_LABELS)

# camwatch itself.
PROBES_TOTAL = Family("camwatch_probes_total", Kind.COUNTER, "probe stages run, by stage and result (ok or fail)",
                      ("stage", "result"))
SWEEP_DURATION = Family("camwatch_sweep_duration_seconds", Kind.GAUGE, "duration of the last full fast-tier sweep")
PROBE_LATENESS = Family("camwatch_probe_lateness_seconds", Kind.HISTOGRAM,
                        "how late probes started after their planned time (0 when on time)")
ALERTS_SENT_TOTAL = Family("camwatch_alerts_sent_total", Kind.COUNTER, "alert deliveries by channel and result",
                           ("channel", "result"))
DB_PENDING_WRITES = Family("camwatch_db_pending_writes", Kind.GAUGE, "state intervals waiting to be written to the database")
WORK_ORDERS = Family("camwatch_work_orders", Kind.GAUGE,
                     "work orders by colour (三色督办): every open one and those resolved since about the start of last "
                     "month; green fixed in time, yellow open within its deadline, red overdue", ("color",))
SHARD_CAMERAS = Family("camwatch_shard_cameras", Kind.GAUGE,
                       "cameras this replica watches now: those of the shards it owns (every camera when it runs alone)")
REPLICA_INFO = Family("camwatch_replica_info", Kind.GAUGE,
                      "1, labelled with this collector's replica id (collector.replica_id; its collector_id when alone)",
                      ("replica",))
PROCESS_MEMORY = Family("camwatch_process_resident_memory_bytes", Kind.GAUGE,
                        "resident memory (RSS) of camwatch's processes: the collector and each probe worker "
                        "(collector.workers), sampled every 15 s", ("process",))
PROCESS_CPU = Family("camwatch_process_cpu_seconds_total", Kind.COUNTER,
                     "CPU time (user + system) of camwatch's processes since each started (a restarted worker "
                     "starts again from 0), sampled every 15 s", ("process",))

# The GB/T 28181 access platform (gb28181.enabled), written after camwatch's own families; samples
# where the platform runs (of replicas, the leader). Not in FAMILIES: absent without the platform.
# Counters start again from 0 when the platform does (a restart, a new leader).
GB28181_REGISTRATIONS = Family("camwatch_gb28181_registrations_total", Kind.COUNTER,
                               "REGISTERs accepted, by kind: new (no registration in force before), refresh (same "
                               "Call-ID, higher CSeq), restart (registered anew while registered: a new Call-ID or "
                               "CSeq, the device restarted; its catalog is asked again), unregister (Expires: 0)",
                               ("kind",))
GB28181_AUTH_FAILURES = Family("camwatch_gb28181_auth_failures_total", Kind.COUNTER,
                               "REGISTERs refused for a wrong password (403)")
GB28181_BLOCKED_ADDRESSES = Family("camwatch_gb28181_blocked_addresses", Kind.GAUGE,
                                   "source addresses refused now after gb28181.auth_failures wrong passwords (every "
                                   "device behind one is refused until it earns a try back)")
GB28181_REFUSED = Family("camwatch_gb28181_refused_total", Kind.COUNTER,
                         "devices' requests refused, by reason: bad_id, blocked, no_password, bad_digest, too_brief "
                         "(REGISTER); not_registered, other_address, bad_body (MESSAGE/NOTIFY); wrong passwords "
                         "are in camwatch_gb28181_auth_failures_total", ("reason",))
GB28181_KEEPALIVES = Family("camwatch_gb28181_keepalives_total", Kind.COUNTER,
                            "keepalives accepted from registered devices")
GB28181_QUERIES = Family("camwatch_gb28181_queries_total", Kind.COUNTER,
                         "queries sent to devices, by query: catalog, device_status, device_info", ("query",))
GB28181_REGISTERED_DEVICES = Family("camwatch_gb28181_registered_devices", Kind.GAUGE,
                                    "inventory devices registered and alive now (registration in force, keepalives "
                                    "on time), as /healthz's gb28181.registered_devices")

CAMERA_FAMILIES = (CAMERA_UP, CAMERA_VIDEO_OK, CAMERA_OFFLINE_CAUSE, CAMERA_CLOCK_OFFSET, CAMERA_STATE_SINCE,
                   CAMERA_PROBE_DURATION, CAMERA_LOCATION, CAMERA_FAILED_CHECK)
REGION_FAMILIES = (REGION_CAMERAS, REGION_ONLINE, REGION_AVAILABILITY, REGION_COVERAGE, REGION_TARGET)
SELF_FAMILIES = (PROBES_TOTAL, SWEEP_DURATION, PROBE_LATENESS, ALERTS_SENT_TOTAL, DB_PENDING_WRITES, WORK_ORDERS,
                 SHARD_CAMERAS, REPLICA_INFO, PROCESS_MEMORY, PROCESS_CPU)
FAMILIES = (*CAMERA_FAMILIES, *REGION_FAMILIES, *SELF_FAMILIES)
GB28181_FAMILIES = (GB28181_REGISTRATIONS, GB28181_AUTH_FAILURES, GB28181_BLOCKED_ADDRESSES, GB28181_REFUSED,
                    GB28181_KEEPALIVES, GB28181_QUERIES, GB28181_REGISTERED_DEVICES)
