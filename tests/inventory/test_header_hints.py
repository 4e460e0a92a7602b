"""A county's 台账 often has a title row above the header (平山县雪亮工程摄像机台账), or a 说明 sheet
before the data: ``inventory validate`` then reported every required column missing, or a file with
no data rows, without saying where camwatch looks for the header. The message now says it (row 1,
the first sheet), in Chinese and in English."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from collector.cli import build_cli

HEADER = ["县/区", "乡镇/街道", "村/社区", "点位名称", "IP地址"]
ROW = ["平山县", "城关镇", "东村", "村口", "192.0.2.10"]


def validate(cwd: Path, path: Path, lang: str) -> tuple[int, str]:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click >= 8.2 keeps stderr apart
    env = {"CAMWATCH_CONFIG": "", "CAMWATCH_DB": f"sqlite:///{cwd / 'none.db'}"}
    res = runner.invoke(build_cli(), ["--lang", lang, "inventory", "validate", str(path)], env=env,
                        catch_exceptions=False)
    return res.exit_code, res.stderr


@pytest.mark.parametrize(("lang", "hint"), [("zh", "表头须在第 1 行"), ("en", "the header must be row 1")])
def test_a_title_row_above_the_header_is_named_as_the_likely_cause(tmp_path: Path, lang: str, hint: str) -> None:
    csv = tmp_path / "title.csv"
    csv.write_text("平山县摄像机台账,,,,\n" + ",".join(HEADER) + "\n" + ",".join(ROW) + "\n", encoding="utf-8")
    wb = Workbook()
    ws = wb.active
    ws.append(["平山县雪亮工程摄像机台账（2024年）"])
    ws.merge_cells("A1:E1")
    ws.append(HEADER)
    ws.append(ROW)
    xlsx = tmp_path / "title.xlsx"
    wb.save(xlsx)
    for path in (csv, xlsx):
        code, err = validate(tmp_path, path, lang)
        line = next(x for x in err.splitlines() if "county" in x)
        assert code == 1 and hint in line and ("第 1 行" in line if lang == "zh" else "row 1" in line), err


@pytest.mark.parametrize(("lang", "hint"), [("zh", "XLSX 只读第一个工作表"), ("en", "read from its first sheet only")])
def test_data_on_a_second_sheet_says_the_first_one_is_read(tmp_path: Path, lang: str, hint: str) -> None:
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表为摄像机台账"])
    ws = wb.create_sheet("台账")
    ws.append(HEADER)
    ws.append(ROW)
    path = tmp_path / "two-sheets.xlsx"
    wb.save(path)
    code, err = validate(tmp_path, path, lang)
    assert code == 1 and str(path) in err and hint in err, err
