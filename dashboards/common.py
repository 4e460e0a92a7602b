"""Shared pieces of the camwatch dashboards: the datasource, the region variables, panel helpers."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards import metrics as m

# Every panel reads the Prometheus chosen by the dashboard's `datasource` variable: by default the
# one provisioned with camwatch (config/grafana), else Grafana's default Prometheus, so the
# dashboards work when pushed to any Grafana.
DATASOURCE_UID = "camwatch-prometheus"
DATASOURCE_VARIABLE = "datasource"
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid=f"${{{DATASOURCE_VARIABLE}}}")
TAGS = ["camwatch"]
# The default contract target (accounting.target). Queries compare with each region's own target,
# camwatch_region_target_ratio; this number only colours a value where Grafana cannot colour each
# row by its own target (bar gauges, stats): a hint, said so in those panels' descriptions.
TARGET = 0.95
TARGET_HINT = ("颜色仅按默认目标 95% 提示（Grafana 不能按各区域各自的目标逐条着色）；是否达标以各区域配置的目标为准："
               "见“低于目标的乡镇”和覆盖率页排名表的“目标”“与目标之差”列")


def _region_variable(name: str, label: str, query: str) -> db.QueryVariable:
    """A multi-select variable of region names, "All" by default."""
    return (db.QueryVariable(name).label(label).datasource(DATASOURCE).query(query)
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
            .multi(True).include_all(True).current(dm.VariableOption(selected=True, text="All", value="$__all")))


def datasource_variable() -> db.DatasourceVariable:
    """The Prometheus the panels read (every camwatch dashboard has it, first)."""
    return (db.DatasourceVariable(DATASOURCE_VARIABLE).label("数据源").type("prometheus")
            .current(dm.VariableOption(selected=True, text="Prometheus (camwatch)", value=DATASOURCE_UID)))


def region_variables() -> list[cogbuilder.Builder[dm.VariableModel]]:
    """The datasource, then county → township → village of the cameras, each chained to the one
    before by ``label_values`` (for panels about cameras: a region without a camera has none)."""
    return [
        datasource_variable(),
        _region_variable("county", "县/区", f"label_values({m.CAMERA_LOCATION}, county_name)"),
        _region_variable("township", "乡镇/街道", f'label_values({m.CAMERA_LOCATION}{{county_name=~"$county"}}, township_name)'),
        _region_variable("village", "村/社区",
                         f'label_values({m.CAMERA_LOCATION}{{county_name=~"$county",township_name=~"$township"}}, village_name)'),
    ]


def plan_region_variables() -> list[cogbuilder.Builder[dm.VariableModel]]:
    """The datasource, then county, township and village of the plan: every region camwatch knows
    (the region series, whose target is exported for every region, cameras or not), so a village
    with planned points but no camera yet, or a township without cameras, is listed (coverage).
    The region series carry no parent label, so these are not chained: each lists every region of
    its level."""
    def of(level: str) -> str:
        return f'label_values({m.REGION_TARGET}{{level="{level}"}}, region_name)'

    return [
        datasource_variable(),
        _region_variable("county", "县/区", of("county")),
        _region_variable("township", "乡镇/街道", of("township")),
        _region_variable("village", "村/社区", of("village")),
    ]


def dashboard(uid: str, title: str, description: str) -> db.Dashboard:
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .timezone("browser")
        .refresh("1m")
        .time("now-24h", "now")
        .week_start("monday")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .readonly()
    )


def query(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False, table: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    if legend:
        q = q.legend_format(legend)
    if instant:
        q = q.instant()
    else:
        q = q.range()
    if table:
        q = q.format(PromQueryFormat.TABLE)
    return q


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps([dm.Threshold(value=v, color=c) for v, c in steps])


def target_thresholds() -> db.ThresholdsConfig:
    """Red below the default 95% target, green at or above: a colour hint only (see ``TARGET``)."""
    return thresholds((None, "red"), (TARGET, "green"))


def organize(rename: dict[str, str], order: list[str] | None = None) -> dm.DataTransformerConfig:
    """Keep and rename the given table columns (others hidden), in the given order."""
    keep = order or list(rename)
    return dm.DataTransformerConfig(id_val="organize", options={
        "excludeByName": {"Time": True, "__name__": True},
        "includeByName": {k: True for k in keep},
        "indexByName": {k: i for i, k in enumerate(keep)},
        "renameByName": rename,
    })


def state_mappings() -> list[dm.ValueMapping]:
    return [dm.ValueMap(options={
        "1": dm.ValueMappingResult(text="在线", color="green", index=0),
        "0": dm.ValueMappingResult(text="离线", color="red", index=1),
    })]
