"""camwatch 自身: probes/s, lateness, sweep duration, pending writes, alert deliveries, and the memory and
CPU of each of its processes."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.models import dashboard as dm

from dashboards import metrics as m
from dashboards.common import dashboard, datasource_variable, query, thresholds

UID = "camwatch-self"

PROBES_BY_STAGE = f"sum by (stage, result) ({m.REC_PROBES_RATE_1M})"
PROBES_TOTAL = f"sum({m.REC_PROBES_RATE_1M})"
LATENESS = (m.REC_LATENESS_P50_5M, m.REC_LATENESS_P99_5M)
LATENESS_MEAN = f"rate({m.LATENESS_SUM}[5m]) / rate({m.LATENESS_COUNT}[5m])"
SWEEP = m.SWEEP_DURATION
PENDING = m.DB_PENDING_WRITES
ALERTS = f"sum by (channel, result) (increase({m.ALERTS_SENT_TOTAL}[1h])) or on() vector(0)"
MEMORY = f"sum by (instance, process) ({m.PROCESS_MEMORY})"  # the collector and each probe worker
CPU = f"sum by (instance, process) (rate({m.PROCESS_CPU}[5m]))"


def build() -> dm.Dashboard:
    d = dashboard(UID, "camwatch 自身", "camwatch 运行状况：每秒探测数、探测延迟、巡检耗时、待写入数据库的记录、告警发送、各进程的内存与 CPU")
    d = d.variables([datasource_variable()])
    last = cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
    d = d.with_panel(
        stat.Panel().title("每秒探测").unit("次/秒").decimals(1).height(5).span(6)
        .with_target(query(PROBES_TOTAL, instant=True)).reduce_options(last)
    ).with_panel(
        stat.Panel().title("最近一次巡检耗时").unit("s").height(5).span(6)
        .with_target(query(SWEEP, instant=True)).reduce_options(last)
    ).with_panel(
        stat.Panel().title("待写入记录").unit("条").height(5).span(6)
        .with_target(query(PENDING, instant=True)).reduce_options(last)
        .thresholds(thresholds((None, "green"), (10000, "orange"), (100000, "red")))
    ).with_panel(
        stat.Panel().title("告警发送（近 1 小时）").unit("条").height(5).span(6)
        .with_target(query(ALERTS, "{{channel}} {{result}}", instant=True)).reduce_options(last)
    ).with_panel(
        timeseries.Panel().title("每秒探测（按阶段与结果）").unit("次/秒").height(8).span(12)
        .with_target(query(PROBES_BY_STAGE, "{{stage}} {{result}}"))
    ).with_panel(
        timeseries.Panel().title("探测延迟").unit("s").height(8).span(12)
        .with_target(query(LATENESS[0], "中位数", "A")).with_target(query(LATENESS[1], "99 分位", "B"))
        .with_target(query(LATENESS_MEAN, "平均", "C"))
    ).with_panel(
        timeseries.Panel().title("巡检耗时").unit("s").height(8).span(8).with_target(query(SWEEP, "巡检耗时"))
    ).with_panel(
        timeseries.Panel().title("待写入记录").unit("条").height(8).span(8).with_target(query(PENDING, "待写入"))
    ).with_panel(
        timeseries.Panel().title("告警发送（按渠道与结果，近 1 小时）").unit("条").height(8).span(8)
        .with_target(query(ALERTS, "{{channel}} {{result}}"))
    ).with_panel(
        timeseries.Panel().title("内存（按进程）").unit("bytes").height(8).span(12)
        .with_target(query(MEMORY, "{{instance}} {{process}}"))
    ).with_panel(
        timeseries.Panel().title("CPU（按进程，核）").unit("short").decimals(2).height(8).span(12)
        .with_target(query(CPU, "{{instance}} {{process}}"))
    )
    return d.build()
