"""Planning cameras: match each row's camera to a stored one (by GB ID, then by address),
check uniqueness across the file and the database, and compute each camera's values after
the import from its record, the columns the file has, and the stored camera.

An RTSP path whose secret values are the mask ``***`` (an export without ``--include-secrets``
writes ``/user=admin&password=***``) is never stored: when it is the stored camera's path masked,
that camera (by GB ID, else by its masked address) keeps its path; anything else is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace

from inventory.changes import CameraChange, CameraNew, CameraValues, Retire
from inventory.fields import CAMERA_RECORD
from inventory.gbid import gb_warnings, parse_gb_id
from inventory.models import Lifecycle, RegionLevel
from inventory.planning import Planning
from inventory.record import CameraRecord
from inventory.regions import county_prefix
from inventory.rows import CameraIn, RowIn, format_address
from inventory.secrets import ENV_PREFIX
from inventory.state import CameraRow
from probes.redact import masked_secret, redact_url

Address = tuple[str | None, int, str]


def plan_cameras(ctx: Planning) -> None:
    st = ctx.state
    point_keys = {p.id: (p.village_code, p.name) for p in st.points.values()}
    device_host = {d.id: d.host for d in st.devices.values()}
    matched = _match(ctx)
    if matched is None:
        return
    claimed = {old.id for _, _, old in matched if old is not None}
    # Final uniqueness: a camera keeps its address/GB ID unless a row changes it.
    final_addr = {c.address: c.id for c in st.cameras.values() if c.id not in claimed and c.address[0] is not None}
    final_gb = {c.gb_id: c.id for c in st.cameras.values() if c.gb_id and c.id not in claimed}
    # Which record fields the file sets for every camera: the columns it has.
    given = tuple(f.key in ctx.columns for f in CAMERA_RECORD)
    from_url = tuple(f.from_url for f in CAMERA_RECORD)
    for row, cam, old in matched:
        values = _values(ctx, row, cam, old, device_host, given, from_url)
        addr = values.record.address
        other = final_addr.get(addr) if addr[0] is not None else None
        if other is not None:
            ctx.error(row.row, "host", "db_address_conflict", value=format_address(addr), camera_id=other)
            continue
        gb_id = values.record.gb_id
        if gb_id and gb_id in final_gb:
            ctx.error(row.row, "gb_id", "db_gb_conflict", value=gb_id, camera_id=final_gb[gb_id])
            continue
        if old is None:
            ctx.plan.camera_new.append(CameraNew(values, row.row))
            continue
        changed = _diff(old, values, point_keys, device_host)
        if changed:
            ctx.plan.camera_changed.append(CameraChange(old.id, values, changed, row.row))
        else:
            ctx.plan.camera_unchanged += 1
    if ctx.retire_missing:
        _retire(ctx, claimed, point_keys, {row.row for row, _, _ in matched})


def _retire(ctx: Planning, claimed: set[int], point_keys: dict[int, tuple[str, str]], matched_rows: set[int]) -> None:
    """Retire the cameras of the file's counties it no longer lists, within the guard.

    A camera that a row with errors names (by GB ID or address) is listed, not retired (nor its
    point). A row with errors that names no stored camera *because* its GB ID or address is wrong
    (or is a masked path that fits several cameras) is *unidentified*: it may stand for any camera
    of its county (of every county of the file, when its county is wrong too) that the file does
    not list otherwise. Which one is unknown, but not how many: of a county's m such cameras with k
    such rows, only m - k are certainly gone. The plan retires that many (it holds back the k newest,
    and keeps their points), so that the guard and ``--json``'s ``cameras.retired`` weigh the same
    number, and neither claims a camera that may be a row's. (Such a plan has errors: nothing is
    written, and its list is only counted.) A row with errors whose GB ID and address are sound
    and name no stored camera is a new camera: it holds nothing back.
    """
    st = ctx.state
    named, unknown = _named_by_errors(ctx, matched_rows)
    in_use: dict[str, int] = {}
    gone: list[tuple[str, CameraRow]] = []
    gone_in: dict[str, list[int]] = {}
    for c in st.cameras.values():
        if c.lifecycle is Lifecycle.RETIRED:
            continue
        county = st.county_of(point_keys.get(c.point_id, ("", ""))[0])
        if county is None or county not in ctx.plan.counties:
            continue
        in_use[county] = in_use.get(county, 0) + 1
        if c.id not in claimed and c.id not in named:
            gone.append((county, c))
            gone_in.setdefault(county, []).append(c.id)
    held: set[int] = set()
    for county, ids in gone_in.items():
        hold = unknown.get(county, 0) + unknown.get(None, 0)
        if hold:
            held.update(sorted(ids)[-hold:])
    retired: dict[str, int] = {}
    for county, c in gone:
        if c.id not in held:
            retired[county] = retired.get(county, 0) + 1
            ctx.plan.camera_retired.append(Retire(c.id, c.name, format_address(c.address)))
    if named or held:
        kept = {st.cameras[i].point_id for i in named | held}
        ctx.plan.point_retired = [p for p in ctx.plan.point_retired if p.id not in kept]
    guard = ctx.retire_guard
    if guard is None:
        return
    for county, n in sorted(retired.items()):
        share = n / in_use[county]
        if share > guard:
            ctx.error(None, None, "mass_retire", county=st.regions[county].name, retire=n, active=in_use[county],
                      share=f"{share * 100:.4g}%", guard=f"{guard * 100:.4g}%")


# The cells a camera is identified by: a row with an error in one of them may be any camera
_IDENTITY = ("gb_id", "host", "rtsp_port", "rtsp_path", "rtsp_url")


def _named_by_errors(ctx: Planning, matched_rows: set[int]) -> tuple[set[int], dict[str | None, int]]:
    """The stored cameras named (by GB ID or by address) by the rows with errors
    (:attr:`Planning.refs`) and by the rows the plan could not match (an error across the file); and
    per county (None: not known), how many of those rows are unidentified (see :func:`_retire`)."""
    refs: list[tuple[int, str | None, str | None, Address | None]] = [
        (r.row, ctx.resolved.get((r.row, RegionLevel.COUNTY)), r.camera.record.gb_id, r.camera.record.address)
        for r in ctx.rows if r.camera is not None and r.row not in matched_rows]
    if ctx.refs:
        by_name: dict[str, set[str]] = {}
        for r in ctx.rows:
            code = ctx.resolved.get((r.row, RegionLevel.COUNTY))
            if code is not None:
                by_name.setdefault(r.county.name, set()).add(code)
        for ref in ctx.refs:
            codes = {ref.county.code} & ctx.plan.counties if ref.county.code else by_name.get(ref.county.name, set())
            refs.append((ref.row, next(iter(codes)) if len(codes) == 1 else None, ref.gb_id, ref.address))
    named: set[int] = set()
    unknown: dict[str | None, int] = {}
    if not refs:
        return named, unknown
    st = ctx.state
    by_gb = {c.gb_id: c for c in st.cameras.values() if c.gb_id}
    by_addr = {c.address: c for c in st.cameras.values() if c.address[0] is not None}
    by_masked: dict[Address, list[CameraRow]] | None = None
    identity = {ctx.columns.get(k, k) for k in _IDENTITY}
    wrong = {i.row for i in ctx.plan.errors if i.column in identity}  # (the rows' own and the plan's)
    for row, county, gb_id, address in refs:
        # (either may be the wrong one: a GB ID that repeats another row's, say)
        found = [by_gb[gb_id]] if gb_id in by_gb else []
        ambiguous = False
        if address is not None and address[0] is not None:
            if address in by_addr:
                found.append(by_addr[address])
            elif masked_secret(address[2]):
                by_masked = _masked_addresses(st.cameras.values()) if by_masked is None else by_masked
                fits = by_masked.get(address, [])
                found += fits if len(fits) == 1 else []  # (several: which one is unknown)
                ambiguous = len(fits) > 1
        if found:
            named.update(c.id for c in found)
        elif row in wrong or ambiguous:
            unknown[county] = unknown.get(county, 0) + 1
    return named, unknown


def _match(ctx: Planning) -> list[tuple[RowIn, CameraIn, CameraRow | None]] | None:
    """Each row's camera with the stored camera it updates; None when passwords need a key we lack."""
    st = ctx.state
    by_gb = {c.gb_id: c for c in st.cameras.values() if c.gb_id}
    by_addr = {c.address: c for c in st.cameras.values() if c.address[0] is not None}
    by_masked = _masked_addresses(st.cameras.values()) if any(
        r.camera is not None and r.camera.masked for r in ctx.rows) else {}
    file_gb: dict[str, int] = {}
    file_addr: dict[tuple[str | None, int, str], int] = {}
    claimed: dict[int, int] = {}
    matched: list[tuple[RowIn, CameraIn, CameraRow | None]] = []
    needs_key = False
    for row in ctx.rows:
        cam = row.camera
        if cam is None or (row.row, RegionLevel.VILLAGE) not in ctx.resolved:
            continue
        if cam.masked is not None:
            unmasked = _unmask(ctx, row, cam, by_gb, by_addr, by_masked)
            if unmasked is None:
                continue
            cam = unmasked
        bad = False
        gb_id, address = cam.record.gb_id, cam.record.address
        if gb_id is not None:
            if gb_id in file_gb:
                ctx.error(row.row, "gb_id", "duplicate_gb_id", value=gb_id, other_row=file_gb[gb_id])
                bad = True
            else:
                file_gb[gb_id] = row.row
            county = county_prefix(ctx.resolved[(row.row, RegionLevel.COUNTY)])
            for code, params in gb_warnings(parse_gb_id(gb_id), county):
                ctx.warn(row.row, "gb_id", code, **params)
        # GB28181 only, no address: its GB ID is its identity; a masked path kept as it is (a
        # standalone check): which camera it stands for is unknown
        if address[0] is None or cam.masked is not None:
            pass
        elif address in file_addr:
            ctx.error(row.row, "host", "duplicate_address", value=format_address(address), other_row=file_addr[address])
            bad = True
        else:
            file_addr[address] = row.row
        if bad:
            continue
        old = by_gb.get(gb_id) if gb_id else None
        if old is None and address[0] is not None:
            old = by_addr.get(address)
        if old is not None:
            if old.id in claimed:
                ctx.error(row.row, "gb_id" if gb_id else "host", "db_address_conflict", value=format_address(address), camera_id=old.id)
                continue
            claimed[old.id] = row.row
        if cam.password is not None and not cam.password.startswith(ENV_PREFIX):
            needs_key = True
        matched.append((row, cam, old))
    if needs_key and not ctx.box.can_encrypt:
        ctx.error(None, "password", "no_secret_key")
        return None
    return matched


def _masked_addresses(cameras: Iterable[CameraRow]) -> dict[Address, list[CameraRow]]:
    """The stored cameras whose path holds a secret (``password=``, ``token=``...), by their
    address with that secret masked as an export writes it."""
    out: dict[Address, list[CameraRow]] = {}
    for c in cameras:
        host, port, path = c.address
        shown = redact_url(path) if host is not None else path
        if shown != path:
            out.setdefault((host, port, shown), []).append(c)
    return out


def _unmask(ctx: Planning, row: RowIn, cam: CameraIn, by_gb: dict[str, CameraRow], by_addr: dict[Address, CameraRow],
            by_masked: dict[Address, list[CameraRow]]) -> CameraIn | None:
    """*cam* with the stored camera's RTSP path in place of its masked one, when it is that path
    masked (the camera found by GB ID, else by its address: as stored (a path stored with ``***``
    in it), else masked); else None and an error (in a standalone check a warning, and *cam* as it is)."""
    rec = cam.record
    path, key = rec.rtsp_path, cam.masked
    old = by_gb.get(rec.gb_id) if rec.gb_id else None
    if old is None:
        old = by_addr.get(rec.address)
    if old is None:
        found = by_masked.get(rec.address, [])
        if len(found) > 1:
            ctx.error(row.row, key, "masked_path_ambiguous", value=path,
                      cameras=", ".join(str(c.id) for c in sorted(found, key=lambda c: c.id)))
            return None
        old = found[0] if found else None
    if old is not None and old.address[0] is not None and redact_url(old.record.rtsp_path) == path:
        return replace(cam, record=rec.with_value("rtsp_path", old.record.rtsp_path), masked=None)
    if ctx.standalone:
        ctx.warn(row.row, key, "masked_path_unchecked", value=path)
        return cam
    ctx.error(row.row, key, "masked_path", value=path)
    return None


def _values(ctx: Planning, row: RowIn, cam: CameraIn, old: CameraRow | None, device_host: dict[int, str],
            given: tuple[bool, ...], from_url: tuple[bool, ...]) -> CameraValues:
    """The camera after the import: a field the file has a column for (or the RTSP URL gave)
    is taken from the row, any other keeps its stored value (a new camera takes the row's)."""
    if old is None:
        record = cam.record
    else:
        record = CameraRecord(tuple(
            new if (g or (u and new is not None)) else kept
            for new, kept, g, u in zip(cam.record.values, old.record.values, given, from_url, strict=True)
        ))
    if "password" in ctx.columns or cam.password is not None:
        if old is not None and ctx.box.same(old.credential_ref, cam.password):
            ref = old.credential_ref
        else:
            ref = ctx.box.store(cam.password) if cam.password is not None else None
        if cam.password is not None and cam.password.startswith(ENV_PREFIX):
            name = cam.password[len(ENV_PREFIX):]
            if name not in os.environ:
                ctx.warn(row.row, "password", "password_env_missing", name=name)
    else:
        ref = old.credential_ref if old is not None else None
    if "parent" in ctx.columns or cam.parent is not None:
        parent = cam.parent.host if cam.parent else None
    else:
        parent = device_host.get(old.parent_device_id) if old and old.parent_device_id else None
    village = ctx.resolved[(row.row, RegionLevel.VILLAGE)]
    return CameraValues((village, row.point.name), parent, record, ref)


def _diff(old: CameraRow, new: CameraValues, point_keys: dict[int, tuple[str, str]],
          device_host: dict[int, str]) -> tuple[str, ...]:
    out = old.record.changed(new.record)
    if old.credential_ref != new.credential_ref:
        out += ("password",)
    if point_keys.get(old.point_id) != new.point_key:
        out += ("point",)
    old_parent = device_host.get(old.parent_device_id) if old.parent_device_id else None
    if old_parent != new.parent_host:
        out += ("parent",)
    return out
