"""Targets (考核目标): 0.95 by default, overridable per region code and per contractor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from collector.accounting.model import CameraRef
from collector.accounting.rounding import round_ratio

DEFAULT_TARGET = Decimal("0.95")


def _target(value: Decimal | int | str | float) -> Decimal:
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not Decimal(0) <= d <= Decimal(1):
        raise ValueError(f"a target is a ratio in [0, 1], got {value!r}")
    return d


@dataclass(frozen=True, slots=True)
class Targets:
    """Default target plus overrides keyed by region code (any level) and by contractor name."""

    default: Decimal = DEFAULT_TARGET
    regions: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    contractors: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "default", _target(self.default))
        for name in ("regions", "contractors"):
            given: Mapping[str, Decimal] = getattr(self, name)
            object.__setattr__(self, name, MappingProxyType({k: _target(v) for k, v in given.items()}))


@dataclass(frozen=True, slots=True)
class RegionPath:
    """A region and its ancestors: a township row is ``RegionPath(county, township)``."""

    county: str
    township: str | None = None
    village: str | None = None


@dataclass(frozen=True, slots=True)
class ContractorRef:
    name: str


def target_for(
    subject: CameraRef | RegionPath | ContractorRef, targets: Targets = Targets()
) -> Decimal:
    """The target that applies to ``subject``.

    Regions: the most specific override wins (village, then township, then county), else default.
    Contractors: their override, else default. A camera: its region's override (most specific
    first), else its contractor's, else default.
    """
    if isinstance(subject, ContractorRef):
        return targets.contractors.get(subject.name, targets.default)
    for code in (subject.village, subject.township, subject.county):
        if code is not None and code in targets.regions:
            return targets.regions[code]
    if isinstance(subject, CameraRef) and subject.contractor is not None:
        return targets.contractors.get(subject.contractor, targets.default)
    return targets.default


def compliant(ratio: Fraction | Decimal | int | None, target: Fraction | Decimal | int) -> bool | None:
    """Whether *ratio* meets *target*: the one rule of every figure compared with a target (a rate
    with 考核目标, a camera's share of its period with the coverage threshold). The ratio is
    compared as shown — rounded to the places the reports print (:func:`round_ratio`, 0.01
    percentage points, half up) — since the assessor signs what is printed: an exact 94.995 %
    shows 95.00 % and meets 95 %. Exact or already rounded ratios give the same verdict. None when
    there is no ratio (nothing eligible)."""
    return None if ratio is None else Fraction(round_ratio(ratio)) >= Fraction(target)
