"""Merged cells of an XLSX sheet, applied to its rows as they stream.

Township ledgers often merge the county / township / village cells (or a point name, a contractor)
over the rows of one village. The sheet stores a merged block's value in its top-left cell only,
and openpyxl's read-only mode (which keeps a large ledger's memory bounded) does not expose the
merged ranges. They are a small ``<mergeCells>`` element after ``<sheetData>`` in the sheet's XML:
:func:`read_merges` finds them by streaming the decompressed XML once more (fast: no XML parsing,
memory bounded by a chunk), and :class:`MergeFill` gives every row of a vertically merged block
the value of its top-left cell, as Excel shows it.

Only the block's first column is filled down: a block merged across columns shows one value, not
one per column, and filling across would make a merged header cell (a "备注" over two columns)
a duplicate column. A block reaching from the header row into the rows below cannot be honoured
(a header in two rows, a title merged down into the header): :func:`check_header` refuses it.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from inventory.messages import Issue, Severity

# <mergeCell ref="A2:A7"/>, with a namespace prefix or not (x:mergeCell). In the XML, a "<" is
# markup only (a cell's text has it escaped as &lt;): a cell saying "<mergeCell ..." cannot match.
_MERGE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\s[^>]*?\bref\s*=\s*[\"']"
                    rb"\$?([A-Za-z]{1,3})\$?([0-9]+):\$?([A-Za-z]{1,3})\$?([0-9]+)[\"']")
CHUNK = 1 << 20  # bytes of decompressed XML read at a time
_OVERLAP = 4096  # bytes kept from one chunk to the next (longer than any <mergeCell> element)


@dataclass(frozen=True, slots=True)
class Merge:
    """One merged range; rows and columns are 1-based and inclusive."""

    first_row: int
    last_row: int
    first_col: int
    last_col: int

    @property
    def ref(self) -> str:
        return f"{column_letters(self.first_col)}{self.first_row}:{column_letters(self.last_col)}{self.last_row}"


def column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - ord("A") + 1
    return n


def column_letters(number: int) -> str:
    out = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


def _merge(m: re.Match[bytes]) -> Merge:
    c1, r1, c2, r2 = column_number(m[1].decode()), int(m[2]), column_number(m[3].decode()), int(m[4])
    return Merge(min(r1, r2), max(r1, r2), min(c1, c2), max(c1, c2))


def read_merges(path: Path, member: str) -> list[Merge]:
    """The merged ranges of the sheet stored as *member* of the XLSX at *path*, by row then column."""
    found: list[Merge] = []
    with zipfile.ZipFile(path) as zf, zf.open(member) as fh:
        tail = b""
        while True:
            chunk = fh.read(CHUNK)
            buf = tail + chunk
            limit = len(buf) if not chunk else max(0, len(buf) - _OVERLAP)
            if b"mergeCell" in buf:  # (the usual chunk of cells has none: no regex over it)
                for m in _MERGE.finditer(buf):
                    if m.start() >= limit:  # (read again, whole, with the next chunk)
                        break
                    found.append(_merge(m))
            if not chunk:
                break
            tail = buf[limit:]
    return sorted(found, key=lambda g: (g.first_row, g.first_col))


class MergeFill:
    """Fills the rows of vertically merged blocks with their top-left value, row by row."""

    def __init__(self, merges: Sequence[Merge]) -> None:
        self._pending = [g for g in merges if g.last_row > g.first_row]  # (sorted by first row)
        self._next = 0
        self._active: dict[int, tuple[object, int]] = {}  # 0-based column -> (value, last row)

    def apply(self, number: int, cells: list[object]) -> list[object]:
        """*cells* of row *number* (rows come in increasing order), filled where a block covers them.
        A row blank in all its own cells stays blank (skipped as before): ledger templates merge a
        village's cells over spare rows too, and those are not cameras."""
        blank = all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)
        for col, (value, last) in list(self._active.items()):
            if number > last:
                del self._active[col]
                continue
            if blank:
                continue
            if col >= len(cells):
                cells.extend([""] * (col + 1 - len(cells)))
            cells[col] = value
        while self._next < len(self._pending) and self._pending[self._next].first_row <= number:
            g = self._pending[self._next]
            self._next += 1
            col = g.first_col - 1
            if g.first_row == number:  # (a block starting on a row never seen fills nothing)
                self._active[col] = (cells[col] if col < len(cells) else "", g.last_row)
        return cells


def check_header(merges: Sequence[Merge], header_row: int, header: Sequence[object]) -> Issue | None:
    """The error for the first merged block reaching from the header row into the rows below, if any."""
    for g in merges:
        if g.first_row <= header_row < g.last_row:
            columns = column_letters(g.first_col)
            if g.last_col > g.first_col:
                columns += f"–{column_letters(g.last_col)}"
            name = header[g.first_col - 1] if g.first_col <= len(header) else ""
            return Issue(Severity.ERROR, "xlsx_merged_header", column=str(name).strip() or None, params={
                "ref": g.ref, "rows": f"{g.first_row}–{g.last_row}", "columns": columns, "header_row": header_row})
    return None
