"""运维总览: the contractors' page (online ratio vs target, offline cameras, causes, flapping, work orders)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, geomap, piechart, stat, table, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards import metrics as m
from dashboards.common import TARGET_HINT, dashboard, organize, query, region_variables, target_thresholds, thresholds
from dashboards.promql import CAMERA_FILTER, COUNTY_FILTER, TOWNSHIP_FILTER, per_camera, per_region, sel

UID = "camwatch-operations"
C = CAMERA_FILTER

ONLINE_BY_TOWNSHIP = per_region(sel(m.REGION_ONLINE, TOWNSHIP_FILTER))
COUNTY_ONLINE = per_region(sel(m.REGION_ONLINE, COUNTY_FILTER))
# each township against its own target (camwatch_region_target_ratio: configured per region)
BELOW_TARGET = (f"count({per_region(sel(m.REGION_ONLINE, TOWNSHIP_FILTER))}"
                f" < on(level, region) group_left() {per_region(sel(m.REGION_TARGET, TOWNSHIP_FILTER))}) or on() vector(0)")
OFFLINE_COUNT = "sum(" + per_region(sel(m.REGION_CAMERAS, COUNTY_FILTER, 'status="offline"'), "status") + ")"
OFFLINE_TABLE = (
    f'label_join(({per_camera(sel(m.CAMERA_STATE_SINCE, C))} * 1000)'
    f" * on(camera) group_left(cause) {per_camera(sel(m.CAMERA_OFFLINE_CAUSE, C), 'cause')}"
    f" * on(camera) group_left(point) {per_camera(sel(m.CAMERA_LOCATION, C), 'point', 'lon', 'lat')},"
    ' "region_path", " / ", "county_name", "township_name", "village_name")'
)
AVAILABILITY_TREND = per_region(sel(m.REGION_AVAILABILITY, TOWNSHIP_FILTER, 'window="1d"'), "window")
CAUSES = f'sum by (cause) ({m.REC_OFFLINE_CAUSE_TOWNSHIP}{{county_name=~"$county",township_name=~"$township"}})'
FLAPPING = (f'label_join(topk(20, {sel(m.REC_STATE_CHANGES_1H, C)} >= 3),'
            ' "region_path", " / ", "county_name", "township_name", "village_name")')
WORK_ORDERS = f"max by (color) ({m.WORK_ORDERS})"  # the leader's counts (two targets while it changes)
LATENESS = (m.REC_LATENESS_P50_5M, m.REC_LATENESS_P99_5M)
MAP = (per_camera(sel(m.CAMERA_LOCATION, C, 'lon!=""'), "point", "lon", "lat")
       + f" * on(camera) group_left() {per_camera(sel(m.CAMERA_UP, C))}")


def _last() -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def cause_mapping() -> dm.ValueMap:
    """Words for every value of the ``cause`` label, from the one declaration of the causes."""
    return dm.ValueMap(options={k: dm.ValueMappingResult(text=v, index=i) for i, (k, v) in enumerate(m.cause_names().items())})


def build() -> dm.Dashboard:
    d = dashboard(UID, "运维总览", "运维单位值守：各乡镇在线率与各自的考核目标、离线摄像机、原因、频繁掉线、工单与探测延迟")
    d = d.variables(region_variables())
    d = d.with_panel(
        stat.Panel().title("全县当前在线率").description(TARGET_HINT).unit("percentunit").decimals(1).height(6).span(4)
        .with_target(query(COUNTY_ONLINE, "{{region_name}}", instant=True)).thresholds(target_thresholds())
        .reduce_options(_last()).color_mode(cm.BigValueColorMode.BACKGROUND)
    ).with_panel(
        stat.Panel().title("低于目标的乡镇").description("当前在线率低于本乡镇配置的考核目标的乡镇数（目标可按乡镇配置，默认 95%）")
        .unit("个").height(6).span(4)
        .with_target(query(BELOW_TARGET, instant=True)).thresholds(thresholds((None, "green"), (1, "red")))
        .reduce_options(_last())
    ).with_panel(
        stat.Panel().title("离线摄像机").unit("台").height(6).span(4)
        .with_target(query(OFFLINE_COUNT, instant=True)).thresholds(thresholds((None, "green"), (1, "orange")))
        .reduce_options(_last())
    ).with_panel(
        bargauge.Panel().title("各乡镇当前在线率").description(TARGET_HINT).unit("percentunit").min(0).max(1).height(6).span(12)
        .with_target(query(ONLINE_BY_TOWNSHIP, "{{region_name}}", instant=True)).thresholds(target_thresholds())
        .orientation(cm.VizOrientation.HORIZONTAL).display_mode(cm.BarGaugeDisplayMode.BASIC).reduce_options(_last())
    ).with_panel(
        table.Panel().title("离线摄像机").description("区域、点位、摄像机、原因与离线开始时间").height(10).span(24)
        .with_target(query(OFFLINE_TABLE, instant=True, table=True))
        .with_transformation(organize(
            {"region_path": "区域", "point": "点位", "camera_name": "摄像机", "cause": "原因", "Value": "离线开始"},
        ))
        .override_by_name("离线开始", [dm.DynamicConfigValue(id_val="unit", value="dateTimeAsIso")])
        .mappings([cause_mapping()])
        .sort_by([cb.TableSortByFieldState().display_name("离线开始").desc(True)])
    ).with_panel(
        timeseries.Panel().title("各乡镇可用率趋势（近 1 天，按时长加权）").description("虚线：" + TARGET_HINT).unit("percentunit").max(1).height(8).span(12)
        .with_target(query(AVAILABILITY_TREND, "{{region_name}}")).thresholds(target_thresholds())
        .thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED))
    ).with_panel(
        piechart.Panel().title("离线原因分布").unit("台").height(8).span(6)
        .with_target(query(CAUSES, "{{cause}}", instant=True)).reduce_options(_last())
        .mappings([cause_mapping()])
    ).with_panel(
        piechart.Panel().title("工单（按颜色）").unit("张").height(8).span(6)
        .with_target(query(WORK_ORDERS, "{{color}}", instant=True)).reduce_options(_last())
        .override_by_name("red", [dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "red"})])
        .override_by_name("yellow", [dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "yellow"})])
        .override_by_name("green", [dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "green"})])
    ).with_panel(
        table.Panel().title("频繁掉线摄像机（1 小时内状态变化 ≥ 3 次）").height(8).span(12)
        .with_target(query(FLAPPING, instant=True, table=True))
        .with_transformation(organize({"region_path": "区域", "camera_name": "摄像机", "Value": "状态变化次数"}))
        .sort_by([cb.TableSortByFieldState().display_name("状态变化次数").desc(True)])
    ).with_panel(
        timeseries.Panel().title("探测延迟（实际与计划开始之差）").unit("s").height(8).span(12)
        .with_target(query(LATENESS[0], "中位数", "A")).with_target(query(LATENESS[1], "99 分位", "B"))
    ).with_panel(
        geomap.Panel().title("摄像机地图（绿：在线，红：离线）").height(12).span(24)
        .with_target(query(MAP, instant=True, table=True))
        .with_transformation(dm.DataTransformerConfig(id_val="convertFieldType", options={"conversions": [
            {"targetField": "lon", "destinationType": "number"}, {"targetField": "lat", "destinationType": "number"}]}))
        .thresholds(thresholds((None, "red"), (1, "green")))
        .view(geomap.MapViewConfig().id("fit").all_layers(True))
        .basemap(cb.MapLayerOptions().type("default").name("底图"))
        .layers([cb.MapLayerOptions().type("markers").name("摄像机").tooltip(True)
                 .location(cb.FrameGeometrySource().mode(cm.FrameGeometrySourceMode.COORDS).latitude("lat").longitude("lon"))
                 .config({"showLegend": True, "style": {"color": {"field": "Value", "fixed": "dark-green"}, "size": {"fixed": 6},
                                                        "opacity": 0.8}})])
    )
    return d.build()



