"""A small report built by hand, for the tests of the model, the score and the workbook."""

from __future__ import annotations

import datetime as dt

from collector.reports.model import (
    SCHEMA,
    CauseTime,
    CompletenessRow,
    Deduction,
    ExclusionRow,
    FaultRow,
    RegionRow,
    Report,
    Score,
    VillageRow,
    WorkOrderRow,
)
from collector.reports.periods import month_period

T = dt.datetime(2026, 11, 10, 2, 0, tzinfo=dt.UTC)


def region(code: str, name: str, level: str, rate: float | None, rank: int | None, prev: int | None,
           target: float = 0.95) -> RegionRow:
    return RegionRow(code=code, name=name, level=level, parent="" if level == "county" else "341122000000",
                     cameras=12, rate=rate, rate_without_exclusions=None if rate is None else rate - 0.01,
                     snapshot_rate=rate, intact_rate=None if rate is None else rate - 0.02, coverage=0.5,
                     built_coverage=1.0, villages=2, fully_covered_villages=1, target=target,
                     met=None if rate is None else rate >= target, rank=rank, previous_rank=prev,
                     rank_change=None if rank is None or prev is None else prev - rank,
                     uncertainty_pp=0.12, verdict_uncertain=False)


def sample_report(closed: bool = True) -> Report:
    period = month_period(2026, 11, "Asia/Shanghai")
    towns = (region("341122101000", "柳林乡", "township", 0.9612, 1, 2),
             region("341122102000", "周桥镇光明街道办事处", "township", 0.9137, 2, 1))
    return Report(
        schema=SCHEMA, period=period, closed=closed, generated_at=dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC),
        fault_hours=8.0,
        counties=(region("341122000000", "来安县", "county", 0.9401, None, None),),
        townships=towns,
        villages=(VillageRow("341122101001", "周桥村", "341122101000", "柳林乡", 4, 4, 4, 1.0, 1.0, True),
                  VillageRow("341122102001", "光明社区居民委员会", "341122102000", "周桥镇光明街道办事处", 5, 4, 3, 0.6, 0.8, False)),
        faults=(FaultRow(7, "村口东 1号", "341122102001", "光明社区居民委员会", "341122102000", "周桥镇光明街道办事处",
                         40000.0, (CauseTime("unreachable", 30000.0), CauseTime("auth_failed", 10000.0))),),
        work_orders=(WorkOrderRow(3, "村口东 1号 离线", 7, "341122102001", "光明社区居民委员会", "341122102000", "unreachable",
                                  "resolved", T, T + dt.timedelta(hours=24), T + dt.timedelta(minutes=30),
                                  T + dt.timedelta(hours=30), "red", 1800.0, 108000.0),),
        exclusions=(ExclusionRow(1, "region", None, "341122101001", "周桥村", "341122101000", T, T + dt.timedelta(hours=5),
                                 "停电报备", "王科长"),),
        completeness=(CompletenessRow("341122000000", "来安县", "county", 24, 1e6, 9.9e5, 1e4, 0.99),),
        score=Score(100.0, 0.0, (Deduction("fault_camera", "7", "村口东 1号", "341122102000", 11.11, 1.0),
                                 Deduction("red_work_order", "3", "村口东 1号 离线", "341122102000", 1.0, 0.5)), 98.5),
    )
