"""Matching a file's headers to the table's column keys (Chinese, English or an alias)."""

from __future__ import annotations

import unicodedata

from inventory.fields import FIELDS, header_label

__all__ = ["column_for", "header_label", "is_ignored", "normalize_header"]

# Columns people keep in their sheets that carry nothing for us.
IGNORED = frozenset({"序号", "编号", "备注", "no", "no.", "#", "remark", "remarks", "notes", "note"})


def normalize_header(text: str) -> str:
    t = unicodedata.normalize("NFKC", str(text)).strip().lower()
    t = t.replace(" ", "").replace("\u3000", "").strip("*")
    return t


_LOOKUP: dict[str, str] = {
    normalize_header(name): f.key for f in FIELDS for name in (f.key, f.zh, f.en, *f.aliases)
}


def column_for(header: str) -> str | None:
    """The canonical key of a header, or None when it is not one of ours."""
    h = normalize_header(header)
    if h in _LOOKUP:
        return _LOOKUP[h]
    # "IP地址(必填)" and the like: drop a trailing parenthesised note.
    for open_ in ("(", "（"):
        if open_ in h:
            base = h.split(open_, 1)[0]
            if base in _LOOKUP:
                return _LOOKUP[base]
    return None


def is_ignored(header: str) -> bool:
    return normalize_header(header) in IGNORED or normalize_header(header) == ""
