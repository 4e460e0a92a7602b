"""MANSCDP XML bodies written: the platform's queries, and a device's answers (used by the
simulator and the tests). Text is escaped; the encoding is chosen by the caller (GB2312 is
the standard's; GB18030 for names outside GB2312; UTF-8 as many devices send)."""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape

from probes.gb28181.manscdp import CatalogItem

CONTENT_TYPE = "Application/MANSCDP+xml"


def _doc(root: str, fields: Iterable[tuple[str, str]], tail: str = "", *, encoding: str = "GB2312",
         declared: str | None = None) -> bytes:
    inner = "".join(f"<{k}>{escape(v)}</{k}>\r\n" for k, v in fields)
    text = f'<?xml version="1.0" encoding="{declared or encoding}"?>\r\n<{root}>\r\n{inner}{tail}</{root}>\r\n'
    return text.encode("gb18030" if encoding.upper() in ("GB2312", "GBK", "GB18030") else encoding)


def query(cmd_type: str, sn: int, device_id: str) -> bytes:
    """A platform's query: Catalog, DeviceStatus or DeviceInfo."""
    return _doc("Query", [("CmdType", cmd_type), ("SN", str(sn)), ("DeviceID", device_id)])


def keepalive(device_id: str, sn: int, status: str = "OK", *, encoding: str = "GB2312") -> bytes:
    return _doc("Notify", [("CmdType", "Keepalive"), ("SN", str(sn)), ("DeviceID", device_id), ("Status", status)],
                encoding=encoding)


def _item_xml(it: CatalogItem) -> str:
    fields = [("DeviceID", it.device_id), ("Name", it.name), ("Manufacturer", it.manufacturer), ("Model", it.model),
              ("Owner", it.owner), ("CivilCode", it.civil_code), ("Address", it.address),
              ("Parental", "1" if it.parental else "0"), ("ParentID", it.parent_id), ("SafetyWay", "0"),
              ("RegisterWay", "1"), ("Secrecy", "0"), ("Status", it.status)]
    if it.event:
        fields.append(("Event", it.event))
    return "<Item>\r\n" + "".join(f"<{k}>{escape(v)}</{k}>\r\n" for k, v in fields) + "</Item>\r\n"


def catalog(device_id: str, sn: int, sum_num: int, items: Iterable[CatalogItem], *, notify: bool = False,
            encoding: str = "GB2312", declared: str | None = None) -> bytes:
    """One catalog message (a device splits a long catalog into several, each with SumNum)."""
    its = list(items)
    tail = f'<DeviceList Num="{len(its)}">\r\n' + "".join(_item_xml(i) for i in its) + "</DeviceList>\r\n"
    return _doc("Notify" if notify else "Response",
                [("CmdType", "Catalog"), ("SN", str(sn)), ("DeviceID", device_id), ("SumNum", str(sum_num))],
                tail, encoding=encoding, declared=declared)


def device_status(device_id: str, sn: int, *, online: bool = True, encoding: str = "GB2312") -> bytes:
    return _doc("Response", [("CmdType", "DeviceStatus"), ("SN", str(sn)), ("DeviceID", device_id), ("Result", "OK"),
                             ("Online", "ONLINE" if online else "OFFLINE"), ("Status", "OK"),
                             ("Encode", "ON"), ("Record", "OFF")], encoding=encoding)


def device_info(device_id: str, sn: int, *, name: str, manufacturer: str, model: str, firmware: str,
                channels: int, encoding: str = "GB2312") -> bytes:
    return _doc("Response", [("CmdType", "DeviceInfo"), ("SN", str(sn)), ("DeviceID", device_id),
                             ("DeviceName", name), ("Result", "OK"), ("Manufacturer", manufacturer),
                             ("Model", model), ("Firmware", firmware), ("Channel", str(channels))], encoding=encoding)
