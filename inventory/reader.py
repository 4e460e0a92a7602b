"""Reading inventory files: CSV-like text (.csv, .tsv, .txt) and XLSX.

A text file is UTF-8 (with or without BOM), UTF-16 with its BOM (little or big endian: Excel's
"Unicode text (*.txt)" and some ledger tools), or GB18030/GBK; UTF-16 without a BOM is not guessed
(an encoding error). Its cells are separated by commas, tabs (Excel's "Unicode text") or
semicolons: the header line alone decides (see :func:`sniff_delimiter`), a comma when in doubt.

A CSV text cell neutralised against formula injection by an export (a leading apostrophe,
see :mod:`inventory.cells`) is read back as the value it was.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from inventory.cells import QUOTE, TEXT_KEYS, restore_csv
from inventory.columns import column_for, hint_for, is_ignored
from inventory.merged import MergeFill, check_header, read_merges
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


# The byte order marks of UTF-16 (little endian, as Excel writes "Unicode text"; big endian)
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# What separates the cells of a text file, in order of preference when the header is ambiguous
DELIMITERS = (",", "\t", ";")
# Files read as CSV-like text; the delimiter is sniffed (Excel's "Unicode text" is a tab-separated .txt)
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


def decode_csv_bytes(data: bytes, path: Path) -> str:
    """UTF-16 when the file starts with its BOM (either byte order), else UTF-8 (with or without
    BOM), then GB18030 (a superset of GBK and GB2312).

    A decoded text holding a NUL character is no inventory: UTF-16 without a BOM (whose NUL bytes
    UTF-8 and GB18030 would accept) is an encoding error, not a table of mojibake. Text decoded as
    UTF-16 must also hold a line break or a delimiter (a table has rows and columns): two bytes
    that only look like a BOM (of a binary file) do not make a text."""
    encodings = ("utf-16",) if data[:2] in UTF16_BOMS else ()  # ("utf-16" reads the BOM and drops it)
    for enc in (*encodings, "utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text or (enc == "utf-16" and not any(c in text for c in ("\n", "\r", *DELIMITERS))):
            continue
        return text
    raise _err("file_encoding", path=str(path))


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV-like *text*, from its header line alone (the first line with more
    in it than delimiters, quotes and spaces): whichever of comma, tab and semicolon it holds most
    often outside double quotes; a comma on a tie, or when it holds none of them (one column).

    The header is the one line whose cells are known to be short names without delimiters in
    them: the data rows (addresses, remarks) would only blur it."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end]
        start = end + 1
        if not line.strip(" \r\"" + "".join(DELIMITERS)):
            continue
        counts = dict.fromkeys(DELIMITERS, 0)
        quoted = False
        for ch in line:
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch in counts:
                counts[ch] += 1
        return max(DELIMITERS, key=counts.__getitem__)  # (the first of the most frequent)
    return ","


def _iter_csv(text: str, path: Path) -> Iterator[tuple[int, list[CellValue]]]:
    """Each record with the line it starts on. A quoted cell may hold line breaks (a remark); one
    whose lines look like rows of the table (as many delimiters as half the header's columns) is a
    quote left open that swallowed the rows after it (an import would retire their cameras): an
    error naming the line it opens on. Quotes are read as Excel and WPS read them (leniently)."""
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    first = 1
    width = 0  # the header's cells
    try:
        for row in reader:
            if not width and any(c.strip() for c in row):
                width = len(row)
            if reader.line_num > first and _swallowed(row, delimiter, width):
                raise _err("csv_quote_unclosed", path=str(path), line=first, lines=reader.line_num - first)
            yield first, list(row)
            first = reader.line_num + 1
    except csv.Error as exc:
        raise _err("file_unreadable", path=str(path), reason=f"第 {first} 行 / line {first}: {exc}") from None


def _swallowed(row: list[str], delimiter: str, width: int) -> bool:
    """Whether a cell of *row* (a record over several lines) holds lines that look like rows."""
    enough = max(3, (width - 1) // 2)
    return any("\n" in cell and any(line.count(delimiter) >= enough for line in cell.splitlines()) for cell in row)


def _iter_xlsx(path: Path, progress: ProgressFactory) -> Iterator[tuple[int, list[CellValue]]]:
    """The first sheet's rows, a vertically merged block's value on each of its rows (see
    :mod:`inventory.merged`; one spanning the header row and the rows below is an error). Reading an XLSX is the slow part of a large import (about 3 000 rows a
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
        member = getattr(ws, "_worksheet_path", None)  # (openpyxl's read-only sheet: where its XML is)
        try:
            merges = read_merges(path, member) if isinstance(member, str) else []
        except (zipfile.BadZipFile, KeyError, OSError) as exc:  # (a damaged sheet openpyxl opened)
            raise _err("file_unreadable", path=str(path), reason=str(exc) or type(exc).__name__) from None
        fill = MergeFill(merges)
        header_seen = not merges
        tick = progress("read", ws.max_row or UNKNOWN)
        number = 0
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if number % TICK_ROWS == 0:
                tick(TICK_ROWS)
            cells: list[CellValue] = ["" if v is None else v for v in row]
            if merges:
                cells = fill.apply(number, cells)
                if not header_seen and not _is_blank(cells):  # (the header: read_table's first non-blank row)
                    header_seen = True
                    issue = check_header(merges, number, cells)
                    if issue is not None:
                        raise FileProblem(issue)
            yield number, cells
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
    unquote = False  # a text file with an apostrophe: its text cells may be neutralised ones
    if suffix in TEXT_SUFFIXES:
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
    beyond: list[int] = []  # rows with something right of the last header (ignored)
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
        if len(cells) > len(headers) and not _is_blank(cells[len(headers):]):
            beyond.append(number)
        values: dict[str, CellValue] = {}
        for i, key in index.items():
            values[key] = cells[i] if i < len(cells) else ""
        for i in quoted:
            v = values[index[i]]
            if type(v) is str and v[:1] == QUOTE:
                values[index[i]] = restore_csv(v)
        rows.append(RawRow(number, values))
    if beyond:  # (one warning for the file: a header missing a column shows on every row)
        shown = "、".join(map(str, beyond[:5])) + ("…" if len(beyond) > 5 else "")
        issues.append(Issue(Severity.WARNING, "cells_beyond_header", row=beyond[0], params={"rows": shown, "count": len(beyond)}))
    if headers is None:
        raise _err("file_empty", path=str(p))
    if not rows:
        raise _err("file_no_rows", path=str(p))
    return Table(headers=headers, keys=keys, rows=rows, issues=issues)
