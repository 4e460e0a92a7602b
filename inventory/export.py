"""``camwatch inventory export``: the inventory as CSV or XLSX, importable as is.

Active and maintenance cameras and every point not retired are exported; a point with no
such camera is a row without camera columns (a planned point not yet built). Passwords are
left out (the column itself is absent, so re-importing keeps the stored ones) unless
``include_secrets`` is set. Derived region codes are written as empty cells: importing
derives the same codes again.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from inventory.columns import header_label
from inventory.models import Camera, Device, Lifecycle, Point, Region
from inventory.rows import LIFECYCLE_ZH
from inventory.secrets import SecretBox

EXPORT_KEYS = (
    "county_code", "county", "township_code", "township", "village_code", "village", "point",
    "point_kind", "planned", "lon", "lat", "name", "gb_id", "host", "rtsp_port", "rtsp_path",
    "onvif_port", "username", "password", "vendor", "model", "firmware", "serial", "mac",
    "contractor", "lifecycle", "parent", "installed_on",
)


class ExportError(Exception):
    pass


def _num(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def _s(v: object) -> str:
    return "" if v is None else str(v)


async def export_rows(engine: AsyncEngine, *, lang: str = "zh", include_secrets: bool = False,
                      box: SecretBox | None = None) -> tuple[list[str], list[list[str]]]:
    keys = [k for k in EXPORT_KEYS if include_secrets or k != "password"]
    yes, no = ("yes", "no") if lang == "en" else ("是", "否")
    async with AsyncSession(engine) as session:
        regions = {r.code: r for r in (await session.execute(select(Region))).scalars()}
        devices = {d.id: d for d in (await session.execute(select(Device))).scalars()}
        points = list((await session.execute(select(Point).where(Point.retired.is_(False)))).scalars())
        cams = list((await session.execute(select(Camera).where(Camera.lifecycle != Lifecycle.RETIRED))).scalars())
    by_point: dict[int, list[Camera]] = {}
    for c in cams:
        by_point.setdefault(c.point_id, []).append(c)

    def code(r: Region | None) -> str:
        return "" if r is None or r.derived else r.code

    out: list[tuple[tuple[str, ...], list[str]]] = []
    for p in points:
        village = regions.get(p.village_code)
        township = regions.get(village.parent_code) if village and village.parent_code else None
        county = regions.get(township.parent_code) if township and township.parent_code else None
        base = {
            "county_code": code(county), "county": county.name if county else "",
            "township_code": code(township), "township": township.name if township else "",
            "village_code": code(village), "village": village.name if village else "",
            "point": p.name, "point_kind": _s(p.kind), "planned": yes if p.planned else no,
            "lon": _num(p.lon), "lat": _num(p.lat),
        }
        sort_base = (county.code if county else "", township.code if township else "", p.village_code, p.name)
        pc = sorted(by_point.get(p.id, []), key=lambda c: c.id)
        if not pc:
            out.append((sort_base + ("",), [base.get(k, "") for k in keys]))
            continue
        for c in pc:
            parent = devices.get(c.parent_device_id) if c.parent_device_id else None
            lc = Lifecycle(c.lifecycle)
            row = dict(base)
            row.update({
                "name": c.name, "gb_id": _s(c.gb_id), "host": c.host, "rtsp_port": str(c.rtsp_port),
                "rtsp_path": c.rtsp_path, "onvif_port": _s(c.onvif_port), "username": _s(c.username),
                "vendor": _s(c.vendor), "model": _s(c.model), "firmware": _s(c.firmware),
                "serial": _s(c.serial), "mac": _s(c.mac), "contractor": _s(c.contractor),
                "lifecycle": lc.value if lang == "en" else LIFECYCLE_ZH[lc],
                "parent": f"{parent.name}@{parent.host}" if parent else "",
                "installed_on": c.installed_on.isoformat() if c.installed_on else "",
            })
            if include_secrets:
                if box is None:
                    raise ExportError("no secret box")
                row["password"] = _reveal(box, c.credential_ref)
            out.append((sort_base + (f"{c.id:012d}",), [row.get(k, "") for k in keys]))
    out.sort(key=lambda t: t[0])
    headers = [header_label(k, lang) for k in keys]
    return headers, [r for _, r in out]


def _reveal(box: SecretBox, ref: str | None) -> str:
    if ref is None:
        return ""
    if ref.startswith("env:"):
        return ref
    value = box.reveal(ref)
    return value or ""


def write_csv(path: Path, headers: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)


def write_xlsx(path: Path, headers: list[str], rows: list[list[str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("摄像机")

    def cells(values: list[str]) -> Iterator[WriteOnlyCell]:
        for v in values:
            cell = WriteOnlyCell(ws, value=v)
            cell.number_format = "@"
            yield cell

    ws.append(list(cells(headers)))
    for r in rows:
        ws.append(list(cells(r)))
    wb.save(path)


async def export_file(engine: AsyncEngine, path: str | Path, *, lang: str = "zh", include_secrets: bool = False,
                      box: SecretBox | None = None, encoding: str = "utf-8-sig") -> int:
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ExportError(f"unsupported file type {p.suffix or '(none)'}: use .csv or .xlsx")
    headers, rows = await export_rows(engine, lang=lang, include_secrets=include_secrets, box=box)
    tmp = p.with_name(p.name + ".tmp")
    if suffix == ".csv":
        write_csv(tmp, headers, rows, encoding)
    else:
        write_xlsx(tmp, headers, rows)
    tmp.replace(p)
    return len(rows)
