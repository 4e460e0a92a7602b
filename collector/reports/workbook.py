"""The report as an Excel workbook (openpyxl), deterministic: one :class:`Report` always gives
the same bytes (document properties dated at the report's ``generated_at``, every zip entry
with that timestamp, entries in a fixed order).

Sheets (Chinese names and headers by default, English with ``lang="en"``): 汇总, 乡镇排名,
村覆盖, 故障明细, 工单, 报备, 监测完整性, 考核得分 (:mod:`collector.reports.sheets`).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl.workbook import Workbook

from collector.accounting.timeparse import show
from collector.reports import words as w
from collector.reports.model import Kind, Report
from collector.reports.sheet_style import Sheet
from collector.reports.sheets import SHEET_WRITERS

_CORE_TIME = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def title(report: Report, lang: str) -> str:
    kind = w.word("monthly" if report.period.kind is Kind.MONTHLY else "quarterly", lang)
    region = report.region_name or (report.counties[0].name if len(report.counties) == 1 else "")
    text = w.word("title", lang, region=region, label=report.period.label, kind=kind).strip()
    state = w.word("closed" if report.closed else "open", lang)
    return f"{text}（{state}）" if lang != "en" else f"{text} ({state})"


def _sheet(report: Report, lang: str) -> Sheet:
    z = ZoneInfo(report.period.timezone)
    lo = report.period.start.astimezone(z).strftime("%Y-%m-%d %H:%M")
    end = min(report.period.end, report.generated_at) if not report.closed else report.period.end
    hi = end.astimezone(z).strftime("%Y-%m-%d %H:%M")
    if not report.closed and end < report.period.end:  # to date: the exact cut-off, to check against `rates --to`
        lo, hi = show(report.period.start, z), show(end, z, seconds=True)
    at = report.generated_at.astimezone(z).strftime("%Y-%m-%d %H:%M")
    return Sheet(title(report, lang).replace("&", "&&"), w.word("period", lang, lo=lo, hi=hi),
                 w.word("generated", lang, at=at), w.word("page", lang))


def build_workbook(report: Report, lang: str = "zh") -> Workbook:
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    sheet = _sheet(report, lang)
    for _, write in SHEET_WRITERS:
        write(wb, report, sheet, lang)
    at = report.generated_at.astimezone(ZoneInfo("UTC")).replace(tzinfo=None, microsecond=0)
    wb.properties.creator = "camwatch"
    wb.properties.title = title(report, lang)
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


def workbook_bytes(report: Report, lang: str = "zh") -> bytes:
    """The workbook of *report* as xlsx bytes, the same bytes for the same report and language."""
    buf = io.BytesIO()
    build_workbook(report, lang).save(buf)
    return _fixed(buf.getvalue(), report)


def write_workbook(report: Report, path: str | Path, lang: str = "zh") -> Path:
    p = Path(path)
    p.write_bytes(workbook_bytes(report, lang))
    return p


__all__ = ["build_workbook", "title", "workbook_bytes", "write_workbook"]
