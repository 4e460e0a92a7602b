"""The workbook of a report, opened with openpyxl: sheets, formats, fills, freeze panes, print
set-up, words in both languages, byte-for-byte determinism (pure: no database)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import time
import zipfile

import pytest
from openpyxl import load_workbook

from collector.reports.sheet_style import display_width
from collector.reports.workbook import workbook_bytes
from tests.collector.reports.sample import sample_report

ZH = ["汇总", "乡镇排名", "村覆盖", "故障明细", "工单", "报备", "监测完整性", "考核得分"]
EN = ["Summary", "Township ranking", "Village coverage", "Faults", "Work orders", "Exclusions", "Monitoring",
      "Contract score"]


def book(lang: str = "zh", **change: object):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(workbook_bytes(dataclasses.replace(sample_report(), **change), lang)))


@pytest.mark.parametrize(("lang", "names"), [("zh", ZH), ("en", EN)])
def test_sheet_names_and_headers(lang: str, names: list[str]) -> None:
    wb = book(lang)
    assert wb.sheetnames == names
    head = [c.value for c in wb[names[0]][2]]
    assert head[:5] == (["代码", "名称", "级别", "摄像机", "在线率（扣除报备）"] if lang == "zh" else ["code", "name", "level", "cameras", "online rate"])


def test_figures_are_numbers_with_formats() -> None:
    wb = book()
    ws = wb["汇总"]
    county = [c.value for c in ws[3]]
    assert county[:2] == ["341122000000", "来安县"]
    rate = ws.cell(row=3, column=5)
    assert rate.value == pytest.approx(0.9401) and rate.number_format == "0.00%"
    assert isinstance(ws.cell(row=4, column=5).value, float)
    assert ws.cell(row=3, column=4).value == 12 and ws.cell(row=3, column=12).number_format == "0.00%"
    ranking = wb["乡镇排名"]
    assert [ranking.cell(row=r, column=1).value for r in (3, 4)] == [1, 2]
    assert ranking.cell(row=3, column=8).value == 1 and ranking.cell(row=3, column=8).number_format == "+0;-0;0"
    assert len(ranking._charts) == 1
    orders = wb["工单"]
    assert orders.cell(row=3, column=6).number_format == "yyyy-mm-dd hh:mm"
    assert orders.cell(row=3, column=6).value.hour == 10  # 02:00 UTC shown in Asia/Shanghai
    assert orders.cell(row=3, column=12).value == "红"
    assert orders.cell(row=3, column=12).fill.fgColor.rgb.endswith("FFC7CE")
    faults = wb["故障明细"]
    assert [c.value for c in faults[2]][5:] == ["用户名或密码错误", "断电或网络中断"]  # causes in words
    assert faults.cell(row=3, column=5).value == 11.11  # hours to 0.01
    score = wb["考核得分"]
    last = score.max_row
    assert score.cell(row=last, column=5).value == 98.5 and score.cell(row=3, column=5).value == 100.0


def test_below_target_cells_coloured() -> None:
    ws = book()["汇总"]
    by_code = {ws.cell(row=r, column=1).value: r for r in range(3, ws.max_row + 1)}
    low, high = by_code["341122102000"], by_code["341122101000"]  # 91.37% and 96.12% against 95%
    assert ws.cell(row=low, column=5).fill.fgColor.rgb.endswith("FFC7CE")
    assert ws.cell(row=low, column=13).value == "否"
    assert ws.cell(row=high, column=5).fill.fill_type is None


def test_layout_and_print_setup() -> None:
    wb = book()
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A3", ws.title
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        assert ws.print_title_rows == "$2:$2"
        assert "2026-11" in ws.oddHeader.left.text and "统计区间" in ws.oddHeader.right.text
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    ws = wb["村覆盖"]
    name_width = ws.column_dimensions["C"].width  # 光明社区居民委员会: 9 wide characters
    assert name_width >= display_width("光明社区居民委员会") + 1


def test_month_to_date_marked() -> None:
    ws = book(closed=False)["汇总"]
    assert "未结" in ws["A1"].value and "未结" in ws.oddHeader.left.text
    assert "已结" in book()["汇总"]["A1"].value
    # to date: the exact cut-off with its zone, so the figures can be checked with `rates --to`
    to_date = book(closed=False, generated_at=dt.datetime(2026, 11, 20, 12, 21, 37, tzinfo=dt.UTC))["汇总"]
    assert "至 2026-11-20 20:21:37 +08:00" in to_date.oddHeader.right.text, to_date.oddHeader.right.text
    assert "+08:00" not in book()["汇总"].oddHeader.right.text  # (a closed month's as it always was)
    # and in the sheet itself, beside 未结 (the console's page says when it summed: two downloads can differ)
    assert to_date["F1"].value == "未结：按当前数据计算（截至 2026-11-20 20:21:37 +08:00），结账前数字仍会变化", to_date["F1"].value


def test_same_report_same_bytes() -> None:
    r = sample_report()
    first = workbook_bytes(r)
    time.sleep(2.1)  # zip timestamps have 2 s resolution
    assert workbook_bytes(r) == first
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 12, 3, 1, 0, 0)}
        assert b"2026-12-03T01:00:00Z" in z.read("docProps/core.xml")
    assert workbook_bytes(dataclasses.replace(r, fault_hours=9.0)) != first


@pytest.mark.parametrize(("text", "width"), [("abc", 3), ("柳林乡", 6), ("Ａ1", 3), ("村口东 1号", 10)])
def test_display_width(text: str, width: int) -> None:
    assert display_width(text) == width


@pytest.mark.parametrize(("share", "warned"), [(0.99, False), (0.95, False), (0.9499, True), (0.40, True), (None, False)])
def test_an_unwatched_period_is_said_beside_the_score(share: float | None, warned: bool) -> None:
    """A month camwatch mostly did not watch loses no points: the score sheet says so in words."""
    from collector.reports.model import CompletenessRow

    rows = (CompletenessRow("341122000000", "来安县", "county", 24, 1e6, (share or 0) * 1e6, (1 - (share or 0)) * 1e6, share),)
    for lang, needle in (("zh", "监测完整率仅"), ("en", "knew the state for only")):
        ws = book(lang, completeness=rows)[ZH[-1] if lang == "zh" else EN[-1]]
        texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
        said = [t for t in texts if needle in t]
        assert bool(said) is warned, texts[-3:]
        if warned:
            assert f"{share:.2%}" in said[0]
