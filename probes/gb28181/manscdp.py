"""MANSCDP XML bodies (GB/T 28181 Appendix A) read into typed values: Keepalive, Catalog
(a query's answer, or a catalog notification with events), DeviceStatus, DeviceInfo.

Encoding: the XML declaration's encoding is honoured (GB2312, GBK, GB18030: read as GB18030,
their superset; UTF-8), with the mismatches seen on real devices tolerated (:func:`decode_body`):
a body declared GB2312/GBK/GB18030 whose bytes are valid UTF-8 is read as UTF-8 when that
reads as text a Chinese catalog holds (:func:`plausible`: CJK, ASCII and the symbols names
use, · — “ ” ① Ⅱ ...); GB text is practically never valid UTF-8, and when it is, it reads
as Cyrillic, Greek or other letters no catalog holds, so it is then read as GB18030. A body
declared UTF-8 whose bytes are not UTF-8 is read as GB18030. Bytes valid in neither are
refused (the reason names the offending byte of each). The text is then parsed by
:func:`probes.xmlsafe.parse` with the ONVIF limits (no DTD or entities, size, depth and
element caps), so a hostile body costs no more than a hostile ONVIF reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from probes import xmlsafe

_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_GB = frozenset({"gb2312", "gbk", "gb18030", "cp936", "euc-cn", "x-gbk", "gb_2312-80"})
_UTF8 = frozenset({"utf-8", "utf8"})
# The keepalive as (nearly) every device writes it: ASCII only, so its encoding does not matter.
# Read by this exact pattern (thousands a second); any other shape goes through the XML parser.
_KEEPALIVE = re.compile(
    rb"""\s*(?:<\?xml\s+version\s*=\s*["']1\.0["'](?:\s+encoding\s*=\s*["'][A-Za-z0-9._-]{1,40}["'])?\s*\?>)?"""
    rb"\s*<Notify>\s*<CmdType>Keepalive</CmdType>\s*<SN>(\d{1,12})</SN>\s*<DeviceID>(\d{1,32})</DeviceID>"
    rb"\s*<Status>([A-Za-z]{1,16})</Status>\s*</Notify>\s*")


class ManscdpError(ValueError):
    """A body that is not a MANSCDP document we can read (the text names no value)."""


# What a Chinese camera catalog holds: ASCII, the Latin-1 signs of GB2312 (° ± · × ÷), general
# punctuation (— ‘ ’ “ ” … ‰ ※), letterlike and number forms (℃ № Ⅱ), arrows, maths, enclosed
# numbers (①), box drawing, shapes and symbols (■ ★), CJK radicals, punctuation, kana, enclosed
# CJK (㈠ ㎡), ideographs (and their extensions beyond the BMP), compatibility and full-width forms.
# Not Cyrillic, Greek, Arabic ... (U+0080-U+07FF): what GB bytes read as UTF-8 turn into.
_IMPLAUSIBLE = re.compile(
    "[^\t\n\r\x20-\x7e\xb0\xb1\xb7\xd7\xf7\u2010-\u203b\u2100-\u21ff\u2200-\u23ff\u2460-\u27bf"
    "\u2e80-\u2fdf\u3000-\u33ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff01-\uffef"
    "\U00020000-\U0003ffff]")


def plausible(text: str) -> bool:
    """Whether *text* is made only of what a Chinese camera catalog holds (names like 村口、路口,
    1号杆—南, 二期Ⅱ, 张·李, “东门”, ①号): the test between two readings of one body."""
    return _IMPLAUSIBLE.search(text) is None


def _decoded(data: bytes, encoding: str) -> tuple[str | None, str]:
    """(the text, "") or (None, where it breaks)."""
    try:
        return data.decode(encoding), ""
    except UnicodeDecodeError as exc:
        return None, f"byte 0x{data[exc.start]:02X} at offset {exc.start}"


def decode_body(data: bytes) -> str:
    """The body's text, by its declared encoding with the mismatches above tolerated."""
    m = _DECL.match(data[:200])
    declared = m.group(1).decode("ascii").lower() if m else "utf-8"
    if declared not in _GB and declared not in _UTF8:
        raise ManscdpError("unsupported body encoding")
    if data.isascii():
        return data.decode("ascii")
    utf8, utf8_bad = _decoded(data, "utf-8")
    if utf8 is not None and declared in _UTF8:
        return utf8
    gb, gb_bad = _decoded(data, "gb18030")
    if utf8 is not None and (gb is None or plausible(utf8) or not plausible(gb)):
        return utf8  # (declared GB: a device writing UTF-8 under the standard's declaration)
    if gb is not None:
        return gb
    raise ManscdpError(f"body is neither UTF-8 ({utf8_bad}) nor GB18030 ({gb_bad})")


def parse_xml(data: bytes) -> xmlsafe.Node:
    """The body as a tree, with the project's hardened XML limits."""
    if len(data) > xmlsafe.DEFAULT_MAX_BYTES:
        raise ManscdpError("body too large")
    text = decode_body(data)
    try:  # the parser reads UTF-8 whatever the declaration says
        return xmlsafe.parse(text.encode("utf-8"))
    except xmlsafe.XmlError as exc:
        raise ManscdpError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Keepalive:
    device_id: str
    sn: int
    status: str  # "OK" (a device reporting a fault says "ERROR")


@dataclass(frozen=True, slots=True)
class CatalogItem:
    device_id: str
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    owner: str = ""
    civil_code: str = ""
    address: str = ""
    parental: bool = False
    parent_id: str = ""
    status: str = ""  # ON / OFF as sent (upper-cased); "" when absent
    event: str = ""  # in a catalog notification: ON, OFF, VLOST, DEFECT, ADD, DEL, UPDATE

    @property
    def on(self) -> bool | None:
        """True ON (or ONLINE/OK), False OFF (or OFFLINE), None when not told."""
        s = self.event if self.event in ("ON", "OFF") else self.status
        if s in ("ON", "ONLINE", "OK"):
            return True
        if s in ("OFF", "OFFLINE"):
            return False
        return None


@dataclass(frozen=True, slots=True)
class Catalog:
    device_id: str
    sn: int  # -1: not a number (its parts cannot be told from another answer's)
    sum_num: int | None  # the answer's total; None: not a number (or the SN is not): of unknown total
    items: tuple[CatalogItem, ...]
    notify: bool = False  # a notification (changes) rather than the answer to a query
    skipped: tuple[str, ...] = ()  # why each item left out was (no DeviceID ...): the rest are read


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    device_id: str
    sn: int
    result: str  # OK / ERROR
    online: str  # ONLINE / OFFLINE
    status: str  # OK / ERROR


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device_id: str
    sn: int
    result: str
    device_name: str
    manufacturer: str
    model: str
    firmware: str
    channels: int | None


@dataclass(frozen=True, slots=True)
class Other:
    """A well-formed MANSCDP document of a kind camwatch does not use (alarms, queries ...)."""

    root: str
    cmd_type: str
    device_id: str
    sn: int


Manscdp = Keepalive | Catalog | DeviceStatus | DeviceInfo | Other


def _int(text: str | None, default: int = 0, bad: int | None = -1) -> int | None:
    """A count or serial number; *default* when absent, *bad* when not a number of at most 12
    digits (a device's broken counter does not refuse what else its message tells)."""
    if text is None or text.strip() == "":
        return default
    t = text.strip()
    return int(t) if t.isascii() and t.isdigit() and len(t) <= 12 else bad


def _item(node: xmlsafe.Node) -> CatalogItem | str:
    """An item, or why it cannot be one (it is left out, the others are read)."""
    def t(name: str) -> str:
        return node.text_of(name) or ""

    device_id = t("DeviceID").strip()
    if not device_id:
        return "an item without DeviceID"
    if len(device_id) > 32 or not device_id.isprintable() or " " in device_id:
        return "an item whose DeviceID is not an ID"
    return CatalogItem(device_id=device_id, name=t("Name"), manufacturer=t("Manufacturer"), model=t("Model"),
                       owner=t("Owner"), civil_code=t("CivilCode"), address=t("Address"),
                       parental=t("Parental") == "1", parent_id=t("ParentID"), status=t("Status").upper(),
                       event=t("Event").upper())


def read(data: bytes) -> Manscdp:
    """Read a MANSCDP body; raise :class:`ManscdpError` when it is not one."""
    if len(data) < 512:
        m = _KEEPALIVE.fullmatch(data)
        if m is not None:
            return Keepalive(m.group(2).decode("ascii"), int(m.group(1)), m.group(3).decode("ascii").upper())
    root = parse_xml(data)
    cmd = root.text_of("CmdType") or ""
    device_id = root.text_of("DeviceID") or ""
    if not cmd or not device_id:
        raise ManscdpError("no CmdType or DeviceID")
    sn = _int(root.text_of("SN")) or 0
    kind = root.name
    if sn < 0 and cmd != "Catalog":  # (a catalog's channels are read all the same: of unknown total)
        raise ManscdpError("bad number")
    if kind == "Notify" and cmd == "Keepalive":
        return Keepalive(device_id, sn, (root.text_of("Status") or "OK").upper())
    if cmd == "Catalog" and kind in ("Response", "Notify"):
        dl = root.child("DeviceList")
        read_ = [_item(n) for n in dl.children if n.name == "Item"] if dl is not None else []
        items = tuple(i for i in read_ if isinstance(i, CatalogItem))
        sum_num = _int(root.text_of("SumNum"), len(read_), None) if sn >= 0 else None
        return Catalog(device_id, sn, sum_num, items, notify=kind == "Notify",
                       skipped=tuple(i for i in read_ if isinstance(i, str)))
    if kind == "Response" and cmd == "DeviceStatus":
        return DeviceStatus(device_id, sn, (root.text_of("Result") or "OK").upper(),
                            (root.text_of("Online") or "").upper(), (root.text_of("Status") or "").upper())
    if kind == "Response" and cmd == "DeviceInfo":
        ch = root.text_of("Channel")
        return DeviceInfo(device_id, sn, (root.text_of("Result") or "OK").upper(), root.text_of("DeviceName") or "",
                          root.text_of("Manufacturer") or "", root.text_of("Model") or "",
                          root.text_of("Firmware") or "", _int(ch, 0, None) if ch else None)
    return Other(kind, cmd, device_id, sn)
