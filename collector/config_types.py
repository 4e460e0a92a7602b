"""Validated value types shared by the config sections (``collector.settings`` and the sections it
includes from ``collector.alerting``), and :func:`bilingual`, the error their validators raise."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

#: Error type of a section whose keys contradict each other (one line per key path, see :func:`inconsistent`).
INCONSISTENT = "inconsistent_settings"
#: Error type of a validator's own words, English and Chinese (``collector.settings_input`` prints the user's).
BILINGUAL = "camwatch_bilingual"


def bilingual(en: str, zh: str) -> PydanticCustomError:
    """A validation error in both languages: ``raise bilingual("...", "...")`` in a validator."""
    return PydanticCustomError(BILINGUAL, "{en}", {"en": en, "zh": zh})


Problem = tuple[str, str, str]  # (key path within the section, English, Chinese)


def inconsistent(problems: list[Problem]) -> None:
    """Raise one error naming every key of a section that is wrong given another one (none: return).

    ``collector.settings_input.format_validation_error`` prints one line per key path, e.g.
    ``collector.offline_interval_s: 30 is longer than interval_s (20): ...``.
    """
    if problems:
        summary = "; ".join(f"{key}: {msg}" for key, msg, _ in problems)
        raise PydanticCustomError(INCONSISTENT, "{summary}", {"summary": summary, "problems": tuple(problems)})


def _known_zone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise bilingual(f"unknown time zone {v!r} (an IANA name such as Asia/Shanghai)",
                        f"未知的时区 {v!r}（应为 IANA 时区名，如 Asia/Shanghai）") from None
    return v


#: An IANA time zone name that this machine's zone database knows.
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


def _local_time(v: str) -> str:
    try:
        dt.time.fromisoformat(v)
    except ValueError:
        raise bilingual(f"{v!r} is not a local time of day HH:MM (00:00 to 23:59)",
                        f"{v!r} 不是有效的当地时刻，应为 HH:MM（00:00 至 23:59）") from None
    return v


#: A local time of day, HH:MM.
LocalTime = Annotated[str, AfterValidator(_local_time)]
