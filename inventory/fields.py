"""The inventory's fields, declared once (DESIGN §6).

One entry per column of an inventory file: its key, Chinese and English headers and aliases,
how a cell is parsed, its length limit, whether the file must have it and whether export
writes it, and the model attribute it is stored in. Everything else is derived from this
table: the header lookup (:mod:`inventory.columns`), the export columns
(:mod:`inventory.export`), the camera record that rows, the stored-state snapshot and the plan
carry (:mod:`inventory.record`), and the columns the plan compares.

Adding a camera field is one entry here (``owner=CAMERA``, ``stored`` = its attribute), the
column in :class:`inventory.models.Camera` and a migration; ``tests/inventory/test_fields.py``
checks that the table and the model agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Owner(StrEnum):
    """What a column describes: the row's regions, its point, or its camera."""

    REGION = "region"
    POINT = "point"
    CAMERA = "camera"


class Parse(StrEnum):
    """How a cell is read (see :mod:`inventory.rows`) and written back (:mod:`inventory.export`)."""

    TEXT = "text"  # trimmed text; an empty cell is None
    REGION_CODE = "region_code"  # a statistical region code or a custom one
    BOOL = "bool"  # 是/否, yes/no
    LON = "lon"  # a number in -180..180
    LAT = "lat"  # a number in -90..90
    PORT = "port"  # an integer in 1..65535
    GB_ID = "gb_id"  # a 20-digit GB/T 28181 ID
    HOST = "host"  # an IP address or a host name
    RTSP_URL = "rtsp_url"  # rtsp://[user[:password]@]host[:port]/path
    SECRET = "secret"  # a password (or env:NAME), stored encrypted
    MAC = "mac"
    LIFECYCLE = "lifecycle"  # 在用/维护/退役
    PARENT = "parent"  # name@host of an upstream device
    DATE = "date"
    ACCESS = "access"  # 接入方式: 直连/国标/两者 (direct/GB28181/both)


# The Python type a stored field has, by how it is parsed (the model test compares them).
PYTHON_TYPE: dict[Parse, str] = {
    Parse.TEXT: "str", Parse.REGION_CODE: "str", Parse.BOOL: "bool", Parse.LON: "float",
    Parse.LAT: "float", Parse.PORT: "int", Parse.GB_ID: "str", Parse.HOST: "str",
    Parse.MAC: "str", Parse.LIFECYCLE: "Lifecycle", Parse.DATE: "date",
    Parse.ACCESS: "Access",
}


@dataclass(frozen=True, slots=True)
class Field:
    key: str  # canonical column key
    zh: str  # Chinese header (the default)
    en: str  # English header
    aliases: tuple[str, ...] = ()
    owner: Owner = Owner.CAMERA
    parse: Parse = Parse.TEXT
    max_len: int | None = None
    required: bool = False  # the file must have this column
    export: bool = True  # `inventory export` writes this column
    # The attribute of the owner's model that holds the value as is; None when it is not
    # stored one to one (region names and codes, rtsp_url, the password, the parent device).
    stored: str | None = None
    optional: bool = True  # the stored value may be None
    from_url: bool = False  # an RTSP URL in the row can give this value too
    marks_camera: bool = False  # a non-empty cell means the row has a camera


_R, _P, _C = Owner.REGION, Owner.POINT, Owner.CAMERA

FIELDS: tuple[Field, ...] = (
    Field("county_code", "县/区代码", "county_code", ("县区代码", "县代码", "区县代码", "区代码"), _R, Parse.REGION_CODE),
    Field("county", "县/区", "county", ("县区", "县", "区", "区县", "县(区)", "district"), _R, max_len=128, required=True),
    Field("township_code", "乡镇/街道代码", "township_code", ("乡镇代码", "街道代码", "乡镇街道代码"), _R, Parse.REGION_CODE),
    Field("township", "乡镇/街道", "township", ("乡镇", "街道", "乡镇街道", "乡镇(街道)", "town"), _R, max_len=128, required=True),
    Field("village_code", "村/社区代码", "village_code", ("村代码", "社区代码", "村社区代码", "区划代码", "统计用区划代码"), _R, Parse.REGION_CODE),
    Field("village", "村/社区", "village", ("村", "社区", "村社区", "行政村", "村(社区)", "community"), _R, max_len=128, required=True),
    Field("point", "点位名称", "point", ("点位", "point_name", "监控点位"), _P, max_len=128, required=True),
    Field("point_kind", "点位类型", "point_kind", ("点位分类",), _P, max_len=64, stored="kind"),
    Field("planned", "是否规划", "planned", ("规划",), _P, Parse.BOOL, stored="planned", optional=False),
    Field("lon", "经度", "lon", ("longitude", "lng"), _P, Parse.LON, stored="lon"),
    Field("lat", "纬度", "lat", ("latitude",), _P, Parse.LAT, stored="lat"),
    Field("name", "摄像机名称", "name", ("设备名称", "camera", "camera_name", "摄像头名称"), max_len=128, stored="name", optional=False, marks_camera=True),
    Field("gb_id", "国标编码", "gb_id", ("国标id", "国标编号", "国标", "gb28181", "gb28181_id", "设备编码"), parse=Parse.GB_ID, stored="gb_id", marks_camera=True),
    Field("access", "接入方式", "access", ("接入协议", "接入类型", "access_mode"), parse=Parse.ACCESS, stored="access", optional=False),
    Field("host", "IP地址", "host", ("ip", "ip_address", "设备ip", "地址"), parse=Parse.HOST, max_len=255, stored="host", from_url=True, marks_camera=True),  # None: GB28181 only
    Field("rtsp_port", "RTSP端口", "rtsp_port", parse=Parse.PORT, stored="rtsp_port", optional=False, from_url=True),
    Field("rtsp_path", "RTSP路径", "rtsp_path", max_len=512, stored="rtsp_path", optional=False, from_url=True),
    Field("rtsp_url", "RTSP地址", "rtsp_url", ("rtsp", "取流地址", "rtsp_uri"), parse=Parse.RTSP_URL, export=False, marks_camera=True),
    Field("onvif_port", "ONVIF端口", "onvif_port", parse=Parse.PORT, stored="onvif_port"),
    Field("username", "用户名", "username", ("user", "账号", "帐号", "登录名", "登录用户名", "登录账号", "登录帐号", "login"),
          max_len=128, stored="username", from_url=True),
    Field("password", "密码", "password", ("口令", "登录密码", "设备密码", "passwd", "pwd"), parse=Parse.SECRET,
          max_len=256, from_url=True),
    Field("vendor", "厂商", "vendor", ("品牌", "manufacturer", "生产厂商"), max_len=64, stored="vendor"),
    Field("model", "型号", "model", ("设备型号",), max_len=128, stored="model"),
    Field("firmware", "固件版本", "firmware", ("固件",), max_len=128, stored="firmware"),
    Field("serial", "序列号", "serial", ("serial_number",), max_len=128, stored="serial"),
    Field("mac", "MAC地址", "mac", ("mac_address",), parse=Parse.MAC, stored="mac"),
    Field("contractor", "运维单位", "contractor", ("运维公司", "维护单位"), max_len=128, stored="contractor"),
    Field("lifecycle", "状态", "lifecycle", ("设备状态", "status"), parse=Parse.LIFECYCLE, stored="lifecycle", optional=False),
    Field("parent", "上联设备", "parent", ("upstream", "parent_device", "上联"), parse=Parse.PARENT, max_len=300),
    Field("installed_on", "安装日期", "installed_on", ("install_date", "安装时间"), parse=Parse.DATE, stored="installed_on"),
)

BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}
# Region columns and the point are required; an address (host or RTSP URL) too when a row has a camera.
REQUIRED: tuple[str, ...] = tuple(f.key for f in FIELDS if f.required)
EXPORT_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.export)
MAX_LEN: dict[str, int] = {f.key: f.max_len for f in FIELDS if f.max_len is not None}
# Columns whose cells identify a camera: any of them non-empty means the row has one.
CAMERA_MARKERS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.marks_camera)
# The camera's fields stored one to one on the camera: what a row, the stored state and the
# plan carry as a :class:`inventory.record.CameraRecord` (in this order).
CAMERA_RECORD: tuple[Field, ...] = tuple(f for f in FIELDS if f.owner is Owner.CAMERA and f.stored)
# The point's fields stored one to one on the point: model attribute -> column key.
POINT_COLUMN: dict[str, str] = {f.stored: f.key for f in FIELDS if f.owner is Owner.POINT and f.stored}


def header_label(key: str, lang: str) -> str:
    f = BY_KEY[key]
    return f.en if lang == "en" else f.zh
