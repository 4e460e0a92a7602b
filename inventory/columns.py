"""Matching a file's headers to the table's column keys (Chinese, English or an alias)."""

from __future__ import annotations

import unicodedata

from inventory.fields import FIELDS, header_label

__all__ = ["column_for", "header_label", "hint_for", "is_ignored", "normalize_header"]

# Columns people keep in their sheets that carry nothing for us.
IGNORED = frozenset({"序号", "编号", "备注", "no", "no.", "#", "remark", "remarks", "notes", "note"})


# Headers near one of ours that we do not take: a hint of inventory.messages.HEADER_HINTS says which
# column to use. Not aliases: a ledger's 端口 is often the device's HTTP/SDK port (80, 8000), not RTSP's
# 554; 用户 may be the unit that uses the camera; 经纬度 is two values in one cell.
NEAR_MISS: dict[str, str] = {
    **dict.fromkeys(("端口", "端口号", "设备端口", "port", "port_number"), "port"),
    **dict.fromkeys(("http端口", "web端口", "sdk端口", "服务端口", "管理端口", "http_port", "sdk_port"), "device_port"),
    **dict.fromkeys(("用户",), "user"),
    **dict.fromkeys(("经纬度", "坐标", "经纬度坐标", "gps坐标", "gps", "coordinates"), "lonlat"),
}


def normalize_header(text: str) -> str:
    t = unicodedata.normalize("NFKC", str(text)).strip().lower()
    t = t.replace(" ", "").replace("\u3000", "").strip("*")
    return t


_LOOKUP: dict[str, str] = {
    normalize_header(name): f.key for f in FIELDS for name in (f.key, f.zh, f.en, *f.aliases)
}


def _lookup(header: str, table: dict[str, str]) -> str | None:
    h = normalize_header(header)
    if h in table:
        return table[h]
    # "IP地址(必填)" and the like: drop a trailing parenthesised note.
    for open_ in ("(", "（"):
        if open_ in h:
            base = h.split(open_, 1)[0]
            if base in table:
                return table[base]
    return None


def column_for(header: str) -> str | None:
    """The canonical key of a header, or None when it is not one of ours."""
    return _lookup(header, _LOOKUP)


def hint_for(header: str) -> str | None:
    """For a header that is not ours but near one of ours, the hint saying which column to use."""
    return _lookup(header, NEAR_MISS)


def is_ignored(header: str) -> bool:
    return normalize_header(header) in IGNORED or normalize_header(header) == ""
