"""How every report sheet looks: a title row and a header row (frozen, repeated on each printed
page), typed cells (ratios as numbers with a percentage format, times as local date-times),
columns as wide as their text (an East Asian wide character counts 2), below-target cells
coloured, A4 landscape print set-up with the title, period and page numbers.

Every text cell holds the text as stored, made safe (:func:`cell_text`, :func:`write_text`): a
control character XML cannot carry (openpyxl refuses it) becomes U+FFFD, and a text that a
spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+``, ``-``, ``@``, a tab or a carriage
return first, as ``inventory export`` defines it) is a text cell with Excel's quote prefix
(shown as typed; editing it keeps it text). Numbers stay numbers."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from openpyxl.cell import Cell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from inventory.cells import is_risky

PCT = "0.00%"
HOURS = "0.00"  # hours: rounded to 0.01 and shown in General
INT = "0"
SIGNED = "+0;-0;0"
WHEN = "yyyy-mm-dd hh:mm"
TEXT = "@"

BAD_FILL = PatternFill("solid", fgColor="FFC7CE")  # below target: light red
FONT = "Calibri"  # the workbook's default font (a font without a name prints in a serif face)
BAD_FONT = Font(name=FONT, color="9C0006")
COLOUR_FILLS = {"green": PatternFill("solid", fgColor="C6EFCE"), "yellow": PatternFill("solid", fgColor="FFEB9C"),
                "red": PatternFill("solid", fgColor="FFC7CE")}
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
HEAD_FONT = Font(name=FONT, bold=True)
TITLE_FONT = Font(name=FONT, bold=True, size=14)
WRAP_HEAD = Alignment(horizontal="center", vertical="center", wrap_text=True)

MAX_WIDTH = 48
MIN_WIDTH = 6
REPLACEMENT = "\ufffd"  # in place of a control character a workbook cannot hold


def cell_text(text: str) -> str:
    """*text* as a cell (or a print header) can hold it: each control character XML 1.0 cannot
    carry (openpyxl's ``IllegalCharacterError``: an old exclusion reason with a BEL, a NUL)
    replaced by U+FFFD, so one bad row never stops the workbook."""
    return str(ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, text))


def neutralise(cell: Cell) -> None:
    """Keep a text cell text: one a spreadsheet would take for a formula gets the quote prefix."""
    value = cell.value
    if isinstance(value, str) and is_risky(value):
        cell.data_type = "s"  # (openpyxl makes "=..." a formula)
        cell.quotePrefix = True  # Excel shows it as typed and keeps it text when it is edited


def write_text(ws: Worksheet, row: int, column: int, text: str) -> Cell:
    """Put *text* in a cell, made safe (see the module)."""
    cell = ws.cell(row=row, column=column, value=cell_text(text))
    neutralise(cell)
    return cell


def display_width(text: str) -> int:
    """Columns *text* takes: East Asian wide and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def header_width(text: str) -> int:
    """Columns a header needs: it wraps onto two lines (the header row is two lines high)."""
    full = display_width(text)
    return full if full <= 10 else max(10, (full + 1) // 2 + 2)


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    fmt: str = TEXT  # number format; TEXT for words


@dataclass(frozen=True, slots=True)
class Sheet:
    """Where a sheet's print header and footer take their words."""

    title: str
    period: str
    generated: str
    page: str
    seal: str = ""  # a closed month's close time and snapshot hash (footer right; the summary's first row)


def _shown(value: object, fmt: str) -> str:
    """Roughly what a cell shows, for its column's width."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return "2026-11-30 23:59"
    if fmt == PCT and isinstance(value, int | float):
        return f"{value * 100:.2f}%"
    if fmt in (HOURS,) and isinstance(value, int | float):
        return f"{value:.2f}"
    return str(value)


def local(t: dt.datetime | None, tz: str) -> dt.datetime | None:
    """An aware time as the naive local time Excel shows (None stays None)."""
    return None if t is None else t.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def write_table(ws: Worksheet, sheet: Sheet, columns: Sequence[Column], rows: Sequence[Sequence[object]], *,
                bad: Sequence[Sequence[bool]] | None = None, fills: dict[tuple[int, int], PatternFill] | None = None,
                width_sample: int = 2000) -> None:
    """Title in row 1, headers in row 2 (both frozen), data from row 3; formats, widths, print set-up.

    ``bad[i][j]``: row i's cell j is below target (coloured); ``fills``: (row i, column j) fills."""
    write_text(ws, 1, 1, sheet.title).font = TITLE_FONT
    ws.append([cell_text(c.header) for c in columns])
    for j in range(len(columns)):
        cell = ws.cell(row=2, column=j + 1)
        cell.font, cell.fill, cell.alignment = HEAD_FONT, HEAD_FILL, WRAP_HEAD
    widths = [header_width(c.header) for c in columns]
    formats = [c.fmt for c in columns]
    # General shows integers and 2-decimal hours as they are: only percentages, times and signed
    # changes get a format of their own (a format on every cell doubles the time of a big sheet)
    formatted = {j for j, f in enumerate(formats) if f not in (TEXT, INT, HOURS)}
    hours = [j for j, f in enumerate(formats) if f == HOURS]
    styles: dict[tuple[str, bool], StyleArray] = {}

    def style(cell: Cell, fmt: str, is_bad: bool) -> None:
        """Give *cell* its format and colour: set once per kind, then the style copied (fast)."""
        got = styles.get((fmt, is_bad))
        if got is not None:
            cell._style = copy(got)
            return
        if fmt not in (TEXT, INT, HOURS):
            cell.number_format = fmt
        if is_bad:
            cell.fill, cell.font = BAD_FILL, BAD_FONT
        styles[(fmt, is_bad)] = copy(cell._style)

    for i, given in enumerate(rows):
        row = list(given)
        for j in hours:
            value = row[j]
            if isinstance(value, float):
                row[j] = round(value, 2)
        risky = []
        for j, value in enumerate(row):
            if isinstance(value, str):
                row[j] = value = cell_text(value)
                if is_risky(value):
                    risky.append(j)
        ws.append(row)
        r = i + 3
        flags = bad[i] if bad is not None else ()
        for j, fmt in enumerate(formats):
            is_bad = bool(flags) and flags[j]
            if is_bad or (j in formatted and row[j] is not None):
                style(ws.cell(row=r, column=j + 1), fmt if row[j] is not None else TEXT, is_bad)
        for j in risky:  # (after the style: a copied style would drop the quote prefix)
            neutralise(ws.cell(row=r, column=j + 1))
        if i < width_sample:
            for j, value in enumerate(row):
                widths[j] = max(widths[j], display_width(_shown(value, formats[j])))
    for (i, j), fill in (fills or {}).items():
        ws.cell(row=i + 3, column=j + 1).fill = fill
    for j, w in enumerate(widths):
        ws.column_dimensions[get_column_letter(j + 1)].width = min(MAX_WIDTH, max(MIN_WIDTH, w + 2))
    ws.row_dimensions[2].height = 30
    ws.freeze_panes = "A3"
    if rows:
        ws.auto_filter.ref = f"A2:{get_column_letter(len(columns))}{len(rows) + 2}"
    print_setup(ws, sheet, len(columns))


def print_setup(ws: Worksheet, sheet: Sheet, n_columns: int) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.9  # inches: room for the header and footer lines
    ws.page_margins.header = ws.page_margins.footer = 0.35
    ws.print_title_rows = "2:2"  # the headers on every page (the title is in the page header)
    ws.oddHeader.left.text = _header(sheet.title)
    ws.oddHeader.right.text = _header(sheet.period)
    ws.oddFooter.left.text = _header(sheet.generated)
    ws.oddFooter.center.text = sheet.page  # (its &P and &N are the page codes)
    ws.evenHeader.left.text, ws.evenHeader.right.text = ws.oddHeader.left.text, ws.oddHeader.right.text
    ws.evenFooter.left.text, ws.evenFooter.center.text = ws.oddFooter.left.text, ws.oddFooter.center.text
    if sheet.seal:  # which closing the printed figures come from, on every page
        ws.oddFooter.right.text = ws.evenFooter.right.text = _header(sheet.seal)


def _header(text: str) -> str:
    """*text* in a print header or footer: an ``&`` doubled (a lone one starts a code), safe characters."""
    return cell_text(text).replace("&", "&&")


__all__ = ["BAD_FILL", "COLOUR_FILLS", "HOURS", "INT", "PCT", "SIGNED", "TEXT", "WHEN", "Column", "Sheet", "cell_text",
           "display_width", "header_width", "local", "neutralise", "print_setup", "write_table", "write_text"]
