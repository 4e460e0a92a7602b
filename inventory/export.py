"""``camwatch inventory export``: the inventory as CSV or XLSX, importable as is.

Active and maintenance cameras and every point not retired are exported; a point with no
such camera is a row without camera columns (a planned point not yet built). Passwords are
left out (the column itself is absent, so re-importing keeps the stored ones) unless
``include_secrets`` is set (the file is then readable by its owner only, 0600); so are those in
an RTSP path (``/user=admin&password=...``, ``?pwd=``, ``token=``): written masked,
``password=***`` as :func:`probes.redact.redact_url` masks them (re-importing the path masked keeps
the stored one: :mod:`inventory.plan_cameras`). Derived region codes are written as empty cells: importing
derives the same codes again. Text cells a spreadsheet would take for a formula are
neutralised (:mod:`inventory.cells`); importing the file restores them exactly.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from inventory.access import ACCESS_CELL, Access
from inventory.cells import TEXT_KEYS, is_risky, neutralise_csv
from inventory.fields import BY_KEY, CAMERA_RECORD, EXPORT_KEYS, POINT_COLUMN, Parse, header_label
from inventory.models import Camera, Device, Lifecycle, Point, Region
from inventory.reader import TICK_ROWS, ProgressFactory, no_progress
from inventory.rows import LIFECYCLE_ZH
from inventory.secrets import SecretBox
from probes.redact import redact_url


class ExportError(Exception):
    pass


def _text(v: object, lang: str) -> str:
    return "" if v is None else str(v)


def _bool(v: object, lang: str) -> str:
    return ("yes" if v else "no") if lang == "en" else ("是" if v else "否")


def _float(v: object, lang: str) -> str:
    return repr(v) if isinstance(v, float) else _text(v, lang)


def _lifecycle(v: object, lang: str) -> str:
    lc = Lifecycle(str(v))
    return lc.value if lang == "en" else LIFECYCLE_ZH[lc]


def _access(v: object, lang: str) -> str:
    zh, en = ACCESS_CELL[Access(str(v))]
    return en if lang == "en" else zh


def _date(v: object, lang: str) -> str:
    return v.isoformat() if isinstance(v, dt.date) else _text(v, lang)


# How a stored value is written as an importable cell (None: empty), by the table's ``parse``;
# any other kind as text.
_FORMAT: dict[Parse, Callable[[object, str], str]] = {
    Parse.BOOL: _bool, Parse.LON: _float, Parse.LAT: _float, Parse.LIFECYCLE: _lifecycle, Parse.DATE: _date,
    Parse.ACCESS: _access,
}


_POINT_CELLS = tuple((key, attr, _FORMAT.get(BY_KEY[key].parse, _text)) for attr, key in POINT_COLUMN.items())
_CAMERA_CELLS = tuple((f.key, f.stored or f.key, _FORMAT.get(f.parse, _text)) for f in CAMERA_RECORD)


def export_keys(include_secrets: bool) -> list[str]:
    """The column keys an export writes, in order."""
    return [k for k in EXPORT_KEYS if include_secrets or k != "password"]


async def export_rows(engine: AsyncEngine, *, lang: str = "zh", include_secrets: bool = False,
                      box: SecretBox | None = None) -> tuple[list[str], list[list[str]]]:
    keys = export_keys(include_secrets)
    async with AsyncSession(engine) as session:
        regions = {r.code: r for r in (await session.execute(select(Region))).scalars()}
        devices = {d.id: d for d in (await session.execute(select(Device))).scalars()}
        points = list((await session.execute(select(Point).where(Point.retired.is_(False)))).scalars())
        cams = list((await session.execute(select(Camera).where(Camera.lifecycle != Lifecycle.RETIRED))).scalars())
    by_point: dict[int, list[Camera]] = {}
    for c in cams:
        by_point.setdefault(c.point_id, []).append(c)

    def code(r: Region | None) -> str:
        return "" if r is None or r.derived else r.code

    out: list[tuple[tuple[str, ...], list[str]]] = []
    for p in points:
        village = regions.get(p.village_code)
        township = regions.get(village.parent_code) if village and village.parent_code else None
        county = regions.get(township.parent_code) if township and township.parent_code else None
        base = {
            "county_code": code(county), "county": county.name if county else "",
            "township_code": code(township), "township": township.name if township else "",
            "village_code": code(village), "village": village.name if village else "",
            "point": p.name,
        }
        base.update((key, fmt(getattr(p, attr), lang)) for key, attr, fmt in _POINT_CELLS)
        sort_base = (county.code if county else "", township.code if township else "", p.village_code, p.name)
        pc = sorted(by_point.get(p.id, []), key=lambda c: c.id)
        if not pc:
            out.append((sort_base + ("",), [base.get(k, "") for k in keys]))
            continue
        for c in pc:
            parent = devices.get(c.parent_device_id) if c.parent_device_id else None
            row = dict(base)
            row.update((key, fmt(getattr(c, attr), lang)) for key, attr, fmt in _CAMERA_CELLS)
            row["parent"] = f"{parent.name}@{parent.host}" if parent else ""
            if not include_secrets:
                row["rtsp_path"] = redact_url(row["rtsp_path"])  # (a password in it: ***)
            elif box is None:
                raise ExportError("no secret box")
            else:
                row["password"] = _reveal(box, c.credential_ref)
            out.append((sort_base + (f"{c.id:012d}",), [row.get(k, "") for k in keys]))
    out.sort(key=lambda t: t[0])
    headers = [header_label(k, lang) for k in keys]
    return headers, [r for _, r in out]


def _reveal(box: SecretBox, ref: str | None) -> str:
    if ref is None:
        return ""
    if ref.startswith("env:"):
        return ref
    value = box.reveal(ref)
    return value or ""


def write_csv(path: Path, headers: list[str], rows: Iterable[list[str]], encoding: str = "utf-8-sig",
              text: Sequence[bool] = ()) -> None:
    """Write a CSV file; the cells of the columns marked in *text* are neutralised."""
    cols = frozenset(i for i, t in enumerate(text) if t)
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        for r in rows:
            if any(is_risky(r[i]) for i in cols):
                r = [neutralise_csv(v) if i in cols else v for i, v in enumerate(r)]
            w.writerow(r)


def write_xlsx(path: Path, headers: list[str], rows: Iterable[list[str]], text: Sequence[bool] = ()) -> None:
    """Write an XLSX file whose every cell is text: never a formula or an error value.

    Numbers are text cells too (exact: openpyxl would round a float to 16 digits); a risky
    cell of a column marked in *text* gets the quote prefix."""
    # lazy: openpyxl (about 0.3 s cold) only for .xlsx files
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("摄像机")

    def cells(values: list[str]) -> Iterator[WriteOnlyCell]:
        for v, is_text in zip(values, marks, strict=True):
            cell = WriteOnlyCell(ws, value=v)
            cell.data_type = "s"  # openpyxl would make "=..." a formula and "#N/A" an error
            cell.number_format = "@"
            if is_text and is_risky(v):
                cell.quotePrefix = True  # Excel keeps it text when the cell is edited
            yield cell

    marks = list(text) + [False] * (len(headers) - len(text))

    ws.append(list(cells(headers)))
    for r in rows:
        ws.append(list(cells(r)))
    wb.save(path)


EXPORT_SUFFIXES = (".csv", ".xlsx")  # the file types export_file writes (by the path's extension)


def export_format_ok(path: str | Path) -> bool:
    return Path(path).suffix.lower() in EXPORT_SUFFIXES


def _counted(rows: list[list[str]], tick: Callable[[int], None]) -> Iterator[list[str]]:
    for n, row in enumerate(rows, start=1):
        yield row
        if n % TICK_ROWS == 0:
            tick(TICK_ROWS)
    tick(len(rows) % TICK_ROWS)


async def export_file(engine: AsyncEngine, path: str | Path, *, lang: str = "zh", include_secrets: bool = False,
                      box: SecretBox | None = None, encoding: str = "utf-8-sig",
                      progress: ProgressFactory = no_progress) -> int:
    """Write the inventory to *path*; progress("export", rows) ticks as rows are written (an XLSX
    of 100 000 rows takes most of a minute)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if not export_format_ok(p):
        raise ExportError(f"unsupported file type {p.suffix or '(none)'}: use .csv or .xlsx")
    headers, rows = await export_rows(engine, lang=lang, include_secrets=include_secrets, box=box)
    tmp = p.with_name(p.name + ".tmp")
    if include_secrets:  # (passwords in clear text: readable by the owner only, as the key file is)
        tmp.unlink(missing_ok=True)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    text = [k in TEXT_KEYS for k in export_keys(include_secrets)]
    counted = _counted(rows, progress("export", len(rows)))
    if suffix == ".csv":
        write_csv(tmp, headers, counted, encoding, text)
    else:
        write_xlsx(tmp, headers, counted, text)
    tmp.replace(p)
    return len(rows)
