"""Rates are reported to 0.01 percentage points: 4 decimal places of the ratio, half up."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import overload

PLACES = 4
_SCALE = 10**PLACES
_UNIT = Decimal(1).scaleb(-PLACES)


@overload
def round_ratio(value: Fraction | Decimal | int) -> Decimal: ...
@overload
def round_ratio(value: None) -> None: ...
@overload
def round_ratio(value: Fraction | Decimal | int | None) -> Decimal | None: ...
def round_ratio(value: Fraction | Decimal | int | None) -> Decimal | None:
    """``value`` rounded to 4 decimal places, ROUND_HALF_UP (away from zero on a tie).

    Exact: works on the fraction's integers, so 0.95125 gives 0.9513 and recomputation from the
    same integer microseconds always gives the same Decimal (e.g. ``Decimal('0.9513')``).
    """
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError("round_ratio takes exact values (Fraction, Decimal, int), not float")
    frac = Fraction(value)
    num, den = abs(frac.numerator) * _SCALE, frac.denominator
    units = (2 * num + den) // (2 * den)  # floor(x + 1/2) on the absolute value
    if frac < 0:
        units = -units
    return Decimal(units).scaleb(-PLACES)


def round_us_ratio(num: int, den: int) -> Decimal | None:
    """``round_ratio(Fraction(num, den))`` straight from non-negative integers (None when
    ``den`` is 0): the sums of a rate row are integer microseconds."""
    if den == 0:
        return None
    if num < 0 or den < 0:
        return round_ratio(Fraction(num, den))
    return Decimal((2 * num * _SCALE + den) // (2 * den)) * _UNIT  # as scaleb(-PLACES), faster


def percent(value: Decimal | None) -> Decimal | None:
    """A rounded ratio as percent with 2 places: Decimal('0.9513') -> Decimal('95.13')."""
    return None if value is None else value.scaleb(2)
