"""A CSV read strictly: a quoted cell never closed (it would swallow the rows after it, and the import
would retire their cameras) is an error naming the line it opens on, with nothing written; rows are
located by the line they start on (a remark with line breaks in quotes moves no row's number); a
password ``env:`` followed by no valid variable name is a row error, not stored as a literal password.
Real SQLite."""

from __future__ import annotations

import io
from pathlib import Path

from inventory.importer import validate_file
from tests.inventory.helpers import box, do_import, migrated, snapshot, write_csv
from tests.inventory.test_import import ROWS, ZH

REMARK = "备注"


def _lines(rows: list[list[str]]) -> str:
    import csv

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([*ZH, REMARK])
    w.writerows([[*r, ""] for r in rows])
    return out.getvalue()


def test_an_unclosed_quote_is_an_error_at_its_line_and_nothing_is_written(db_url: str, tmp_path: Path) -> None:
    url = migrated(db_url)
    good = write_csv(tmp_path / "good.csv", ZH, [list(r) for r in ROWS])
    assert do_import(url, good).written
    before = snapshot(url)
    lines = _lines([list(r) for r in ROWS]).splitlines()
    lines[2] = lines[2] + '"立杆高3米'  # the second data row's remark opens a quote never closed
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plan = validate_file(bad, box())
    codes = [(i.code, i.params.get("line"), i.params.get("lines")) for i in plan.issues]
    assert codes == [("csv_quote_unclosed", 3, len(lines) - 3)], codes
    assert "第 3 行" in plan.issues[0].message("zh") and "line 3" in plan.issues[0].message("en")
    outcome = do_import(url, bad)
    assert not outcome.written
    assert snapshot(url) == before  # no camera retired


def test_a_quoted_remark_with_line_breaks_keeps_the_rows_numbers(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    text = _lines(rows).splitlines()
    # the first data row's remark spans three lines and its IP is bad: its error names line 2, where it
    # starts (not 4); the third row's IP is bad too: line 6 (header 1, row one 2-4, row two 5, row three 6)
    text[1] = text[1].replace(rows[0][13], "300.1.1.1") + '"立杆高3米\n朝南\n夜间补光"'
    text[3] = text[3].replace(rows[2][13], "300.1.1.2")
    path = tmp_path / "remark.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    plan = validate_file(path, box())
    errors = sorted({i.row for i in plan.issues if i.severity.value == "error"})
    assert errors == [2, 6], [(i.code, i.row) for i in plan.issues]


def test_an_env_password_without_a_valid_name_is_a_row_error(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    col = ZH.index("密码")
    rows[0][col] = "env:1bad name"
    rows[1][col] = "env:CAMERA_PW_OK"  # (a good reference: a warning at most when unset)
    plan = validate_file(write_csv(tmp_path / "env.csv", ZH, rows), box())
    errors = [(i.code, i.row, i.column) for i in plan.issues if i.severity.value == "error"]
    assert errors == [("password_env_name", 2, "密码")], errors
    assert "1bad" not in plan.issues[0].message("zh")  # (not echoed: it might be a password after all)


def test_cells_right_of_the_last_header_are_a_warning(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[0] = [*rows[0], "extra", "cells"]
    rows[2] = [*rows[2], "", ""]  # (empty cells there: a trailing delimiter, nothing said)
    plan = validate_file(write_csv(tmp_path / "wide.csv", ZH, rows), box())
    warned = [i for i in plan.issues if i.code == "cells_beyond_header"]
    assert len(warned) == 1 and warned[0].params == {"rows": "2", "count": 1}, plan.issues
    assert "第 2 行" in warned[0].message("zh") and not [i for i in plan.issues if i.severity.value == "error"]


def test_an_rtsp_path_with_a_space_is_a_row_error(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    col = ZH.index("RTSP路径")
    rows[1][col] = "/Streaming/Channels 101"
    plan = validate_file(write_csv(tmp_path / "space.csv", ZH, rows), box())
    errors = [(i.code, i.row, i.column) for i in plan.issues if i.severity.value == "error"]
    assert errors == [("rtsp_path_space", 3, "RTSP路径")], errors
    assert "%20" in plan.issues[0].message("zh")


def test_quotes_as_excel_reads_them_and_a_long_remark_import(tmp_path: Path) -> None:
    """A quote closed before more text (`"高清"球机`), a space after a closing quote, and a closed
    remark of 25 lines read as before (Excel and WPS read them so): no error."""
    lines = _lines([list(r) for r in ROWS]).splitlines()
    lines[1] = lines[1].replace("东关村村口", '"高清"球机')
    lines[2] = lines[2] + '"立杆" '
    lines[3] = lines[3] + '"' + "\n".join(f"第{k}行备注" for k in range(25)) + '"'
    path = tmp_path / "lenient.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plan = validate_file(path, box())
    assert not [i for i in plan.issues if i.severity.value == "error"], [(i.code, i.row) for i in plan.issues]


def test_a_file_in_big5_says_its_encoding_may_be_the_matter(tmp_path: Path) -> None:
    path = tmp_path / "big5.csv"
    path.write_bytes(_lines([list(r) for r in ROWS[:2]]).encode("big5", errors="replace"))
    plan = validate_file(path, box())
    codes = [i.code for i in plan.issues if i.severity.value == "error"]
    assert "header_none_known" in codes and "Big5" in next(i for i in plan.issues if i.code == "header_none_known").message("zh")
