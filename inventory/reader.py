"""Reading inventory files: CSV (UTF-8, UTF-8 with BOM, GB18030/GBK) and XLSX.

A CSV text cell neutralised against formula injection by an export (a leading apostrophe,
see :mod:`inventory.cells`) is read back as the value it was.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from inventory.cells import QUOTE, TEXT_KEYS, restore_csv
from inventory.columns import column_for, hint_for, is_ignored
from inventory.messages import Issue, Severity

CellValue = str | int | float | object
# progress(label, total) -> tick(rows done since the last tick); total UNKNOWN when the file does not say
ProgressFactory = Callable[[str, int], Callable[[int], None]]
UNKNOWN = -1
TICK_ROWS = 1000  # rows between two ticks


def no_progress(_label: str, _total: int) -> Callable[[int], None]:
    return lambda n: None


class FileProblem(Exception):
    """The file as a whole cannot be read; carries an :class:`Issue`."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.code)
        self.issue = issue


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int  # spreadsheet row number; the header is row 1
    values: dict[str, CellValue]


@dataclass(slots=True)
class Table:
    headers: list[str]
    keys: dict[str, str]  # canonical key -> header as written in the file
    rows: list[RawRow]
    issues: list[Issue] = field(default_factory=list)


# Excel 97-2003 and WPS spreadsheets, still common in township offices: saved as .xlsx first
OLD_SPREADSHEETS = (".xls", ".et", ".ett", ".xlt")


def _err(code: str, **params: object) -> FileProblem:
    return FileProblem(Issue(Severity.ERROR, code, params=params))


def decode_csv_bytes(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK and GB2312)."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise _err("file_encoding", path=str(path))


def _iter_csv(text: str, path: Path) -> Iterator[tuple[int, list[CellValue]]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for row in reader:
            yield reader.line_num, list(row)
    except csv.Error as exc:
        raise _err("file_unreadable", path=str(path), reason=str(exc)) from None


def _iter_xlsx(path: Path, progress: ProgressFactory) -> Iterator[tuple[int, list[CellValue]]]:
    """The first sheet's rows. Reading an XLSX is the slow part of a large import (about 3 000 rows a
    second): progress("read", rows) ticks as it goes (the sheet's own row count, when it has one)."""
    from openpyxl import load_workbook  # lazy: openpyxl (about 0.3 s cold) only for .xlsx files

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except zipfile.BadZipFile:  # (an .xlsx is a zip archive: this one is not)
        raise _err("xlsx_broken", path=str(path)) from None
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise _err("file_unreadable", path=str(path), reason=str(exc) or type(exc).__name__) from None
    try:
        ws = wb.worksheets[0]
        tick = progress("read", ws.max_row or UNKNOWN)
        number = 0
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if number % TICK_ROWS == 0:
                tick(TICK_ROWS)
            yield number, ["" if v is None else v for v in row]
        tick(number % TICK_ROWS)
    finally:
        wb.close()


def _is_blank(cells: list[CellValue]) -> bool:
    return all((c is None) or (isinstance(c, str) and not c.strip()) for c in cells)


def read_table(path: str | Path, progress: ProgressFactory = no_progress) -> Table:
    """Read a whole inventory file into raw rows keyed by canonical column keys."""
    p = Path(path)
    if not p.exists():
        raise _err("file_not_found", path=str(p))
    suffix = p.suffix.lower()
    unquote = False  # a CSV file with an apostrophe: its text cells may be neutralised ones
    if suffix == ".csv":
        text = decode_csv_bytes(p.read_bytes(), p)
        unquote = QUOTE in text
        source = _iter_csv(text, p)
    elif suffix in (".xlsx", ".xlsm"):
        source = _iter_xlsx(p, progress)
    elif suffix in OLD_SPREADSHEETS:
        raise _err("file_format_old", path=str(p))
    else:
        raise _err("file_format", path=str(p))

    issues: list[Issue] = []
    headers: list[str] | None = None
    index: dict[int, str] = {}
    quoted: frozenset[int] = frozenset()  # CSV text columns, where an export may have added an apostrophe
    keys: dict[str, str] = {}
    rows: list[RawRow] = []
    for number, cells in source:
        if headers is None:
            if _is_blank(cells):
                continue
            headers = [str(c).strip() for c in cells]
            for i, h in enumerate(headers):
                key = column_for(h)
                if key is None:
                    if not is_ignored(h):
                        hint = hint_for(h)
                        params: dict[str, object] = {"column": h} if hint is None else {"column": h, "hint": hint}
                        issues.append(Issue(Severity.WARNING, "header_unknown", row=number, column=h, params=params))
                    continue
                if key in keys:
                    issues.append(Issue(Severity.ERROR, "header_duplicate", row=number, column=h, params={"column": h}))
                    continue
                keys[key] = h
                index[i] = key
            if unquote:
                quoted = frozenset(i for i, key in index.items() if key in TEXT_KEYS)
            continue
        if _is_blank(cells):
            continue
        values: dict[str, CellValue] = {}
        for i, key in index.items():
            values[key] = cells[i] if i < len(cells) else ""
        for i in quoted:
            v = values[index[i]]
            if type(v) is str and v[:1] == QUOTE:
                values[index[i]] = restore_csv(v)
        rows.append(RawRow(number, values))
    if headers is None:
        raise _err("file_empty", path=str(p))
    if not rows:
        raise _err("file_no_rows", path=str(p))
    return Table(headers=headers, keys=keys, rows=rows, issues=issues)
