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
    b"<Response><CmdType>Catalog</CmdType><DeviceID>1</DeviceID><DeviceList><Item/></DeviceList></Response>",
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
