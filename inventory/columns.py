"""Inventory file columns: canonical keys, their Chinese and English headers, and aliases."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("county_code", "县/区代码", "county_code", ("县区代码", "县代码", "区县代码", "区代码")),
    Column("county", "县/区", "county", ("县区", "县", "区", "区县", "县(区)", "district")),
    Column("township_code", "乡镇/街道代码", "township_code", ("乡镇代码", "街道代码", "乡镇街道代码")),
    Column("township", "乡镇/街道", "township", ("乡镇", "街道", "乡镇街道", "乡镇(街道)", "town")),
    Column("village_code", "村/社区代码", "village_code", ("村代码", "社区代码", "村社区代码", "区划代码", "统计用区划代码")),
    Column("village", "村/社区", "village", ("村", "社区", "村社区", "行政村", "村(社区)", "community")),
    Column("point", "点位名称", "point", ("点位", "point_name", "监控点位")),
    Column("point_kind", "点位类型", "point_kind", ("点位分类",)),
    Column("planned", "是否规划", "planned", ("规划",)),
    Column("lon", "经度", "lon", ("longitude", "lng")),
    Column("lat", "纬度", "lat", ("latitude",)),
    Column("name", "摄像机名称", "name", ("设备名称", "camera", "camera_name", "摄像头名称")),
    Column("gb_id", "国标编码", "gb_id", ("国标id", "国标编号", "国标", "gb28181", "gb28181_id", "设备编码")),
    Column("host", "IP地址", "host", ("ip", "ip_address", "设备ip", "地址")),
    Column("rtsp_port", "RTSP端口", "rtsp_port", ()),
    Column("rtsp_path", "RTSP路径", "rtsp_path", ()),
    Column("rtsp_url", "RTSP地址", "rtsp_url", ("rtsp", "取流地址", "rtsp_uri")),
    Column("onvif_port", "ONVIF端口", "onvif_port", ()),
    Column("username", "用户名", "username", ("user", "账号")),
    Column("password", "密码", "password", ()),
    Column("vendor", "厂商", "vendor", ("品牌", "manufacturer", "生产厂商")),
    Column("model", "型号", "model", ("设备型号",)),
    Column("firmware", "固件版本", "firmware", ("固件",)),
    Column("serial", "序列号", "serial", ("serial_number",)),
    Column("mac", "MAC地址", "mac", ("mac_address",)),
    Column("contractor", "运维单位", "contractor", ("运维公司", "维护单位")),
    Column("lifecycle", "状态", "lifecycle", ("设备状态", "status")),
    Column("parent", "上联设备", "parent", ("upstream", "parent_device", "上联")),
    Column("installed_on", "安装日期", "installed_on", ("install_date", "安装时间")),
)

BY_KEY = {c.key: c for c in COLUMNS}
# Columns people keep in their sheets that carry nothing for us.
IGNORED = frozenset({"序号", "编号", "备注", "no", "no.", "#", "remark", "remarks", "notes", "note"})

# Region columns, a point, and an address (host or RTSP URL) are required.
REQUIRED = ("county", "township", "village", "point")

CAMERA_KEYS = (
    "name", "gb_id", "host", "rtsp_port", "rtsp_path", "rtsp_url", "onvif_port", "username",
    "password", "vendor", "model", "firmware", "serial", "mac", "contractor", "lifecycle",
    "parent", "installed_on",
)
# Columns whose cells identify a camera: any of them non-empty means the row has one.
CAMERA_MARKERS = ("name", "gb_id", "host", "rtsp_url")


def normalize_header(text: str) -> str:
    t = unicodedata.normalize("NFKC", str(text)).strip().lower()
    t = t.replace(" ", "").replace("\u3000", "").strip("*")
    return t


_LOOKUP: dict[str, str] = {}
for _c in COLUMNS:
    for _name in (_c.key, _c.zh, _c.en, *_c.aliases):
        _LOOKUP[normalize_header(_name)] = _c.key


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


def header_label(key: str, lang: str) -> str:
    c = BY_KEY[key]
    return c.en if lang == "en" else c.zh
