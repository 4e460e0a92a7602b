"""Inventory rows from a GB/T 28181 catalog (``camwatch inventory import-catalog``), pure.

Each catalog item that is a camera becomes a row the importer reads back: its 20-digit ID
(validated as the importer does: :func:`inventory.gbid.parse_gb_id`; directories, business
groups and other non-video IDs are left out, as are items with ``Parental`` 1, which hold others),
``Name`` (camera and, without an ``Address``, point name), ``Address`` (point name),
``Manufacturer``, ``Model``, ``CivilCode`` (the region: a 6, 9 or 12-digit division code gives the
county, township or village code, and the names of those the inventory knows), 接入方式 国标.

The rows carry no address: a GB28181-only camera needs none (its GB ID identifies it; it is
never contacted). Put the camera's own address in, and 接入方式 两者, where it is also reachable
directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from inventory.fields import header_label
from inventory.gbid import GbIdError, parse_gb_id
from inventory.models import RegionLevel
from inventory.regions import RegionCodeError, level_of_standard, parse_code

KEYS: tuple[str, ...] = ("county_code", "county", "township_code", "township", "village_code", "village", "point",
                         "name", "gb_id", "access", "host", "rtsp_path", "vendor", "model")
_LEVEL_KEYS = {RegionLevel.COUNTY: ("county_code", "county"), RegionLevel.TOWNSHIP: ("township_code", "township"),
               RegionLevel.VILLAGE: ("village_code", "village")}
_BY_LENGTH = {6: RegionLevel.COUNTY, 9: RegionLevel.TOWNSHIP, 12: RegionLevel.VILLAGE}


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    channel_id: str
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    civil_code: str = ""
    address: str = ""
    parental: bool = False


@dataclass(frozen=True, slots=True)
class KnownRegion:
    name: str
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class Skipped:
    channel_id: str
    reason: str  # an inventory message code (gb_length, gb_type, ...) or "parental"


def region_cells(civil_code: str, regions: Mapping[str, KnownRegion]) -> dict[str, str]:
    """The region cells a CivilCode gives: its level's code, and the names (with codes) of it and
    its ancestors where the inventory knows them. A code that is no division code gives none."""
    text = civil_code.strip()
    level = _BY_LENGTH.get(len(text)) if text.isascii() and text.isdigit() else None
    if level is None:
        return {}
    try:
        code = parse_code(text, level).value
    except RegionCodeError:
        return {}
    cells = {_LEVEL_KEYS[level][0]: code}
    at: str | None = code
    while at is not None:
        known = regions.get(at)
        if known is None:
            break
        code_key, name_key = _LEVEL_KEYS[level_of_standard(at)] if at.isdigit() else (None, None)
        if code_key is None or name_key is None:
            break
        cells[code_key], cells[name_key] = at, known.name
        at = known.parent_code
    return cells


def catalog_rows(entries: list[CatalogEntry], regions: Mapping[str, KnownRegion]) -> tuple[list[dict[str, str]], list[Skipped]]:
    """(rows as column key -> cell, the items left out and why), in catalog order by ID."""
    rows: list[dict[str, str]] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for e in sorted(entries, key=lambda x: x.channel_id):
        try:
            gb = parse_gb_id(e.channel_id)
        except GbIdError as exc:
            skipped.append(Skipped(e.channel_id, exc.code))
            continue
        if e.parental:
            skipped.append(Skipped(e.channel_id, "parental"))
            continue
        if gb.value in seen:
            continue
        seen.add(gb.value)
        name = e.name.strip() or gb.value
        row = dict.fromkeys(KEYS, "")
        row.update(region_cells(e.civil_code, regions))
        row.update(point=(e.address.strip() or name)[:128], name=name[:128], gb_id=gb.value, access="国标",
                   vendor=e.manufacturer.strip()[:64],
                   model=e.model.strip()[:128])
        rows.append(row)
    return rows, skipped


def headers(lang: str) -> list[str]:
    return [header_label(k, lang) for k in KEYS]
