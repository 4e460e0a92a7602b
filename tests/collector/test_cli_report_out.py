"""``camwatch report monthly|quarterly --out``: the workbook is an Excel file, so an ``--out`` not
named ``*.xlsx`` is a mistake of the command line (exit 2, nothing written). It used to write the
XLSX bytes under the name given: ``--out 2026-11.csv`` made a "CSV" that Excel opens as garbage."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from collector.cli import build_cli
from collector.cli.exitcodes import USAGE


def invoke(cwd: Path, *args: str) -> tuple[int, str, str]:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click >= 8.2 keeps stderr apart
    env = {"CAMWATCH_CONFIG": "", "CAMWATCH_DB": f"sqlite:///{cwd / 'none.db'}"}
    res = runner.invoke(build_cli(), list(args), env=env, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


@pytest.mark.parametrize(("lang", "words"), [("zh", "须以 .xlsx 结尾"), ("en", "name the file *.xlsx")])
@pytest.mark.parametrize(("cmd", "period"), [("monthly", ("--month", "2026-01")), ("quarterly", ("--quarter", "2026Q1"))])
@pytest.mark.parametrize("name", ["2026-01.csv", "report", "r.xls"])
def test_an_out_that_is_not_xlsx_is_refused_and_nothing_is_written(
        tmp_path: Path, lang: str, words: str, cmd: str, period: tuple[str, str], name: str) -> None:
    out = tmp_path / name
    code, stdout, stderr = invoke(tmp_path, "--lang", lang, "report", cmd, *period, "--out", str(out))
    assert code == USAGE, stderr
    assert stdout == "" and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert "--out" in stderr and name in stderr and words in stderr
    assert not out.exists() and not (tmp_path / "none.db").exists()
