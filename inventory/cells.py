"""Spreadsheet formula injection: how exported text cells are neutralised, and undone on import.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken for a
formula by Excel and LibreOffice when the file is opened (``=HYPERLINK(...)``, ``=cmd|...``).
Only text columns are neutralised; which ones is derived from the field table
(:data:`inventory.fields.FIELDS`): every column but the numeric ones (longitude, latitude,
ports), whose ``-12.5`` must stay a number.

- **XLSX**: every cell is written as a text cell (never a formula, never an error value such
  as ``#N/A``) with the value exactly as stored; a risky one also gets Excel's "quote prefix"
  style, so editing it in Excel keeps it text.
- **CSV**: a risky text cell gets a leading apostrophe (the OWASP advice). To make this
  exactly reversible, a value that already starts with apostrophes followed by a risky
  character gets one more. Importing a CSV removes one apostrophe from a text cell that
  starts with one or more apostrophes followed by a risky character; any other cell (an
  ``'abc`` a person typed) is read as it is.
"""

from __future__ import annotations

from inventory.fields import FIELDS, Parse

RISKY = frozenset("=+-@\t\r")
QUOTE = "'"
# Columns whose cells are numbers: never neutralised (a negative longitude stays a number).
NUMERIC = frozenset({Parse.LON, Parse.LAT, Parse.PORT})
TEXT_KEYS: frozenset[str] = frozenset(f.key for f in FIELDS if f.parse not in NUMERIC)


# The first characters of a value that may need neutralising (a quick test before is_risky).
MAY_RISK = (*sorted(RISKY), QUOTE)


def is_risky(value: str) -> bool:
    """True when a spreadsheet would take *value* (or it without leading apostrophes) for a formula."""
    if not value.startswith(MAY_RISK):
        return False
    rest = value.lstrip(QUOTE)
    return bool(rest) and rest[0] in RISKY


def neutralise_csv(value: str) -> str:
    """The CSV cell for a text value: an apostrophe in front when it is risky."""
    return QUOTE + value if is_risky(value) else value


def restore_csv(cell: str) -> str:
    """The value of a CSV text cell: the inverse of :func:`neutralise_csv`."""
    return cell[1:] if cell.startswith(QUOTE) and is_risky(cell) else cell
