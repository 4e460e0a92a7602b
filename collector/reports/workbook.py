"""The report as an Excel workbook (openpyxl), deterministic: one :class:`Report` always gives
the same bytes (document properties dated at the report's ``generated_at``, every zip entry
with that timestamp, entries in a fixed order).

Sheets (Chinese names and headers by default, English with ``lang="en"``): 汇总, 乡镇排名,
村覆盖, 故障明细, 工单, 报备, 监测完整性, 考核得分 (:mod:`collector.reports.sheets`).

A closed month's workbook says which closing it comes from (:class:`Seal`): the close time (local,
with its offset) and the snapshot's sha256, as the console shows them, in the summary's first row
and in every sheet's print footer; after close → reopen → close two workbooks differ there too.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl.workbook import Workbook

from collector.accounting.timeparse import show
from collector.reports import words as w
from collector.reports.model import Kind, Report, content_hash
from collector.reports.sheet_style import Sheet, cell_text
from collector.reports.sheets import SHEET_WRITERS

_CORE_TIME = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


@dataclass(frozen=True, slots=True)
class Seal:
    """The closing a closed month's figures come from: its snapshot's hash (of the whole county's
    figures, as the console shows it) and when it was closed."""

    sha256: str | None
    closed_at: dt.datetime


def seal_of(report: Report, seal: Seal | None = None) -> Seal | None:
    """*seal*, or for a closed report given none its own: closed when it was computed, and its
    hash when it is the whole county's (the snapshot's text); a township's cut has none of its own."""
    if not report.closed:
        return None
    if seal is not None:
        return seal
    return Seal(None if report.region else content_hash(report), report.generated_at)


def seal_words(seal: Seal, tz: str, lang: str) -> str:
    at = show(seal.closed_at, ZoneInfo(tz), seconds=True)
    if seal.sha256 is None:
        return w.word("sealed_at", lang, at=at)
    return w.word("sealed", lang, at=at, sha=seal.sha256)


def title(report: Report, lang: str) -> str:
    kind = w.word("monthly" if report.period.kind is Kind.MONTHLY else "quarterly", lang)
    region = report.region_name or (report.counties[0].name if len(report.counties) == 1 else "")
    text = w.word("title", lang, region=region, label=report.period.label, kind=kind).strip()
    state = w.word("closed" if report.closed else "open", lang)
    return f"{text}（{state}）" if lang != "en" else f"{text} ({state})"


def _sheet(report: Report, lang: str, seal: Seal | None) -> Sheet:
    z = ZoneInfo(report.period.timezone)
    lo = report.period.start.astimezone(z).strftime("%Y-%m-%d %H:%M")
    end = min(report.period.end, report.generated_at) if not report.closed else report.period.end
    hi = end.astimezone(z).strftime("%Y-%m-%d %H:%M")
    if not report.closed and end < report.period.end:  # to date: the exact cut-off, to check against `rates --to`
        lo, hi = show(report.period.start, z), show(end, z, seconds=True)
    at = report.generated_at.astimezone(z).strftime("%Y-%m-%d %H:%M")
    sealed = seal_of(report, seal)
    return Sheet(title(report, lang), w.word("period", lang, lo=lo, hi=hi), w.word("generated", lang, at=at),
                 w.word("page", lang), "" if sealed is None else seal_words(sealed, report.period.timezone, lang))


def build_workbook(report: Report, lang: str = "zh", seal: Seal | None = None) -> Workbook:
    """*report*'s workbook; *seal*: a closed month's snapshot (hash, close time; see :func:`seal_of`)."""
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    sheet = _sheet(report, lang, seal)
    for _, write in SHEET_WRITERS:
        write(wb, report, sheet, lang)
    at = report.generated_at.astimezone(ZoneInfo("UTC")).replace(tzinfo=None, microsecond=0)
    wb.properties.creator = "camwatch"
    wb.properties.title = cell_text(title(report, lang))
    wb.properties.created = wb.properties.modified = at
    return wb


def _fixed(raw: bytes, report: Report) -> bytes:
    """The zip *raw* rewritten with every entry dated at the report's generation time, and the
    core properties' times set to it (openpyxl stamps them with the clock when saving)."""
    at = report.generated_at.astimezone(ZoneInfo("UTC"))
    stamp = (max(at.year, 1980), at.month, at.day, at.hour, at.minute, at.second // 2 * 2)
    iso = at.replace(microsecond=0, tzinfo=None).isoformat().encode() + b"Z"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIME.sub(lambda m: m.group(1) + iso + m.group(3), data)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, data, compresslevel=6)
    return out.getvalue()


def workbook_bytes(report: Report, lang: str = "zh", seal: Seal | None = None) -> bytes:
    """The workbook of *report* as xlsx bytes, the same bytes for the same report, language and seal."""
    buf = io.BytesIO()
    build_workbook(report, lang, seal).save(buf)
    return _fixed(buf.getvalue(), report)


def write_workbook(report: Report, path: str | Path, lang: str = "zh", seal: Seal | None = None) -> Path:
    p = Path(path)
    p.write_bytes(workbook_bytes(report, lang, seal))
    return p


__all__ = ["Seal", "build_workbook", "seal_of", "seal_words", "title", "workbook_bytes", "write_workbook"]
