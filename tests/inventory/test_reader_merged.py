"""XLSX ledgers with merged cells: a vertically merged block's value on every row of it."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from inventory import merged
from inventory.merged import Merge, MergeFill, read_merges
from inventory.reader import FileProblem, read_table
from tests.inventory.helpers import do_import, migrated, snapshot

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "sample_inventory.csv"


def _sample() -> tuple[list[str], list[list[str]]]:
    with SAMPLE.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _ledger(path: Path, headers: list[Any], rows: list[list[Any]], merges: Sequence[str] = (),
            title: str | None = None) -> Path:
    """An XLSX as Excel leaves a merged ledger: each merged block's value in its top-left cell only."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if title is not None:
        ws.append([title])
    ws.append(headers)
    for r in rows:
        ws.append(r)
    for ref in merges:
        ws.merge_cells(ref)  # (openpyxl, like Excel, empties the block's other cells)
    wb.save(path)
    return path


def _values(path: Path) -> list[tuple[int, dict[str, object]]]:
    return [(r.number, r.values) for r in read_table(path).rows]


def test_merged_region_columns_import_the_same_cameras_as_the_plain_ledger(tmp_path: Path) -> None:
    headers, rows = _sample()
    plain = _ledger(tmp_path / "plain.xlsx", headers, rows)
    # county code / county / township code / township / village code / village over rows 2-7
    block = _ledger(tmp_path / "merged.xlsx", headers, rows, [f"{c}2:{c}7" for c in "ABCDEF"])
    assert _values(block) == _values(plain)

    urls = [migrated(f"sqlite:///{tmp_path / name}.db") for name in ("plain", "merged")]
    for url, path in zip(urls, (plain, block), strict=True):
        out = do_import(url, path)
        assert out.written and out.plan.ok, [i.render("en") for i in out.plan.errors]
    merged_snap = snapshot(urls[1])
    assert merged_snap == snapshot(urls[0])
    assert len(merged_snap["cameras"]) == 48


def test_merged_point_name_and_contractor_blocks(tmp_path: Path) -> None:
    headers = ["县/区", "乡镇/街道", "村/社区", "点位名称", "摄像机名称", "IP地址", "运维单位"]
    rows: list[list[Any]] = [
        ["示范县", "城关镇", "东关村", "村口", "村口东", "127.20.0.1", "示范县运维公司"],
        [None, None, None, None, "村口西", "127.20.0.2", None],
        [None, None, None, None, "村口北", "127.20.0.3", None],
        [None, None, None, "学校", "学校门口", "127.20.0.4", "另一家公司"],
    ]
    path = _ledger(tmp_path / "points.xlsx", headers, rows, ["A2:A5", "B2:B5", "C2:C5", "D2:D4", "G2:G4"])
    got = read_table(path).rows
    assert [(r.number, r.values["point"], r.values["contractor"]) for r in got] == [
        (2, "村口", "示范县运维公司"), (3, "村口", "示范县运维公司"), (4, "村口", "示范县运维公司"), (5, "学校", "另一家公司")]
    assert {r.values["village"] for r in got} == {"东关村"}

    url = migrated(f"sqlite:///{tmp_path / 'points.db'}")
    out = do_import(url, path)
    assert out.written, [i.render("en") for i in out.plan.errors]
    snap = snapshot(url)
    assert len(snap["points"]) == 2 and len(snap["cameras"]) == 3 + 1
    assert {c[0][1] for c in snap["cameras"].values()} == {"村口", "学校"}
    assert {c[11] for c in snap["cameras"].values()} == {"示范县运维公司", "另一家公司"}


def test_horizontal_merges_leave_header_detection_as_it_was(tmp_path: Path) -> None:
    """A header cell merged over two columns (a wide 备注) is one column; a merged title row above the
    header is still refused as a title row (header_missing), as the same title unmerged is."""
    headers = ["县/区", "乡镇/街道", "村/社区", "点位名称", "IP地址", "备注", None]
    rows: list[list[Any]] = [["示范县", "城关镇", "东关村", "村口", "127.20.0.1", "立杆", "新装"],
                             [None, None, None, "路口", "127.20.0.2", "", ""]]
    wide = _ledger(tmp_path / "wide.xlsx", headers, rows, ["F1:G1", "A2:A3", "B2:B3", "C2:C3"])
    table = read_table(wide)
    assert table.issues == [] and set(table.keys) == {"county", "township", "village", "point", "host"}
    assert [r.values["village"] for r in table.rows] == ["东关村", "东关村"]

    url = migrated(f"sqlite:///{tmp_path / 'title.db'}")
    title = "示范县视频监控点位台账"
    codes = []
    for name, refs in (("plain", []), ("merged", ["A1:G1"])):
        out = do_import(url, _ledger(tmp_path / f"{name}.xlsx", headers, rows, refs, title=title), dry_run=True)
        codes.append(sorted(i.code for i in out.plan.issues))
    assert codes[0] == codes[1] and "header_missing" in codes[1]


@pytest.mark.parametrize("refs, message", [
    (["A1:A2"], "A1:A2"),  # a header written in two rows
    (["D2:D3", "A1:B3"], "A1:B3"),  # a block from the header into the data
])
def test_a_merge_across_the_header_row_is_one_clear_error(tmp_path: Path, refs: list[str], message: str) -> None:
    headers = ["县/区", "乡镇/街道", "村/社区", "点位名称", "IP地址"]
    rows: list[list[Any]] = [["示范县", "城关镇", "东关村", "村口", "127.20.0.1"],
                             ["示范县", "城关镇", "东关村", None, "127.20.0.2"]]
    path = _ledger(tmp_path / "header.xlsx", headers, rows, refs)
    with pytest.raises(FileProblem) as info:
        read_table(path)
    issue = info.value.issue
    assert issue.code == "xlsx_merged_header" and issue.column == "县/区"
    zh, en = issue.render(), issue.render("en")
    assert message in zh and message in en and "合并单元格" in zh and "merged cells" in en
    rows_said = f"{message[1]}–{message[-1]}"
    assert f"第 {rows_said} 行" in zh and f"rows {rows_said}" in en and "header row (row 1)" in en

    out = do_import(migrated(f"sqlite:///{tmp_path / 'h.db'}"), path, dry_run=True)
    assert [i.code for i in out.plan.errors] == ["xlsx_merged_header"]


def _sheet_zip(path: Path, xml: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", xml)
    return path


def test_read_merges_across_chunks_and_with_a_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(merged, "CHUNK", 7)  # every element cut by a chunk boundary somewhere
    cells = b"".join(b'<x:row r="%d"><x:c r="A%d" t="inlineStr"><x:is><x:t>mergeCell &lt;mergeCell ref="Z1:Z9"/&gt;'
                     b"</x:t></x:is></x:c></x:row>" % (n, n) for n in range(1, 300))
    xml = (b'<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           b"<x:sheetData>" + cells + b'</x:sheetData><x:mergeCells count="3"><x:mergeCell ref="C5:D9"/>'
           b"<x:mergeCell  ref='A2:A7' /><x:mergeCell ref=\"AB10:AB12\"/></x:mergeCells></x:worksheet>")
    got = read_merges(_sheet_zip(tmp_path / "s.xlsx", xml), "xl/worksheets/sheet1.xml")
    assert got == [Merge(2, 7, 1, 1), Merge(5, 9, 3, 4), Merge(10, 12, 28, 28)]
    assert [g.ref for g in got] == ["A2:A7", "C5:D9", "AB10:AB12"]
    assert read_merges(_sheet_zip(tmp_path / "n.xlsx", b"<worksheet><sheetData/></worksheet>"),
                       "xl/worksheets/sheet1.xml") == []


def test_merge_fill_fills_the_first_column_down_only() -> None:
    fill = MergeFill([Merge(2, 4, 2, 3), Merge(3, 3, 1, 5)])  # (a one-row block fills nothing)
    got = [fill.apply(n, cells) for n, cells in enumerate(
        [["h1", "h2", "h3"], ["a", "B", ""], ["b", "", ""], ["c"], ["d", "", ""]], start=1)]
    assert got == [["h1", "h2", "h3"], ["a", "B", ""], ["b", "B", ""], ["c", "B"], ["d", "", ""]]


def test_spare_blank_rows_under_a_merged_village_stay_blank(tmp_path: Path) -> None:
    """A reviewer's template: the village merged over its three cameras and two spare empty rows;
    the spare rows were filled with the village alone and failed the import (县/区 must not be empty)."""
    headers, rows = _sample()
    three = rows[:3]
    plain = _ledger(tmp_path / "plain.xlsx", headers, three)
    spare = _ledger(tmp_path / "spare.xlsx", headers, [*three, [""] * len(headers), [""] * len(headers)],
                    [f"{c}2:{c}6" for c in "ABCDEF"])
    assert _values(spare) == _values(plain)
    url = migrated(f"sqlite:///{tmp_path / 'spare.db'}")
    out = do_import(url, spare)
    assert out.written and out.plan.ok, [i.render("en") for i in out.plan.errors]
    assert len(snapshot(url)["cameras"]) == 3
