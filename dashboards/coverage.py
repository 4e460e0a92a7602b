"""覆盖率: the township leaders' page (coverage per township and village, month-to-date ranking vs target)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, stat, table
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards import metrics as m
from dashboards.common import (
    TARGET_HINT,
    dashboard,
    organize,
    plan_region_variables,
    query,
    target_thresholds,
    thresholds,
)
from dashboards.promql import TOWNSHIP_FILTER, VILLAGE_FILTER, per_region, sel

UID = "camwatch-coverage"

# camwatch computes coverage for villages (share of the village's planned points covered) and
# townships (fully covered villages / villages: not a share of points); no point counts are
# exported, so the top stat is the townships' average of their 全覆盖 share, titled as such.
TOWNSHIP_COVERAGE_PLAIN = per_region(sel(m.REGION_COVERAGE, TOWNSHIP_FILTER))
VILLAGE_COVERAGE_PLAIN = per_region(sel(m.REGION_COVERAGE, VILLAGE_FILTER))
TOWNSHIP_AVG_COVERAGE = f"avg({TOWNSHIP_COVERAGE_PLAIN})"
FULL_VILLAGES = f"count({VILLAGE_COVERAGE_PLAIN} >= 1) or on() vector(0)"
ALL_VILLAGES = f"count({VILLAGE_COVERAGE_PLAIN})"
TOWNSHIP_COVERAGE = f"sort_desc({TOWNSHIP_COVERAGE_PLAIN})"
VILLAGE_COVERAGE = f"sort({VILLAGE_COVERAGE_PLAIN})"
MONTH_ONLINE = per_region(sel(m.REGION_AVAILABILITY, TOWNSHIP_FILTER, 'window="month"'), "window")
TOWNSHIP_TARGET = per_region(sel(m.REGION_TARGET, TOWNSHIP_FILTER))  # each township's own (configured) target
MONTH_GAP = f"{MONTH_ONLINE} - on(level, region) group_left() {TOWNSHIP_TARGET}"


def _last() -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def _cell_color() -> list[dm.DynamicConfigValue]:
    return [dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"})]


def build() -> dm.Dashboard:
    d = dashboard(UID, "覆盖率", "乡镇领导：各乡镇全覆盖村占比、各村点位覆盖率，全覆盖村数，本月在线率与覆盖率排名（与各乡镇目标比较，低于目标标红）。"
                  "区域变量列出规划中的每个区域（含尚无摄像机的村、乡镇），彼此不联动")
    d = d.variables(plan_region_variables())
    d = d.with_panel(
        stat.Panel().title("乡镇平均全覆盖村占比")
        .description("各乡镇“全覆盖的村 / 有规划点位的村”的平均值（不是点位占比）。" + TARGET_HINT)
        .unit("percentunit").decimals(1).height(5).span(8)
        .with_target(query(TOWNSHIP_AVG_COVERAGE, instant=True)).thresholds(target_thresholds())
        .reduce_options(_last()).color_mode(cm.BigValueColorMode.BACKGROUND)
    ).with_panel(
        stat.Panel().title("全覆盖的村").unit("个").height(5).span(8)
        .with_target(query(FULL_VILLAGES, instant=True)).reduce_options(_last())
    ).with_panel(
        stat.Panel().title("村总数").unit("个").height(5).span(8)
        .with_target(query(ALL_VILLAGES, instant=True)).reduce_options(_last())
    ).with_panel(
        table.Panel().title("乡镇排名：本月在线率与覆盖率（低于目标标红）")
        .description("目标：各乡镇配置的考核目标；“与目标之差” = 本月在线率 − 目标，小于 0 标红。覆盖率为全覆盖村占比")
        .height(10).span(24)
        .with_target(query(MONTH_ONLINE, ref="A", instant=True, table=True))
        .with_target(query(TOWNSHIP_COVERAGE_PLAIN, ref="B", instant=True, table=True))
        .with_target(query(MONTH_GAP, ref="C", instant=True, table=True))
        .with_target(query(TOWNSHIP_TARGET, ref="D", instant=True, table=True))
        .with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(organize({"region_name": "乡镇", "Value #A": "本月在线率", "Value #D": "目标", "Value #C": "与目标之差",
                                       "Value #B": "覆盖率"}))
        .sort_by([cb.TableSortByFieldState().display_name("本月在线率").desc(True)])
        .unit("percentunit").decimals(1)
        .override_by_name("与目标之差", [*_cell_color(), dm.DynamicConfigValue(
            id_val="thresholds", value=thresholds((None, "red"), (0, "green")).build())])
    ).with_panel(
        bargauge.Panel().title("各乡镇全覆盖村占比").description("全覆盖的村 / 有规划点位的村。" + TARGET_HINT).unit("percentunit").min(0).max(1).height(10).span(12)
        .with_target(query(TOWNSHIP_COVERAGE, "{{region_name}}", instant=True)).thresholds(target_thresholds())
        .orientation(cm.VizOrientation.HORIZONTAL).reduce_options(_last())
    ).with_panel(
        table.Panel().title("各村覆盖率（由低到高）").height(10).span(12)
        .with_target(query(VILLAGE_COVERAGE, instant=True, table=True))
        .with_transformation(organize({"region_name": "村/社区", "Value": "覆盖率"}))
        .unit("percentunit").decimals(1).thresholds(thresholds((None, "red"), (1, "green")))
        .override_by_name("覆盖率", _cell_color())
    )
    return d.build()
