"""From parsed rows and the stored inventory to a plan of changes, or located errors.

Pure: takes the rows, the columns the file has, the stored state and a secret box, and
returns a :class:`Plan`. Nothing is written here; :mod:`inventory.apply` writes a plan
in one transaction, and only a plan without errors.

Column semantics: a column the file does not have leaves that field as stored; a column
it has but a cell left empty clears the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from inventory.gbid import gb_warnings, parse_gb_id
from inventory.messages import Issue, Severity
from inventory.models import Lifecycle, RegionLevel
from inventory.regions import check_ancestor, check_parent, county_prefix, derive_code
from inventory.rows import CameraIn, RegionIn, RowIn, format_address
from inventory.secrets import ENV_PREFIX, SecretBox
from inventory.state import CameraRow, InventoryState

LEVELS = (RegionLevel.COUNTY, RegionLevel.TOWNSHIP, RegionLevel.VILLAGE)
_REGION_COLS = {
    RegionLevel.COUNTY: ("county", "county_code"),
    RegionLevel.TOWNSHIP: ("township", "township_code"),
    RegionLevel.VILLAGE: ("village", "village_code"),
}
POINT_FIELDS = ("kind", "lon", "lat", "planned")
_POINT_COLUMN = {"kind": "point_kind", "lon": "lon", "lat": "lat", "planned": "planned"}
# Camera fields set from the file, with the column whose presence makes them authoritative.
CAMERA_COLUMN = {
    "name": "name", "gb_id": "gb_id", "onvif_port": "onvif_port", "username": "username",
    "vendor": "vendor", "model": "model", "firmware": "firmware", "serial": "serial",
    "mac": "mac", "contractor": "contractor", "lifecycle": "lifecycle",
    "installed_on": "installed_on",
}


@dataclass(frozen=True, slots=True)
class RegionNew:
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    derived: bool
    row: int


@dataclass(frozen=True, slots=True)
class RegionChange:
    code: str
    name: str
    parent_code: str | None
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PointNew:
    village_code: str
    name: str
    kind: str | None
    lon: float | None
    lat: float | None
    planned: bool
    row: int


@dataclass(frozen=True, slots=True)
class PointChange:
    id: int
    village_code: str
    name: str
    kind: str | None
    lon: float | None
    lat: float | None
    planned: bool
    retired: bool
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeviceNew:
    host: str
    name: str
    region_code: str
    row: int


@dataclass(frozen=True, slots=True)
class DeviceChange:
    id: int
    host: str
    name: str


@dataclass(frozen=True, slots=True)
class CameraValues:
    """Every stored field of a camera after the import; the point and parent by key."""

    point_key: tuple[str, str]
    parent_host: str | None
    name: str
    gb_id: str | None
    host: str
    rtsp_port: int
    rtsp_path: str
    onvif_port: int | None
    username: str | None
    credential_ref: str | None = field(repr=False)
    vendor: str | None
    model: str | None
    firmware: str | None
    serial: str | None
    mac: str | None
    contractor: str | None
    lifecycle: Lifecycle
    installed_on: dt.date | None


@dataclass(frozen=True, slots=True)
class CameraNew:
    values: CameraValues
    row: int


@dataclass(frozen=True, slots=True)
class CameraChange:
    id: int
    values: CameraValues
    fields: tuple[str, ...]
    row: int


@dataclass(frozen=True, slots=True)
class Retire:
    id: int
    name: str
    detail: str


@dataclass(slots=True, repr=False)
class Plan:
    issues: list[Issue] = field(default_factory=list)
    counties: set[str] = field(default_factory=set)
    region_new: list[RegionNew] = field(default_factory=list)
    region_changed: list[RegionChange] = field(default_factory=list)
    point_new: list[PointNew] = field(default_factory=list)
    point_changed: list[PointChange] = field(default_factory=list)
    point_retired: list[Retire] = field(default_factory=list)
    device_new: list[DeviceNew] = field(default_factory=list)
    device_changed: list[DeviceChange] = field(default_factory=list)
    camera_new: list[CameraNew] = field(default_factory=list)
    camera_changed: list[CameraChange] = field(default_factory=list)
    camera_retired: list[Retire] = field(default_factory=list)
    camera_unchanged: int = 0
    rows: int = 0

    def __repr__(self) -> str:
        # Counts only: a plan of 100k cameras must not be turned into text by accident.
        return (f"Plan(rows={self.rows}, issues={len(self.issues)}, regions +{len(self.region_new)}"
                f" ~{len(self.region_changed)}, points +{len(self.point_new)} ~{len(self.point_changed)}"
                f" -{len(self.point_retired)}, cameras +{len(self.camera_new)} ~{len(self.camera_changed)}"
                f" -{len(self.camera_retired)} ={self.camera_unchanged})")

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def empty(self) -> bool:
        return not any(
            (self.region_new, self.region_changed, self.point_new, self.point_changed,
             self.point_retired, self.device_new, self.device_changed, self.camera_new,
             self.camera_changed, self.camera_retired)
        )


class _Builder:
    def __init__(self, rows: list[RowIn], columns: dict[str, str], state: InventoryState,
                 box: SecretBox, retire_missing: bool) -> None:
        self.rows = rows
        self.columns = columns
        self.state = state
        self.box = box
        self.retire_missing = retire_missing
        self.plan = Plan(rows=len(rows))
        # resolved region code of each row and level
        self.resolved: dict[tuple[int, RegionLevel], str] = {}

    def error(self, row: int | None, key: str | None, msg: str, /, **params: object) -> None:
        col = self.columns.get(key, key) if key else None
        self.plan.issues.append(Issue(Severity.ERROR, msg, row, col, params))

    def warn(self, row: int | None, key: str | None, msg: str, /, **params: object) -> None:
        col = self.columns.get(key, key) if key else None
        self.plan.issues.append(Issue(Severity.WARNING, msg, row, col, params))

    # -- regions ---------------------------------------------------------------------------
    def regions(self) -> None:
        db_by_name: dict[tuple[RegionLevel, str | None, str], list[str]] = {}
        for r in self.state.regions.values():
            db_by_name.setdefault((r.level, r.parent_code, r.name), []).append(r.code)
        seen: dict[str, tuple[RegionLevel, str, str | None, int]] = {}
        for level in LEVELS:
            name_col, code_col = _REGION_COLS[level]
            # names given with explicit codes in the file, per parent
            explicit: dict[tuple[str | None, str], set[str]] = {}
            for row in self.rows:
                reg = self._region_of(row, level)
                parent = self._parent_code(row, level)
                if reg.code is not None and (parent is not None or level is RegionLevel.COUNTY):
                    explicit.setdefault((parent, reg.name), set()).add(reg.code)
            for row in self.rows:
                reg = self._region_of(row, level)
                parent = self._parent_code(row, level)
                if level is not RegionLevel.COUNTY and parent is None:
                    continue  # the parent failed; already reported
                code = reg.code
                derived = False
                if code is None:
                    cands = explicit.get((parent, reg.name)) or set(db_by_name.get((level, parent, reg.name), []))
                    if len(cands) > 1:
                        self.error(row.row, code_col, "region_ambiguous", name=reg.name, codes="、".join(sorted(cands)))
                        continue
                    if cands:
                        code = next(iter(cands))
                    else:
                        code = derive_code(level, parent, reg.name)
                        derived = True
                elif parent is not None and not check_parent(code, level, parent):
                    self.error(row.row, code_col, "region_parent_mismatch", code=code, parent=parent)
                    continue
                elif level is RegionLevel.VILLAGE:
                    county = self.resolved.get((row.row, RegionLevel.COUNTY))
                    if county is not None and not check_ancestor(code, county, RegionLevel.COUNTY):
                        self.error(row.row, code_col, "region_parent_mismatch", code=code, parent=county)
                        continue
                prev = seen.get(code)
                if prev is not None:
                    p_level, p_name, p_parent, p_row = prev
                    if p_level is not level:
                        self.error(row.row, code_col, "region_level_conflict", code=code, actual=p_level.value)
                        continue
                    if p_name != reg.name:
                        self.error(row.row, name_col, "region_name_conflict", code=code, other=p_name, other_row=p_row, name=reg.name)
                        continue
                    if p_parent != parent:
                        self.error(row.row, name_col, "region_parent_conflict", code=code, name=reg.name, other_row=p_row)
                        continue
                else:
                    stored = self.state.regions.get(code)
                    if stored is not None and stored.level is not level:
                        self.error(row.row, code_col, "region_level_conflict", code=code, actual=stored.level.value)
                        continue
                    seen[code] = (level, reg.name, parent, row.row)
                    if stored is None:
                        self.plan.region_new.append(RegionNew(code, reg.name, level, parent, derived, row.row))
                    else:
                        changed = tuple(
                            f for f, a, b in (("name", stored.name, reg.name), ("parent_code", stored.parent_code, parent)) if a != b
                        )
                        if changed:
                            self.plan.region_changed.append(RegionChange(code, reg.name, parent, changed))
                self.resolved[(row.row, level)] = code
                if level is RegionLevel.COUNTY:
                    self.plan.counties.add(code)

    @staticmethod
    def _region_of(row: RowIn, level: RegionLevel) -> RegionIn:
        return getattr(row, level.value)  # type: ignore[no-any-return]

    def _parent_code(self, row: RowIn, level: RegionLevel) -> str | None:
        if level is RegionLevel.COUNTY:
            return None
        parent_level = RegionLevel.COUNTY if level is RegionLevel.TOWNSHIP else RegionLevel.TOWNSHIP
        return self.resolved.get((row.row, parent_level))

    # -- points ----------------------------------------------------------------------------
    def points(self) -> dict[tuple[str, str], int]:
        """Merge point attributes over rows; returns the first row of each point."""
        merged: dict[tuple[str, str], dict[str, object]] = {}
        first_row: dict[tuple[str, str], int] = {}
        field_row: dict[tuple[tuple[str, str], str], int] = {}
        for row in self.rows:
            village = self.resolved.get((row.row, RegionLevel.VILLAGE))
            if village is None:
                continue
            key = (village, row.point.name)
            attrs = merged.setdefault(key, {f: None for f in POINT_FIELDS})
            first_row.setdefault(key, row.row)
            for f in POINT_FIELDS:
                v = getattr(row.point, f)
                if v is None:
                    continue
                if attrs[f] is None:
                    attrs[f] = v
                    field_row[(key, f)] = row.row
                elif attrs[f] != v:
                    self.error(row.row, _POINT_COLUMN[f], "point_conflict", point=row.point.name, field=f, other_row=field_row[(key, f)])
        stored = {(p.village_code, p.name): p for p in self.state.points.values()}
        for key, attrs in merged.items():
            old = stored.get(key)
            new_vals = {}
            for f in POINT_FIELDS:
                present = _POINT_COLUMN[f] in self.columns
                if present:
                    v = attrs[f]
                    new_vals[f] = True if (f == "planned" and v is None) else v
                else:
                    new_vals[f] = getattr(old, f) if old is not None else (True if f == "planned" else None)
            if old is None:
                self.plan.point_new.append(PointNew(key[0], key[1], new_vals["kind"], new_vals["lon"], new_vals["lat"], bool(new_vals["planned"]), first_row[key]))  # type: ignore[arg-type]
            else:
                changed = tuple(f for f in POINT_FIELDS if getattr(old, f) != new_vals[f])
                if old.retired:
                    changed += ("retired",)
                if changed:
                    self.plan.point_changed.append(PointChange(old.id, key[0], key[1], new_vals["kind"], new_vals["lon"], new_vals["lat"], bool(new_vals["planned"]), False, changed))  # type: ignore[arg-type]
        if self.retire_missing:
            for key, old in stored.items():
                if key in merged or old.retired:
                    continue
                if self.state.county_of(old.village_code) in self.plan.counties:
                    self.plan.point_retired.append(Retire(old.id, old.name, old.village_code))
        return first_row

    # -- devices ---------------------------------------------------------------------------
    def devices(self) -> None:
        by_host = {d.host: d for d in self.state.devices.values()}
        seen: dict[str, tuple[str, int]] = {}
        for row in self.rows:
            cam = row.camera
            if cam is None or cam.parent is None:
                continue
            host, name = cam.parent.host, cam.parent.name
            if host in seen:
                if seen[host][0] != name:
                    self.error(row.row, "parent", "parent_conflict", value=host, other_row=seen[host][1])
                continue
            seen[host] = (name, row.row)
            old = by_host.get(host)
            if old is None:
                village = self.resolved.get((row.row, RegionLevel.VILLAGE))
                if village is not None:
                    self.plan.device_new.append(DeviceNew(host, name, village, row.row))
            elif old.name != name:
                self.plan.device_changed.append(DeviceChange(old.id, host, name))

    # -- cameras ---------------------------------------------------------------------------
    def cameras(self) -> None:
        st = self.state
        by_gb = {c.gb_id: c for c in st.cameras.values() if c.gb_id}
        by_addr = {c.address: c for c in st.cameras.values()}
        point_keys = {p.id: (p.village_code, p.name) for p in st.points.values()}
        device_host = {d.id: d.host for d in st.devices.values()}
        file_gb: dict[str, int] = {}
        file_addr: dict[tuple[str, int, str], int] = {}
        claimed: dict[int, int] = {}
        matched: list[tuple[RowIn, CameraIn, CameraRow | None]] = []
        needs_key = False
        for row in self.rows:
            cam = row.camera
            if cam is None or (row.row, RegionLevel.VILLAGE) not in self.resolved:
                continue
            bad = False
            if cam.gb_id is not None:
                if cam.gb_id in file_gb:
                    self.error(row.row, "gb_id", "duplicate_gb_id", value=cam.gb_id, other_row=file_gb[cam.gb_id])
                    bad = True
                else:
                    file_gb[cam.gb_id] = row.row
                county = county_prefix(self.resolved[(row.row, RegionLevel.COUNTY)])
                for code, params in gb_warnings(parse_gb_id(cam.gb_id), county):
                    self.warn(row.row, "gb_id", code, **params)
            if cam.address in file_addr:
                self.error(row.row, "host", "duplicate_address", value=format_address(cam.address), other_row=file_addr[cam.address])
                bad = True
            else:
                file_addr[cam.address] = row.row
            if bad:
                continue
            old = by_gb.get(cam.gb_id) if cam.gb_id else None
            if old is None:
                old = by_addr.get(cam.address)
            if old is not None:
                if old.id in claimed:
                    self.error(row.row, "gb_id" if cam.gb_id else "host", "db_address_conflict", value=format_address(cam.address), camera_id=old.id)
                    continue
                claimed[old.id] = row.row
            if cam.password is not None and not cam.password.startswith(ENV_PREFIX):
                needs_key = True
            matched.append((row, cam, old))
        if needs_key and not self.box.can_encrypt:
            self.error(None, "password", "no_secret_key")
            return
        # Final uniqueness: a camera keeps its address/GB ID unless a row changes it.
        final_addr = {c.address: c.id for c in st.cameras.values() if c.id not in claimed}
        final_gb = {c.gb_id: c.id for c in st.cameras.values() if c.gb_id and c.id not in claimed}
        for row, cam, old in matched:
            values = self._values(row, cam, old, point_keys, device_host)
            addr = (values.host, values.rtsp_port, values.rtsp_path)
            other = final_addr.get(addr)
            if other is not None:
                self.error(row.row, "host", "db_address_conflict", value=format_address(addr), camera_id=other)
                continue
            if values.gb_id and values.gb_id in final_gb:
                self.error(row.row, "gb_id", "db_gb_conflict", value=values.gb_id, camera_id=final_gb[values.gb_id])
                continue
            if old is None:
                self.plan.camera_new.append(CameraNew(values, row.row))
                continue
            changed = self._diff(old, values, point_keys, device_host)
            if changed:
                self.plan.camera_changed.append(CameraChange(old.id, values, changed, row.row))
            else:
                self.plan.camera_unchanged += 1
        if self.retire_missing:
            for c in st.cameras.values():
                if c.id in claimed or c.lifecycle is Lifecycle.RETIRED:
                    continue
                village = point_keys.get(c.point_id, ("", ""))[0]
                if st.county_of(village) in self.plan.counties:
                    self.plan.camera_retired.append(Retire(c.id, c.name, format_address(c.address)))

    def _values(self, row: RowIn, cam: CameraIn, old: CameraRow | None,
                point_keys: dict[int, tuple[str, str]], device_host: dict[int, str]) -> CameraValues:
        vals: dict[str, object] = {}
        for f, col in CAMERA_COLUMN.items():
            present = col in self.columns or (f == "username" and cam.username is not None)
            vals[f] = getattr(cam, f) if (present or old is None) else getattr(old, f)
        pw_present = "password" in self.columns or cam.password is not None
        if pw_present:
            if old is not None and self.box.same(old.credential_ref, cam.password):
                ref = old.credential_ref
            else:
                ref = self.box.store(cam.password) if cam.password is not None else None
            if cam.password is not None and cam.password.startswith(ENV_PREFIX):
                import os

                if cam.password[len(ENV_PREFIX):] not in os.environ:
                    self.warn(row.row, "password", "password_env_missing", name=cam.password[len(ENV_PREFIX):])
        else:
            ref = old.credential_ref if old is not None else None
        if "parent" in self.columns or cam.parent is not None:
            parent = cam.parent.host if cam.parent else None
        else:
            parent = device_host.get(old.parent_device_id) if old and old.parent_device_id else None
        village = self.resolved[(row.row, RegionLevel.VILLAGE)]
        return CameraValues(
            point_key=(village, row.point.name), parent_host=parent, host=cam.host,
            rtsp_port=cam.rtsp_port, rtsp_path=cam.rtsp_path, credential_ref=ref, **vals,  # type: ignore[arg-type]
        )

    @staticmethod
    def _diff(old: CameraRow, new: CameraValues, point_keys: dict[int, tuple[str, str]],
              device_host: dict[int, str]) -> tuple[str, ...]:
        out = []
        for f in ("name", "gb_id", "host", "rtsp_port", "rtsp_path", "onvif_port", "username",
                  "vendor", "model", "firmware", "serial", "mac", "contractor", "lifecycle", "installed_on"):
            if getattr(old, f) != getattr(new, f):
                out.append(f)
        if old.credential_ref != new.credential_ref:
            out.append("password")
        if point_keys.get(old.point_id) != new.point_key:
            out.append("point")
        old_parent = device_host.get(old.parent_device_id) if old.parent_device_id else None
        if old_parent != new.parent_host:
            out.append("parent")
        return tuple(out)


def build_plan(rows: list[RowIn], columns: dict[str, str], state: InventoryState, box: SecretBox,
               *, retire_missing: bool = True, issues: list[Issue] | None = None) -> Plan:
    """Validate rows across the file and against the stored inventory; compute the changes."""
    b = _Builder(rows, columns, state, box, retire_missing)
    if issues:
        b.plan.issues.extend(issues)
    b.regions()
    b.points()
    b.devices()
    b.cameras()
    b.plan.issues.sort(key=lambda i: (i.row or 0, i.severity != Severity.ERROR))
    return b.plan
