"""Targets and their overrides, compliance, and rounding to 0.01 percentage points."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from collector.accounting import (
    CameraRef,
    ContractorRef,
    RegionPath,
    Targets,
    compliant,
    percent,
    round_ratio,
    target_for,
)

TARGETS = Targets(
    regions={"V1": Decimal("0.90"), "T1": Decimal("0.92"), "K": Decimal("0.93")},
    contractors={"A": Decimal("0.97")},
)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (RegionPath("K", "T1", "V1"), "0.90"),  # village beats township and county
        (RegionPath("K", "T1", "V9"), "0.92"),  # township beats county
        (RegionPath("K", "T9", "V9"), "0.93"),  # county beats default
        (RegionPath("K", "T1"), "0.92"),        # a township row
        (RegionPath("K2", "T9", "V9"), "0.95"),  # default
        (ContractorRef("A"), "0.97"),
        (ContractorRef("Z"), "0.95"),
        (CameraRef(1, 1, "V9", "T9", "K2", contractor="A"), "0.97"),  # no region override
        (CameraRef(1, 1, "V1", "T1", "K", contractor="A"), "0.90"),   # region override first
        (CameraRef(1, 1, "V9", "T9", "K2", contractor=None), "0.95"),
    ],
)
def test_target_for(subject: object, expected: str) -> None:
    assert target_for(subject, TARGETS) == Decimal(expected)  # type: ignore[arg-type]


def test_defaults_and_validation() -> None:
    assert target_for(RegionPath("K")) == Decimal("0.95")
    assert Targets(default=0.9).default == Decimal("0.9")
    with pytest.raises(ValueError):
        Targets(regions={"K": Decimal("1.5")})
    with pytest.raises(TypeError):
        TARGETS.regions["K"] = Decimal("0.5")  # type: ignore[index]


@pytest.mark.parametrize(
    ("ratio", "target", "expected"),
    [("0.9500", "0.95", True), ("0.9499", "0.95", False), ("1.0000", "0.97", True), (None, "0.95", None)],
)
def test_compliant(ratio: str | None, target: str, expected: bool | None) -> None:
    assert compliant(None if ratio is None else Decimal(ratio), Decimal(target)) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(95125, 100000), "0.9513"),  # tie -> up
        (Fraction(95124999, 100000000), "0.9512"),  # just below the tie
        (Fraction(95005, 100000), "0.9501"),
        (Fraction(1, 3), "0.3333"),
        (Fraction(2, 3), "0.6667"),
        (Fraction(0), "0.0000"),
        (1, "1.0000"),
        (Decimal("0.99995"), "1.0000"),
        (Fraction(-95125, 100000), "-0.9513"),  # away from zero
    ],
)
def test_round_ratio(value: Fraction | Decimal | int, expected: str) -> None:
    assert str(round_ratio(value)) == expected


def test_round_ratio_none_float_and_percent() -> None:
    assert round_ratio(None) is None
    with pytest.raises(TypeError):
        round_ratio(0.95125)  # type: ignore[arg-type]
    assert str(percent(round_ratio(Fraction(95125, 100000)))) == "95.13"
