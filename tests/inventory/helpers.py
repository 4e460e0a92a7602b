"""Helpers for inventory tests: write files, import, and snapshot the stored inventory."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.db import create_engine, upgrade
from inventory.export import export_file
from inventory.importer import ImportOutcome, import_file
from inventory.models import Camera, Device, Point, Region
from inventory.secrets import SecretBox, generate_key

KEY = generate_key()


def box() -> SecretBox:
    return SecretBox(KEY)


def write_csv(path: Path, headers: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, headers: list[str], rows: list[list[Any]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def migrated(url: str) -> str:
    upgrade(url)
    return url


def do_import(url: str, path: Path, *, dry_run: bool = False, retire_missing: bool = True,
              retire_guard: float | None = None, secret: SecretBox | None = None) -> ImportOutcome:
    async def go() -> ImportOutcome:
        engine = create_engine(url)
        try:
            return await import_file(engine, path, secret or box(), dry_run=dry_run, retire_missing=retire_missing,
                                     retire_guard=retire_guard)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def do_export(url: str, path: Path, *, include_secrets: bool = False, lang: str = "zh") -> int:
    async def go() -> int:
        engine = create_engine(url)
        try:
            return await export_file(engine, path, include_secrets=include_secrets, box=box(), lang=lang)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def snapshot(url: str) -> dict[str, Any]:
    """Everything the inventory holds, keyed by natural keys (no ids, no timestamps)."""

    async def go() -> dict[str, Any]:
        engine = create_engine(url)
        try:
            async with AsyncSession(engine) as s:
                regions = {r.code: (r.name, str(r.level), r.parent_code, r.derived) for r in (await s.execute(select(Region))).scalars()}
                points = {p.id: p for p in (await s.execute(select(Point))).scalars()}
                devices = {d.id: (d.name, d.host) for d in (await s.execute(select(Device))).scalars()}
                cams = list((await s.execute(select(Camera))).scalars())
        finally:
            await engine.dispose()
        pts = {(p.village_code, p.name): (p.kind, p.lon, p.lat, p.planned, p.retired) for p in points.values()}
        cameras = {}
        for c in cams:
            p = points[c.point_id]
            cameras[(c.host, c.rtsp_port, c.rtsp_path) if c.host is not None else ("gb28181", c.gb_id)] = (
                (p.village_code, p.name), c.name, c.gb_id, c.onvif_port, c.username,
                box().reveal(c.credential_ref) if c.credential_ref else None, c.vendor, c.model,
                c.firmware, c.serial, c.mac, c.contractor, str(c.lifecycle),
                devices.get(c.parent_device_id) if c.parent_device_id else None, c.installed_on,
            )
        return {"regions": regions, "points": pts, "cameras": cameras, "devices": set(devices.values())}

    return asyncio.run(go())


def raw_credentials(url: str) -> list[str | None]:
    async def go() -> list[str | None]:
        engine = create_engine(url)
        try:
            async with AsyncSession(engine) as s:
                return list((await s.execute(select(Camera.credential_ref))).scalars())
        finally:
            await engine.dispose()

    return asyncio.run(go())
