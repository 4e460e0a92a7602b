"""The metric names the dashboards and recording rules read (DESIGN §7, the metric contract).

Only names. The exported ones are taken from the one declaration of the families,
:mod:`collector.metrics.families`, a leaf module that imports nothing of the project: the only
piece of the collector the dashboards read. A test checks each name against what a running
``camwatch run`` exports, and that no panel query names anything outside this module.
"""

from __future__ import annotations

from collector.metrics import families as f
from probes.causes import cause_names as cause_names  # words of the `cause` label's values (leaf declaration)

# The sample names of each group of families, in the declared order (a test matches each name here
# with the family of the same name in collector.metrics.families).
# per camera (labels f.CAMERA_LABELS: camera, camera_name, village, ..., county_name)
(CAMERA_UP, CAMERA_VIDEO_OK, CAMERA_OFFLINE_CAUSE, CAMERA_CLOCK_OFFSET, CAMERA_STATE_SINCE, CAMERA_PROBE_DURATION,
 CAMERA_LOCATION, CAMERA_FAILED_CHECK) = (family.name for family in f.CAMERA_FAMILIES)  # location: 1 per camera, + point, lon, lat
# per region (labels f.REGION_LABELS: level, region, region_name)
REGION_CAMERAS, REGION_ONLINE, REGION_AVAILABILITY, REGION_COVERAGE, REGION_TARGET = (
    family.name for family in f.REGION_FAMILIES)
# camwatch itself; work orders: issue 5
(PROBES_TOTAL, SWEEP_DURATION, LATENESS_BUCKET, LATENESS_SUM, LATENESS_COUNT, ALERTS_SENT_TOTAL, DB_PENDING_WRITES,
 WORK_ORDERS, SHARD_CAMERAS, REPLICA_INFO, PROCESS_MEMORY, PROCESS_CPU) = (
    name for family in f.SELF_FAMILIES for name in family.sample_names)

# the GB/T 28181 platform's (only with gb28181.enabled, where the platform runs: not in EXPORTED)
(GB28181_REGISTRATIONS, GB28181_AUTH_FAILURES, GB28181_BLOCKED_ADDRESSES, GB28181_REFUSED, GB28181_KEEPALIVES,
 GB28181_QUERIES, GB28181_REGISTERED_DEVICES) = (family.name for family in f.GB28181_FAMILIES)

# every sample name /metrics writes
EXPORTED: frozenset[str] = frozenset(name for family in f.FAMILIES for name in family.sample_names)

# recording rules (config/prometheus/recording.yml): level:metric:operations
REC_OFFLINE_CAUSE_TOWNSHIP = "township:camwatch_camera_offline_cause:count"
REC_STATE_CHANGES_1H = "camera:camwatch_camera_state_changes:1h"
REC_PROBES_RATE_1M = "stage_result:camwatch_probes:rate1m"
REC_LATENESS_P99_5M = "camwatch_probe_lateness_seconds:p99_5m"
REC_LATENESS_P50_5M = "camwatch_probe_lateness_seconds:p50_5m"

RECORDED: frozenset[str] = frozenset({
    REC_OFFLINE_CAUSE_TOWNSHIP, REC_STATE_CHANGES_1H, REC_PROBES_RATE_1M, REC_LATENESS_P99_5M, REC_LATENESS_P50_5M,
})
