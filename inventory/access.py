"""How camwatch learns a camera's state (the inventory's 接入方式, DESIGN §11)."""

from __future__ import annotations

import enum


class Access(enum.StrEnum):
    DIRECT = "direct"  # probed directly (RTSP, ONVIF)
    GB28181 = "gb28181"  # only through a GB/T 28181 platform it registers to: never probed directly
    BOTH = "both"  # probed directly and heard through GB/T 28181


# The cell words an import accepts (lowercase, spaces and separators as written) and the ones an export writes.
ACCESS_WORDS: dict[Access, frozenset[str]] = {
    Access.DIRECT: frozenset({"direct", "直连", "直接", "直接接入", "rtsp", "onvif"}),
    Access.GB28181: frozenset({"gb28181", "gb/t 28181", "gb/t28181", "gb", "国标", "国标接入", "平台", "平台接入"}),
    Access.BOTH: frozenset({"both", "两者", "都有", "直连+国标", "国标+直连", "直连+gb28181", "direct+gb28181"}),
}
ACCESS_CELL: dict[Access, tuple[str, str]] = {  # (中文, English)
    Access.DIRECT: ("直连", "direct"), Access.GB28181: ("国标", "GB28181"), Access.BOTH: ("两者", "both"),
}


def parse_access(text: str) -> Access | None:
    """The access a cell names (None: not a known word); an empty cell is direct."""
    t = " ".join(text.strip().lower().split())
    if not t:
        return Access.DIRECT
    return next((a for a, words in ACCESS_WORDS.items() if t in words), None)
