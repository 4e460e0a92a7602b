"""Validated value types shared by the config sections (``collector.settings`` and the sections it
includes from ``collector.alerting``)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def _known_zone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {v!r} (an IANA name such as Asia/Shanghai)") from None
    return v


#: An IANA time zone name that this machine's zone database knows.
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
