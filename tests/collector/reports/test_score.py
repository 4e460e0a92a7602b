"""The contract score's rules on a table of cases (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from collector.reports.config import ReportSettings, ScoreSettings
from collector.reports.model import CauseTime, FaultRow
from collector.reports.score import score, shortfall_pp
from tests.collector.reports.sample import region, sample_report

H = 3600.0


def fault(cid: int, hours: float, town: str = "t1") -> FaultRow:
    return FaultRow(cid, f"cam{cid}", "v", "村", town, "乡", hours * H, (CauseTime("unreachable", hours * H),))


def test_defaults() -> None:
    s = ReportSettings()
    assert (s.fault_hours, s.close_day, s.score.start, s.score.floor, s.score.per_fault_camera) == (8.0, 3, 100.0, 0.0, 1.0)


def test_unknown_key_refused() -> None:
    with pytest.raises(ValueError, match="extra"):
        ReportSettings.model_validate({"fault_hour": 8})
    with pytest.raises(ValueError):
        ReportSettings.model_validate({"close_day": 31})


@pytest.mark.parametrize(("rules", "faults", "reds", "county_rate", "expected", "rules_seen"), [
    # the real contract: 100 points, one off per camera over 8 h
    ({"per_red_work_order": 0, "per_pp_below_target": 0}, [9, 30], 0, 0.99, 98.0, ["fault_camera"] * 2),
    ({}, [], 0, 0.95, 100.0, []),  # exactly on target: nothing off
    ({}, [], 2, 0.96, 99.0, ["red_work_order"] * 2),
    ({"per_pp_below_target": 2}, [], 0, 0.9337, 96.74, ["below_target"]),  # 1.63 pp below, 2 points each
    ({"per_fault_camera": 30}, [10, 10, 10, 10], 0, 0.99, 0.0, ["fault_camera"] * 4),  # floor 0
    ({"per_fault_camera": 30, "floor": 60}, [10, 10], 0, 0.99, 60.0, ["fault_camera"] * 2),
    ({"start": 10, "per_fault_camera": 0.25}, [10], 1, 0.949, 9.15, ["fault_camera", "red_work_order", "below_target"]),
])
def test_score_table(rules: dict[str, float], faults: list[float], reds: int, county_rate: float, expected: float,
                     rules_seen: list[str]) -> None:
    r = sample_report()
    wo = r.work_orders[0]
    orders = [dataclasses.replace(wo, id=i, colour="red") for i in range(reds)] + [dataclasses.replace(wo, id=99, colour="green")]
    counties = (region("c", "县", "county", county_rate, None, None),)
    s = score(ScoreSettings.model_validate(rules), faults=[fault(i, h) for i, h in enumerate(faults)], work_orders=orders,
              counties=counties, townships=r.townships)
    assert s.total == expected
    assert [d.rule for d in s.deductions] == rules_seen
    assert all(d.points > 0 for d in s.deductions)


def test_township_level_shortfalls() -> None:
    r = sample_report()
    s = score(ScoreSettings(below_target_level="township", per_fault_camera=0, per_red_work_order=0), faults=[],
              work_orders=[], counties=r.counties, townships=r.townships)
    assert [(d.subject, d.quantity, d.points) for d in s.deductions] == [("341122102000", 3.63, 3.63)]
    assert s.total == 96.37


@pytest.mark.parametrize(("rate", "target", "pp"), [(0.9137, 0.95, "3.6300"), (0.95, 0.95, "0"), (0.99, 0.95, "0"),
                                                    (0.9499, 0.95, "0.0100")])
def test_shortfall(rate: float, target: float, pp: str) -> None:
    assert shortfall_pp(rate, target) == __import__("decimal").Decimal(pp)


def test_monitoring_gap_is_the_first_regions_share_below_the_minimum() -> None:
    from collector.reports.model import CompletenessRow
    from collector.reports.score import MIN_KNOWN_SHARE, monitoring_gap

    def row(share: float | None) -> CompletenessRow:
        return CompletenessRow("1", "县", "county", 1, 1.0, share or 0.0, 1 - (share or 0.0), share)

    assert monitoring_gap(()) is None
    assert monitoring_gap((row(None),)) is None  # nothing to watch
    assert monitoring_gap((row(MIN_KNOWN_SHARE),)) is None
    assert monitoring_gap((row(0.5), row(1.0))) == 0.5  # the report's own region comes first
    assert monitoring_gap((row(1.0), row(0.1))) is None
