"""MANSCDP bodies: each kind read into its type, the encodings (GB2312/GB18030, UTF-8, and the
mislabelled bodies real devices send), and the ONVIF XML limits applied to them."""

from __future__ import annotations

import pytest

from probes import xmlsafe
from probes.gb28181 import bodies
from probes.gb28181.manscdp import (
    Catalog,
    CatalogItem,
    DeviceInfo,
    DeviceStatus,
    Keepalive,
    ManscdpError,
    Other,
    decode_body,
    plausible,
    read,
)

DEV = "34020000001180000001"
ITEMS = [CatalogItem("34020000001310000001", "东门村口", "海康威视", "DS-2CD", "", "340202", "东门村 1 号", False,
                     DEV, "ON"),
         CatalogItem("34020000001310000002", "祠堂𠀾", "大华", "IPC", "", "340202", "祠堂", True, DEV, "OFF")]


def test_keepalive_and_queries() -> None:
    assert read(bodies.keepalive(DEV, 7)) == Keepalive(DEV, 7, "OK")
    q = read(bodies.query("Catalog", 3, DEV))
    assert q == Other("Query", "Catalog", DEV, 3)


@pytest.mark.parametrize(("encoding", "declared"), [
    ("GB18030", None),  # names outside GB2312 (𠀾) need GB18030
    ("UTF-8", None),
    ("UTF-8", "GB2312"),  # declared GB2312, bytes UTF-8: common, tolerated
    ("GB18030", "UTF-8"),  # declared UTF-8, bytes GBK: tolerated the other way
])
def test_catalog_in_every_encoding(encoding: str, declared: str | None) -> None:
    raw = bodies.catalog(DEV, 9, 2, ITEMS, encoding=encoding, declared=declared)
    cat = read(raw)
    assert isinstance(cat, Catalog) and (cat.device_id, cat.sn, cat.sum_num, cat.notify) == (DEV, 9, 2, False)
    assert cat.items == tuple(ITEMS)
    assert [i.on for i in cat.items] == [True, False] and cat.items[1].parental


def test_plain_gb2312_declared_and_true() -> None:
    raw = '<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Keepalive</CmdType><SN>1</SN>' \
          f"<DeviceID>{DEV}</DeviceID><Status>正常</Status></Notify>"
    assert decode_body(raw.encode("gb2312")) == raw
    assert decode_body(raw.encode("utf-8")) == raw
    no_decl = raw.split("?>", 1)[1]
    assert decode_body(no_decl.encode("utf-8")) == no_decl


NAMES = ["村口、路口", "1号杆—南", "二期Ⅱ", "张·李", "“东门”", "①号", "祠堂𠀾", "东门村 1 号（北）", "温度℃ №3"]


def _names_body(names: list[str], declared: str) -> str:
    items = "".join(f"<Item><DeviceID>3402000000131000000{i}</DeviceID><Name>{n}</Name></Item>"
                    for i, n in enumerate(names))
    return (f'<?xml version="1.0" encoding="{declared}"?>\r\n<Response><CmdType>Catalog</CmdType><SN>1</SN>'
            f"<DeviceID>{DEV}</DeviceID><DeviceList>{items}</DeviceList></Response>")


# (the bytes' encoding, the declared one): a device's names read back as written, whichever it was
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("encoding", "declared"), [
    ("utf-8", "GB2312"), ("utf-8", "GBK"), ("utf-8", "GB18030"), ("utf-8", "UTF-8"),  # UTF-8, often mislabelled
    ("gb18030", "GB2312"), ("gb18030", "GB18030"), ("gb18030", "UTF-8"),  # GB18030, or mislabelled UTF-8
])
def test_names_decode_as_written(name: str, encoding: str, declared: str) -> None:
    text = _names_body([name], declared)
    assert decode_body(text.encode(encoding)) == text
    assert decode_body(_names_body(NAMES, declared).encode(encoding)) == _names_body(NAMES, declared)


@pytest.mark.parametrize("name", [n for n in NAMES if "𠀾" not in n])
def test_names_in_gbk_decode_as_written(name: str) -> None:
    text = _names_body([name], "GBK")
    assert decode_body(text.encode("gbk")) == text


@pytest.mark.parametrize(("text", "ok"), [
    *((n, True) for n in NAMES), ("ASCII camera 01", True), ("摄像机\t2", True),
    ("1鍙锋潌鈥斿崡", True),  # GB18030 reading of UTF-8 bytes: only the UTF-8 reading tells it apart
    ("Камера", False), ("αβ", False), ("caf\u00e9", False), ("\ue000", False), ("\ufffd", False), ("\x00", False),
])
def test_plausible(text: str, ok: bool) -> None:
    assert plausible(text) is ok


def test_gb_bytes_that_happen_to_be_utf8_read_as_gb() -> None:
    """GB text valid as UTF-8 reads as letters no catalog holds: the GB18030 reading is taken."""
    head = '<?xml version="1.0" encoding="GB2312"?><a>'
    data = head.encode() + "小".encode("gb2312") + b"</a>"
    assert data.decode("utf-8") == head + "\u0421</a>"  # (the bytes are UTF-8 too: Cyrillic С)
    assert decode_body(data) == head + "小</a>"


@pytest.mark.parametrize("declared", ["GB2312", "UTF-8", None])
def test_bytes_valid_in_neither_are_refused_naming_the_bytes(declared: str | None) -> None:
    head = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    data = head.encode() + "<a>村口".encode("gb18030") + b"\xff\xfe</a>"
    with pytest.raises(ManscdpError, match=r"neither UTF-8 \(byte 0x.. at offset \d+\) nor GB18030 \(byte 0xFF at offset"):
        decode_body(data)


def test_catalog_notification_events() -> None:
    raw = bodies.catalog(DEV, 4, 1, [CatalogItem("34020000001310000001", event="OFF", status="ON")], notify=True)
    cat = read(raw)
    assert isinstance(cat, Catalog) and cat.notify and cat.items[0].on is False  # the event wins


@pytest.mark.parametrize(("status", "event", "on"), [
    ("ON", "", True), ("OFF", "", False), ("ONLINE", "", True), ("OFFLINE", "", False), ("", "", None),
    ("ON", "OFF", False), ("OFF", "ON", True), ("ON", "VLOST", True), ("", "ADD", None),
])
def test_item_on(status: str, event: str, on: bool | None) -> None:
    assert CatalogItem("x", status=status, event=event).on is on


def test_status_and_info() -> None:
    st = read(bodies.device_status(DEV, 5, online=False))
    assert st == DeviceStatus(DEV, 5, "OK", "OFFLINE", "OK")
    info = read(bodies.device_info(DEV, 6, name="录像机", manufacturer="HIK", model="DS-7608", firmware="V4",
                                   channels=8))
    assert info == DeviceInfo(DEV, 6, "OK", "录像机", "HIK", "DS-7608", "V4", 8)


@pytest.mark.parametrize("raw", [
    b"",
    b"not xml",
    b"<Notify><CmdType>Keepalive</CmdType></Notify>",  # no DeviceID
    b"<Notify><DeviceID>1</DeviceID></Notify>",  # no CmdType
    b"<Notify><CmdType>Keepalive</CmdType><DeviceID>1</DeviceID><SN>x1</SN></Notify>",
    b'<?xml version="1.0" encoding="ISO-2022-JP"?><a/>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Notify><CmdType>&a;</CmdType></Notify>',
    b"<a>" * 100 + b"</a>" * 100,  # deeper than the ONVIF cap
])
def test_refused(raw: bytes) -> None:
    with pytest.raises(ManscdpError):
        read(raw)


def test_the_onvif_limits_apply() -> None:
    big = b"<Notify><CmdType>Keepalive</CmdType><DeviceID>1</DeviceID><X>" + b"a" * xmlsafe.DEFAULT_MAX_BYTES + b"</X></Notify>"
    with pytest.raises(ManscdpError, match="too large"):
        read(big)
    many = b"<R><CmdType>Catalog</CmdType><DeviceID>1</DeviceID>" + b"<i/>" * (xmlsafe.DEFAULT_MAX_ELEMENTS + 1) + b"</R>"
    with pytest.raises(ManscdpError, match="elements"):
        read(many)


@pytest.mark.parametrize("raw", [
    bodies.keepalive(DEV, 7),
    b"<Notify><CmdType>Keepalive</CmdType><SN>7</SN><DeviceID>" + DEV.encode() + b"</DeviceID><Status>ok</Status></Notify>",
    # other shapes go through the XML parser, with the same result
    b"<Notify><SN>7</SN><CmdType>Keepalive</CmdType><DeviceID>" + DEV.encode() + b"</DeviceID><Status>OK</Status></Notify>",
    b'<?xml version="1.0" encoding="GB2312"?>\n<Notify>\n<CmdType>Keepalive</CmdType>\n<SN>7</SN>\n<DeviceID>'
    + DEV.encode() + b"</DeviceID>\n<Status>OK</Status>\n<Info></Info>\n</Notify>\n",
])
def test_keepalive_fast_path_and_parser_agree(raw: bytes) -> None:
    assert read(raw) == Keepalive(DEV, 7, "OK")


@pytest.mark.parametrize("raw", [
    b"<Notify><CmdType>Keepalive</CmdType><SN>7</SN><DeviceID>1</DeviceID><Status>OK</Status></Notify><x>",
    b"<Notify><CmdType>Keepalive</CmdType><SN>7</SN><DeviceID>1</DeviceID><Status>OK</Status></Notify></Notify>",
    b"<Notify><CmdType>Keepalive</CmdType><SN>7</SN><DeviceID>1</DeviceID><Status>OK</Status>",
])
def test_keepalive_fast_path_takes_nothing_malformed(raw: bytes) -> None:
    with pytest.raises(ManscdpError):
        read(raw)
