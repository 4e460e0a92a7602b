"""Administrative region codes (统计用区划代码) and the county > township > village hierarchy.

Standard codes are 12 digits: 6 county + 3 township + 3 village. We keep every level in
its 12-digit form (county ``130123000000``, township ``130123100000``) and accept the
short 6- and 9-digit forms on input. A site without official codes may use custom codes
(letters, digits, ``-`` and ``_``); where a file gives names only, a stable code is
derived from the parent's code and the name, so a re-import maps to the same rows.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

from inventory.messages import CodedError
from inventory.models import RegionLevel

_DIGITS = re.compile(r"^\d+$")
_CUSTOM = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
DERIVED_PREFIX = "x"
PARENT_LEVEL = {
    RegionLevel.VILLAGE: RegionLevel.TOWNSHIP,
    RegionLevel.TOWNSHIP: RegionLevel.COUNTY,
    RegionLevel.COUNTY: None,
}


class RegionCodeError(CodedError):
    """A region code is malformed or does not fit its level."""


@dataclass(frozen=True, slots=True)
class RegionCode:
    value: str
    standard: bool

    def __str__(self) -> str:
        return self.value


def level_of_standard(code: str) -> RegionLevel:
    if code.endswith("000000"):
        return RegionLevel.COUNTY
    if code.endswith("000"):
        return RegionLevel.TOWNSHIP
    return RegionLevel.VILLAGE


@functools.lru_cache(maxsize=65536)
def parse_code(raw: str, level: RegionLevel) -> RegionCode:
    """Normalise a code given for *level*; raise :class:`RegionCodeError` when it cannot be one."""
    text = raw.strip()
    if _DIGITS.match(text):
        want = {RegionLevel.COUNTY: 6, RegionLevel.TOWNSHIP: 9, RegionLevel.VILLAGE: 12}[level]
        if len(text) == want:
            text = text.ljust(12, "0")
        elif len(text) != 12:
            raise RegionCodeError("region_code_length", value=raw, want=want)
        if text[:6] == "000000":
            raise RegionCodeError("region_code_county_zero", value=raw)
        actual = level_of_standard(text)
        if actual != level:
            raise RegionCodeError("region_code_level", value=raw, level=level.value, actual=actual.value)
        return RegionCode(text, True)
    if text.startswith(DERIVED_PREFIX) and len(text) == 12 and _DIGITS.match(text[1:]) is None:
        # A derived code written back by an export: accepted like a custom one.
        return RegionCode(text, False)
    if _CUSTOM.match(text):
        return RegionCode(text, False)
    raise RegionCodeError("region_code_invalid", value=raw)


def derive_code(level: RegionLevel, parent_code: str | None, name: str) -> str:
    """A stable code for a region given by name only: same parent and name, same code."""
    digest = hashlib.sha1(f"{level.value}|{parent_code or ''}|{name}".encode()).hexdigest()
    return DERIVED_PREFIX + digest[:11]


def is_derived(code: str) -> bool:
    return code.startswith(DERIVED_PREFIX) and len(code) == 12


def check_parent(child: str, child_level: RegionLevel, parent: str) -> bool:
    """True unless two standard codes contradict each other (a village outside its township)."""
    if child_level == RegionLevel.VILLAGE:
        return check_ancestor(child, parent, RegionLevel.TOWNSHIP)
    if child_level == RegionLevel.TOWNSHIP:
        return check_ancestor(child, parent, RegionLevel.COUNTY)
    return True


def check_ancestor(child: str, ancestor: str, ancestor_level: RegionLevel) -> bool:
    """True unless both codes are standard and *child* lies outside *ancestor*."""
    if not (_DIGITS.match(child) and _DIGITS.match(ancestor) and len(child) == len(ancestor) == 12):
        return True
    n = 6 if ancestor_level == RegionLevel.COUNTY else 9
    return child[:n] == ancestor[:n]


def county_prefix(code: str) -> str | None:
    """The 6-digit county part of a standard code, or None for a custom code."""
    if _DIGITS.match(code) and len(code) == 12:
        return code[:6]
    return None
