"""One inventory row: raw cells in, typed record (or located issues) out. Pure functions."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from inventory.access import Access, parse_access
from inventory.fields import CAMERA_MARKERS, CAMERA_RECORD, MAX_LEN, Parse
from inventory.gbid import GbIdError, parse_gb_id
from inventory.messages import Issue, Severity
from inventory.models import Lifecycle, RegionLevel
from inventory.reader import CellValue, RawRow
from inventory.record import INDEX, CameraRecord
from inventory.regions import RegionCodeError, parse_code
from inventory.secrets import bad_env_reference
from probes.redact import masked_secret, redact_url

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$")
_TRUE = {"是", "y", "yes", "true", "1", "规划", "已规划", "√", "t"}
_FALSE = {"否", "n", "no", "false", "0", "未规划", "不规划", "×", "f"}
LIFECYCLE_WORDS = {
    Lifecycle.ACTIVE: {"在用", "正常", "启用", "在线", "active", "在建"},
    Lifecycle.MAINTENANCE: {"维护", "维修", "检修", "maintenance"},
    Lifecycle.RETIRED: {"退役", "停用", "拆除", "报废", "retired"},
}
LIFECYCLE_ZH = {Lifecycle.ACTIVE: "在用", Lifecycle.MAINTENANCE: "维护", Lifecycle.RETIRED: "退役"}

_SCIENTIFIC = re.compile(r"\d+(\.\d+)?[eE]\+?\d+")


@dataclass(frozen=True, slots=True)
class RegionIn:
    name: str
    code: str | None  # normalised; None when the file gave none
    standard: bool = False


@dataclass(frozen=True, slots=True)
class PointIn:
    name: str
    kind: str | None
    planned: bool | None  # None: not given
    lon: float | None
    lat: float | None


@dataclass(frozen=True, slots=True)
class ParentIn:
    name: str
    host: str


@dataclass(frozen=True, slots=True)
class CameraIn:
    """A camera as the row gives it: its record, and the password and parent the plan resolves."""

    record: CameraRecord
    password: str | None = field(repr=False)
    parent: ParentIn | None
    # The column whose RTSP path holds the mask ``***`` (an export's: "rtsp_path" or "rtsp_url"),
    # None when it holds none: the plan puts the stored camera's path back, or refuses the row.
    masked: str | None = None


@dataclass(frozen=True, slots=True)
class RowIn:
    row: int
    county: RegionIn
    township: RegionIn
    village: RegionIn
    point: PointIn
    camera: CameraIn | None


@dataclass(frozen=True, slots=True)
class RowRef:
    """A row with errors, as far as it still tells which camera it stands for: its county, and its
    GB ID and address where those cells are sound (else None). The plan does not retire that camera."""

    row: int
    county: RegionIn
    gb_id: str | None
    address: tuple[str | None, int, str] | None


# A date in an XLSX cell formatted as a number (General) is Excel's serial: days since 1899-12-30;
# serials of 1900-01-01 to 9999-12-31 (a number such as 20240501 is read as text: YYYYMMDD).
EXCEL_EPOCH = dt.date(1899, 12, 30)
EXCEL_SERIALS = (2, 2958466)


def cell_text(value: CellValue) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def format_address(address: tuple[str | None, int, str]) -> str:
    """A camera's address as messages show it: a password in the path's query (Dahua-style
    ``?user=admin&password=...``) as ``***``."""
    host, port, path = address
    if host is None:
        return "-"  # a GB28181-only camera without an address
    h = f"[{host}]" if ":" in host else host
    return redact_url(f"{h}:{port}{path}")


class _RowParser:
    def __init__(self, raw: RawRow, headers: dict[str, str]) -> None:
        self.raw = raw
        self.headers = headers
        self.issues: list[Issue] = []

    def issue(self, key: str, msg: str, severity: Severity = Severity.ERROR, /, **params: object) -> None:
        self.issues.append(Issue(severity, msg, self.raw.number, self.headers.get(key, key), params))

    def text(self, key: str) -> str:
        v = cell_text(self.raw.values.get(key, ""))
        limit = MAX_LEN.get(key)
        if limit is not None and len(v) > limit:
            self.issue(key, "too_long", max=limit)
        return v

    def opt(self, key: str) -> str | None:
        return self.text(key) or None

    def port(self, key: str) -> int | None:
        n = self._number(key, int, "bad_int", 1, 65535, "bad_port")
        return None if n is None else int(n)

    def number(self, key: str, lo: float, hi: float, code: str) -> float | None:
        return self._number(key, float, "bad_float", lo, hi, code)

    def _number(self, key: str, conv: Callable[[str], float], bad: str, lo: float, hi: float,
                out_of_range: str) -> float | None:
        t = self.text(key)
        if not t:
            return None
        try:
            n = conv(t)
        except ValueError:
            self.issue(key, bad, value=t)
            return None
        if not lo <= n <= hi or n != n:
            self.issue(key, out_of_range, value=t)
            return None
        return n

    def region(self, key: str, code_key: str, level: RegionLevel) -> RegionIn:
        name = self.text(key)
        if not name:
            self.issue(key, "required")
        code_txt = self.text(code_key)
        if not code_txt:
            return RegionIn(name, None)
        try:
            code = parse_code(code_txt, level)
        except RegionCodeError as exc:
            self.issues.append(Issue(Severity.ERROR, exc.code, self.raw.number, self.headers.get(code_key, code_key), dict(exc.params)))
            return RegionIn(name, None)
        return RegionIn(name, code.value, code.standard)

    def boolean(self, key: str) -> bool | None:
        t = self.text(key).lower()
        if not t:
            return None
        if t in _TRUE:
            return True
        if t in _FALSE:
            return False
        self.issue(key, "bad_bool", value=t)
        return None

    def lifecycle(self, key: str = "lifecycle") -> Lifecycle:
        t = self.text(key).lower()
        if not t:
            return Lifecycle.ACTIVE
        for lc, words in LIFECYCLE_WORDS.items():
            if t in words:
                return lc
        self.issue(key, "bad_lifecycle", value=t)
        return Lifecycle.ACTIVE

    def access(self, key: str = "access") -> Access:
        t = self.text(key)
        found = parse_access(t)
        if found is None:
            self.issue(key, "bad_access", value=t)
        return found or Access.DIRECT

    def date(self, key: str) -> dt.date | None:
        v = self.raw.values.get(key, "")
        if isinstance(v, dt.datetime):
            return v.date()
        if isinstance(v, dt.date):
            return v
        if isinstance(v, int | float) and not isinstance(v, bool) and EXCEL_SERIALS[0] <= v < EXCEL_SERIALS[1]:
            return EXCEL_EPOCH + dt.timedelta(days=int(v))  # (a date in a cell formatted as a number)
        t = cell_text(v)
        if not t:
            return None
        for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S"):
            try:
                return dt.datetime.strptime(t, fmt).date()
            except ValueError:
                continue
        self.issue(key, "bad_date", value=t)
        return None

    def host(self, key: str, value: str) -> str | None:
        v = value.strip("[]")
        try:
            return str(ipaddress.ip_address(v))
        except ValueError:
            pass
        if _HOSTNAME.match(v) and not v.replace(".", "").isdigit():
            return v.lower()
        self.issue(key, "bad_host", value=value)
        return None

    def mac_address(self, key: str) -> str | None:
        mac = self.opt(key)
        if mac is None:
            return None
        if not _MAC.match(mac):
            self.issue(key, "bad_mac", value=mac)
            return mac
        hexes = re.sub(r"[^0-9A-Fa-f]", "", mac).upper()
        return ":".join(hexes[i : i + 2] for i in range(0, 12, 2))


# How a plain camera field's cell is parsed, by the table's ``parse``.
_PLAIN: dict[Parse, Callable[[_RowParser, str], object]] = {
    Parse.TEXT: _RowParser.opt,
    Parse.PORT: _RowParser.port,
    Parse.DATE: _RowParser.date,
    Parse.LIFECYCLE: _RowParser.lifecycle,
    Parse.MAC: _RowParser.mac_address,
    Parse.ACCESS: _RowParser.access,
}
# The fields _parse_camera reads itself (defaults, the RTSP URL); every other record field is plain.
_GIVEN = ("name", "gb_id", "host", "rtsp_port", "rtsp_path", "username")
_NAME, _GB_ID, _HOST, _PORT, _PATH, _USER = (INDEX[a] for a in _GIVEN)
_ADDRESS_KEYS = ("host", "rtsp_port", "rtsp_path", "rtsp_url")  # the cells a camera's address is read from
_STEPS: tuple[tuple[str, Callable[[_RowParser, str], object] | None], ...] = tuple(
    (f.key, None if f.key in _GIVEN else _PLAIN[f.parse]) for f in CAMERA_RECORD
)


def parse_row(raw: RawRow, headers: dict[str, str]) -> tuple[RowIn | None, list[Issue]]:
    """Parse one raw row. Returns the record (None when it has errors) and its issues."""
    p = _RowParser(raw, headers)
    county = p.region("county", "county_code", RegionLevel.COUNTY)
    township = p.region("township", "township_code", RegionLevel.TOWNSHIP)
    village = p.region("village", "village_code", RegionLevel.VILLAGE)
    point_name = p.text("point")
    lon = p.number("lon", -180, 180, "bad_lon")
    lat = p.number("lat", -90, 90, "bad_lat")
    if (lon is None) != (lat is None) and not p.issues:
        p.issue("lon" if lon is None else "lat", "lonlat_pair")
    elif lon is not None and lat is not None and not (73 <= lon <= 136 and 3 <= lat <= 54):
        p.issue("lon", "lonlat_outside_china", Severity.WARNING, lon=lon, lat=lat)
    point = PointIn(point_name, p.opt("point_kind"), p.boolean("planned"), lon, lat)

    has_camera = any(cell_text(raw.values.get(k, "")) for k in CAMERA_MARKERS)
    camera: CameraIn | None = None
    if not point_name:
        p.issue("point", "camera_without_point" if has_camera else "required")
    if has_camera:
        camera = _parse_camera(p, point_name)
    if any(i.severity is Severity.ERROR for i in p.issues):
        return None, p.issues
    return RowIn(raw.number, county, township, village, point, camera), p.issues


def _gb_id(p: _RowParser) -> tuple[CellValue, str | None]:
    """The GB ID cell as read, and the ID (None when empty or wrong, reported)."""
    gb_raw = p.raw.values.get("gb_id", "")
    t = cell_text(gb_raw)
    numeric = isinstance(gb_raw, (int, float)) and not isinstance(gb_raw, bool) and len(t) != 20 or isinstance(gb_raw, float)
    if numeric or _SCIENTIFIC.fullmatch(t):  # (a CSV saved by Excel: "1.30123E+19", digits lost too)
        p.issue("gb_id", "number_gb_id")
    elif t:
        try:
            return gb_raw, parse_gb_id(t).value
        except GbIdError as exc:
            p.issue("gb_id", exc.code, **exc.params)
    return gb_raw, None


def row_ref(raw: RawRow, headers: dict[str, str]) -> RowRef | None:
    """What a row with errors says of its camera (see :class:`RowRef`); None when it has no camera."""
    if not any(cell_text(raw.values.get(k, "")) for k in CAMERA_MARKERS):
        return None
    p = _RowParser(raw, headers)
    county = p.region("county", "county_code", RegionLevel.COUNTY)
    gb_id = _gb_id(_RowParser(raw, headers))[1]
    cam = _parse_camera(p, "-")
    wrong = {i.column for i in p.issues if i.severity is Severity.ERROR}
    if cam is None or cam.record.address[0] is None or wrong & {headers.get(k, k) for k in _ADDRESS_KEYS}:
        return RowRef(raw.number, county, gb_id, None)
    return RowRef(raw.number, county, gb_id, cam.record.address)


def _parse_camera(p: _RowParser, point_name: str) -> CameraIn | None:
    gb_raw, gb_id = _gb_id(p)
    host_txt = p.text("host")
    port = p.port("rtsp_port")
    path_txt = p.text("rtsp_path")
    path_column = "rtsp_path" if path_txt else "rtsp_url"
    username = p.opt("username")
    password = p.opt("password")
    if password is not None and bad_env_reference(password):  # (not echoed: it might be a password after all)
        p.issue("password", "password_env_name")
    url_txt = p.text("rtsp_url")
    host: str | None = p.host("host", host_txt) if host_txt else None
    if url_txt:
        parts = _split_rtsp_url(p, url_txt)
        if parts is not None:
            u_host, u_port, u_path, u_user, u_pass = parts
            for key, mine, theirs in (("host", host, u_host), ("rtsp_port", port, u_port), ("rtsp_path", path_txt or None, u_path if path_txt else None), ("username", username, u_user), ("password", password, u_pass)):
                if mine is not None and theirs is not None and mine != theirs:
                    p.issue("rtsp_url", "rtsp_url_conflict", column=p.headers.get(key, key))
            host = host or u_host
            port = port or u_port
            path_txt = path_txt or u_path or ""
            username = username or u_user
            password = password or u_pass
    access = parse_access(p.text("access"))  # read again (and reported) with the other fields below
    if host is None:
        if host_txt or url_txt:
            return None  # a bad address, reported
        if access is not Access.GB28181:  # direct and both are probed: they need an address
            p.issue("host", "camera_without_address")
            return None
        port, path_txt = None, ""  # GB28181 only: its GB ID is required instead (access_needs_gb_id)
    path = path_txt or "/"
    if not path.startswith("/"):
        path = "/" + path
    if any(c.isspace() for c in path):  # (the RTSP request line would break at it)
        p.issue(path_column, "rtsp_path_space")
    parent: ParentIn | None = None
    parent_txt = p.text("parent")
    if parent_txt:
        name, _, addr = parent_txt.rpartition("@")
        addr = addr.strip()
        checker = _RowParser(p.raw, p.headers)
        parent_host = checker.host("parent", addr) if addr else None
        if parent_host is None:
            p.issue("parent", "bad_parent", value=parent_txt)
        else:
            parent = ParentIn(name.strip() or parent_host, parent_host)
    name = p.text("name") or point_name
    values = [None if parse is None else parse(p, k) for k, parse in _STEPS]
    values[_NAME], values[_GB_ID], values[_HOST] = name, gb_id, host
    values[_PORT], values[_PATH], values[_USER] = port or 554, path, username
    if values[INDEX["access"]] is not Access.DIRECT and gb_id is None and not cell_text(gb_raw):
        p.issue("gb_id", "access_needs_gb_id")
    record = CameraRecord(tuple(values))
    return CameraIn(record, password, parent, path_column if masked_secret(path) else None)


def _split_rtsp_url(p: _RowParser, url: str) -> tuple[str, int | None, str | None, str | None, str | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        p.issue("rtsp_url", "bad_rtsp_url", value=redact_url(url))
        return None
    if parts.scheme.lower() not in ("rtsp", "rtsps") or not parts.hostname:
        p.issue("rtsp_url", "bad_rtsp_url", value=redact_url(url))
        return None
    host = p.host("rtsp_url", parts.hostname)
    if host is None:
        return None
    path = parts.path or None
    if parts.query:
        path = (path or "/") + "?" + parts.query
    user = unquote(parts.username) if parts.username else None
    pw = unquote(parts.password) if parts.password is not None else None
    return host, port, path, user, pw

