"""Planning points and upstream devices: merged over the rows that name them, then compared."""

from __future__ import annotations

from dataclasses import fields

from inventory.changes import DeviceNew, PointChange, PointNew, Retire
from inventory.fields import POINT_COLUMN
from inventory.planning import Planning
from inventory.record import PointValues
from inventory.state import DeviceRow

# The point's attributes the file sets, in the order a change names them.
POINT_FIELDS = tuple(f.name for f in fields(PointValues))


def plan_points(ctx: Planning) -> None:
    """Merge point attributes over rows (conflicts are errors); plan new, changed and retired points."""
    merged: dict[tuple[str, str], dict[str, object]] = {}
    first_row: dict[tuple[str, str], int] = {}
    field_row: dict[tuple[tuple[str, str], str], int] = {}
    for row in ctx.rows:
        village = ctx.village(row)
        if village is None:
            continue
        key = (village, row.point.name)
        attrs = merged.setdefault(key, dict.fromkeys(POINT_FIELDS))
        first_row.setdefault(key, row.row)
        for f in POINT_FIELDS:
            v = getattr(row.point, f)
            if v is None:
                continue
            if attrs[f] is None:
                attrs[f] = v
                field_row[(key, f)] = row.row
            elif attrs[f] != v:
                ctx.error(row.row, POINT_COLUMN[f], "point_conflict", point=row.point.name, field=f, other_row=field_row[(key, f)])
    stored = {(p.village_code, p.name): p for p in ctx.state.points.values()}
    for key, attrs in merged.items():
        old = stored.get(key)
        new_vals: dict[str, object] = {}
        for f in POINT_FIELDS:
            if POINT_COLUMN[f] in ctx.columns:
                v = attrs[f]
                new_vals[f] = True if (f == "planned" and v is None) else v
            else:
                new_vals[f] = getattr(old.values, f) if old is not None else (True if f == "planned" else None)
        new_vals["planned"] = bool(new_vals["planned"])
        values = PointValues(**new_vals)  # type: ignore[arg-type]  # keys and types are PointValues'
        if old is None:
            ctx.plan.point_new.append(PointNew(key[0], key[1], values, first_row[key]))
        else:
            changed = tuple(f for f in POINT_FIELDS if getattr(old.values, f) != new_vals[f])
            if old.retired:
                changed += ("retired",)
            if changed:
                ctx.plan.point_changed.append(PointChange(old.id, key[0], key[1], values, changed))
    if ctx.retire_missing:
        for key, old in stored.items():
            if key in merged or old.retired:
                continue
            if ctx.state.county_of(old.village_code) in ctx.plan.counties:
                ctx.plan.point_retired.append(Retire(old.id, old.name, old.village_code))


def plan_devices(ctx: Planning) -> None:
    """Upstream devices by host: new ones, and renamed ones (one name per host in the file)."""
    by_host = {d.host: d for d in ctx.state.devices.values()}
    seen: dict[str, tuple[str, int]] = {}
    for row in ctx.rows:
        cam = row.camera
        if cam is None or cam.parent is None:
            continue
        host, name = cam.parent.host, cam.parent.name
        if host in seen:
            if seen[host][0] != name:
                ctx.error(row.row, "parent", "parent_conflict", value=host, other_row=seen[host][1])
            continue
        seen[host] = (name, row.row)
        old = by_host.get(host)
        if old is None:
            village = ctx.village(row)
            if village is not None:
                ctx.plan.device_new.append(DeviceNew(host, name, village, row.row))
        elif old.name != name:
            ctx.plan.device_changed.append(DeviceRow(old.id, name, host))
