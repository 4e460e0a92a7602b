"""The field table (inventory/fields.py) is the one declaration of the inventory's fields:
the model agrees with it, and the header lookup, export columns, state snapshot and plan
comparison are all what it derives."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import datetime as dt
from pathlib import Path

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from inventory import fields as table
from inventory.access import Access
from inventory.columns import column_for
from inventory.db import create_engine
from inventory.export import export_rows
from inventory.models import Camera, Lifecycle, Point
from inventory.record import ATTRS, CameraRecord, PointValues, Value
from inventory.state import load_state
from tests.inventory.helpers import box, do_import, migrated, write_csv

PY_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "date": dt.date, "Lifecycle": Lifecycle,
            "Access": Access}
# Camera columns that are not file fields: keys, links the plan resolves, bookkeeping.
CAMERA_LINKS = {"id", "point_id", "credential_ref", "parent_device_id", "created_at", "updated_at", "retired_at"}
POINT_LINKS = {"id", "village_code", "name", "retired", "created_at", "updated_at"}
IMPORT_MODULES = ("apply", "changes", "columns", "export", "importer", "plan", "plan_cameras", "plan_points",
                  "plan_regions", "planning", "reader", "record", "rows", "state")
INVENTORY = Path(table.__file__).parent


def _stored(owner: table.Owner) -> list[table.Field]:
    return [f for f in table.FIELDS if f.owner is owner and f.stored]


def test_camera_model_agrees_with_the_table() -> None:
    columns = {c.key: c for c in sa_inspect(Camera).columns}
    for f in table.CAMERA_RECORD:
        col = columns[f.stored or ""]
        assert col.type.python_type is PY_TYPES[table.PYTHON_TYPE[f.parse]], f.key
        assert col.nullable == f.optional, f.key
        if f.max_len is not None and hasattr(col.type, "length") and col.type.length is not None:
            assert f.max_len <= col.type.length, f.key
    # A model column that is neither a field nor a link is a field missing from the table.
    assert set(columns) == CAMERA_LINKS | set(ATTRS)


def test_point_model_and_values_agree_with_the_table() -> None:
    columns = {c.key: c for c in sa_inspect(Point).columns}
    for f in _stored(table.Owner.POINT):
        col = columns[f.stored or ""]
        assert col.type.python_type is PY_TYPES[table.PYTHON_TYPE[f.parse]], f.key
    assert set(columns) == POINT_LINKS | set(table.POINT_COLUMN)
    assert {x.name for x in dataclasses.fields(PointValues)} == set(table.POINT_COLUMN)


def test_headers_are_the_tables() -> None:
    for f in table.FIELDS:
        for header in (f.key, f.zh, f.en, *f.aliases, f.zh + "(必填)"):
            assert column_for(header) == f.key, header
    assert len({f.key for f in table.FIELDS}) == len(table.FIELDS)
    assert table.REQUIRED == ("county", "township", "village", "point")
    assert table.CAMERA_MARKERS == ("name", "gb_id", "host", "rtsp_url")


def test_record_is_the_tables_camera_fields_in_order() -> None:
    assert tuple(f.stored for f in table.FIELDS if f.owner is table.Owner.CAMERA and f.stored) == ATTRS
    a = CameraRecord(tuple(range(len(ATTRS))))
    b = CameraRecord(tuple(i if attr != "vendor" else -1 for i, attr in enumerate(ATTRS)))
    assert a.changed(b) == ("vendor",) and a.changed(a) == ()
    assert a.columns() == dict(zip(ATTRS, range(len(ATTRS)), strict=True))


def test_plain_fields_have_no_code_of_their_own() -> None:
    """A field the import logic does not read itself (no typed accessor on the record) is named
    nowhere in the import and export modules: adding one is a table entry, a model column and a
    migration."""
    accessors = {n for n, v in vars(CameraRecord).items() if isinstance(v, Value)}
    plain = set(ATTRS) - accessors
    assert {"vendor", "model", "firmware", "serial", "mac", "contractor", "onvif_port", "installed_on"} <= plain
    for module in IMPORT_MODULES:
        tree = ast.parse((INVENTORY / f"{module}.py").read_text(encoding="utf-8"))
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        names |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not names & plain, (module, names & plain)


HEADERS_ZH = [f.zh for f in table.FIELDS if f.export]
ROW = ["130123000000", "示范县", "130123101000", "城关镇", "130123101201", "东关村", "村口", "出入口", "是", "114.25", "38.11",
       "东关村村口", "13012300001320000001", "两者", "127.20.0.1", "554", "/live", "80", "admin", "pw-1", "海康威视",
       "DS-2CD3T46", "V5.5", "SN123", "00:11:22:33:44:55", "运维公司", "维护", "交换机@127.21.0.1", "2023-05-01"]


def test_export_columns_and_state_snapshot_are_the_tables(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'fields.db'}")
    assert len(ROW) == len(HEADERS_ZH)
    assert do_import(url, write_csv(tmp_path / "in.csv", HEADERS_ZH, [ROW])).written

    async def go() -> None:
        engine = create_engine(url)
        try:
            for lang in ("zh", "en"):
                headers, rows = await export_rows(engine, lang=lang, include_secrets=True, box=box())
                assert headers == [f.en if lang == "en" else f.zh for f in table.FIELDS if f.export]
                assert [column_for(h) for h in headers] == list(table.EXPORT_KEYS)
                # every exported field round-trips the cell it was imported from
                if lang == "zh":
                    assert rows == [ROW]
            headers, _ = await export_rows(engine, lang="zh")
            assert [column_for(h) for h in headers] == [k for k in table.EXPORT_KEYS if k != "password"]
            async with AsyncSession(engine) as s:
                state = await load_state(s)
                cam = await s.get(Camera, 1)
            assert cam is not None
            (row,) = state.cameras.values()
            assert row.record.values == tuple(getattr(cam, a) for a in ATTRS)
            assert row.record["vendor"] == "海康威视" and row.record.lifecycle is Lifecycle.MAINTENANCE
            assert row.record.access is Access.BOTH and cam.access is Access.BOTH
        finally:
            await engine.dispose()

    asyncio.run(go())
