"""The metric names the dashboards and recording rules read (DESIGN §7, the metric contract).

Only names: ``dashboards`` does not import the collector. A test checks each name against what a
running ``camwatch run`` exports, and that no panel query names anything outside this module.
"""

from __future__ import annotations

# per camera (labels camera, camera_name, village, village_name, township, township_name, county, county_name)
CAMERA_UP = "camwatch_camera_up"
CAMERA_VIDEO_OK = "camwatch_camera_video_ok"
CAMERA_OFFLINE_CAUSE = "camwatch_camera_offline_cause"
CAMERA_CLOCK_OFFSET = "camwatch_camera_clock_offset_seconds"
CAMERA_STATE_SINCE = "camwatch_camera_state_since_timestamp_seconds"
CAMERA_PROBE_DURATION = "camwatch_camera_probe_duration_seconds"
CAMERA_LOCATION = "camwatch_camera_location"  # info metric: + point, lon, lat
# per region (labels level, region, region_name)
REGION_CAMERAS = "camwatch_region_cameras"
REGION_ONLINE = "camwatch_region_online_ratio"
REGION_AVAILABILITY = "camwatch_region_availability_ratio"
REGION_COVERAGE = "camwatch_region_coverage_ratio"
REGION_TARGET = "camwatch_region_target_ratio"
# camwatch itself
PROBES_TOTAL = "camwatch_probes_total"
SWEEP_DURATION = "camwatch_sweep_duration_seconds"
LATENESS_BUCKET = "camwatch_probe_lateness_seconds_bucket"
LATENESS_SUM = "camwatch_probe_lateness_seconds_sum"
LATENESS_COUNT = "camwatch_probe_lateness_seconds_count"
ALERTS_SENT_TOTAL = "camwatch_alerts_sent_total"
DB_PENDING_WRITES = "camwatch_db_pending_writes"
# work orders (issue 5)
WORK_ORDERS = "camwatch_work_orders"

EXPORTED: frozenset[str] = frozenset({
    CAMERA_UP, CAMERA_VIDEO_OK, CAMERA_OFFLINE_CAUSE, CAMERA_CLOCK_OFFSET, CAMERA_STATE_SINCE,
    CAMERA_PROBE_DURATION, CAMERA_LOCATION, REGION_CAMERAS, REGION_ONLINE, REGION_AVAILABILITY,
    REGION_COVERAGE, REGION_TARGET, PROBES_TOTAL, SWEEP_DURATION, LATENESS_BUCKET, LATENESS_SUM,
    LATENESS_COUNT, ALERTS_SENT_TOTAL, DB_PENDING_WRITES, WORK_ORDERS,
})

# recording rules (config/prometheus/recording.yml): level:metric:operations
REC_OFFLINE_CAUSE_TOWNSHIP = "township:camwatch_camera_offline_cause:count"
REC_STATE_CHANGES_1H = "camera:camwatch_camera_state_changes:1h"
REC_PROBES_RATE_1M = "stage_result:camwatch_probes:rate1m"
REC_LATENESS_P99_5M = "camwatch_probe_lateness_seconds:p99_5m"
REC_LATENESS_P50_5M = "camwatch_probe_lateness_seconds:p50_5m"

RECORDED: frozenset[str] = frozenset({
    REC_OFFLINE_CAUSE_TOWNSHIP, REC_STATE_CHANGES_1H, REC_PROBES_RATE_1M, REC_LATENESS_P99_5M, REC_LATENESS_P50_5M,
})
