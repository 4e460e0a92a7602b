"""摄像机详情: one camera's state timeline, probe durations by stage, clock offset and video checks."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat, statetimeline, table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards import metrics as m
from dashboards.common import DATASOURCE, dashboard, organize, query, region_variables, state_mappings, thresholds
from dashboards.promql import CAMERA_FILTER, per_camera, sel

UID = "camwatch-camera"
ONE = f'{CAMERA_FILTER},camera_name="$camera"'

UP = per_camera(sel(m.CAMERA_UP, ONE))
VIDEO = per_camera(sel(m.CAMERA_VIDEO_OK, ONE))
DURATIONS = per_camera(sel(m.CAMERA_PROBE_DURATION, ONE), "stage")
CLOCK = per_camera(sel(m.CAMERA_CLOCK_OFFSET, ONE))
IN_STATE = f"time() - {per_camera(sel(m.CAMERA_STATE_SINCE, ONE))}"
INFO = per_camera(sel(m.CAMERA_LOCATION, ONE), "point", "lon", "lat")


def camera_variable() -> db.QueryVariable:
    return (
        db.QueryVariable("camera").label("摄像机").datasource(DATASOURCE)
        .query(f"label_values({sel(m.CAMERA_LOCATION, CAMERA_FILTER)}, camera_name)")
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
    )


def build() -> dm.Dashboard:
    d = dashboard(UID, "摄像机详情", "单台摄像机：在线状态时间线、各阶段探测耗时、时钟偏差、画面检查")
    d = d.variables([*region_variables(), camera_variable()])
    d = d.with_panel(
        table.Panel().title("摄像机信息").height(5).span(16)
        .with_target(query(INFO, instant=True, table=True))
        .with_transformation(organize({"county_name": "县/区", "township_name": "乡镇/街道", "village_name": "村/社区", "point": "点位",
                                       "camera_name": "摄像机", "camera": "编号", "lon": "经度", "lat": "纬度"}))
    ).with_panel(
        stat.Panel().title("当前状态已持续").unit("s").height(5).span(8)
        .with_target(query(IN_STATE, instant=True))
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    ).with_panel(
        statetimeline.Panel().title("在线状态").height(5).span(24)
        .with_target(query(UP, "在线状态")).mappings(state_mappings()).thresholds(thresholds((None, "red"), (1, "green")))
    ).with_panel(
        statetimeline.Panel().title("画面检查（黑屏、花屏、冻结等）").height(5).span(24)
        .with_target(query(VIDEO, "画面")).thresholds(thresholds((None, "red"), (1, "green")))
        .mappings([dm.ValueMap(options={"1": dm.ValueMappingResult(text="正常", color="green", index=0),
                                        "0": dm.ValueMappingResult(text="异常", color="red", index=1)})])
    ).with_panel(
        timeseries.Panel().title("各阶段探测耗时").unit("s").height(8).span(12)
        .with_target(query(DURATIONS, "{{stage}}"))
    ).with_panel(
        timeseries.Panel().title("时钟偏差（摄像机减服务器）").unit("s").height(8).span(12)
        .with_target(query(CLOCK, "时钟偏差"))
        .thresholds(thresholds((None, "red"), (-5, "green"), (5, "red")))
        .thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED))
    )
    return d.build()

