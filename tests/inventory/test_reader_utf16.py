"""Inventory files as Excel's "Unicode text (*.txt)" and ledger tools save them: UTF-16 with its BOM
(little endian, as Excel writes it, and big endian), separated by tabs; UTF-8 with tabs; semicolons.
Each imports as the same rows saved as a GB18030 CSV do (re-importing that CSV changes nothing).
UTF-16 without its BOM is an encoding error naming the file, not a table of mojibake. Real SQLite
and PostgreSQL."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from inventory.importer import validate_file
from inventory.reader import sniff_delimiter
from tests.inventory.helpers import box, do_import, migrated, snapshot, write_csv
from tests.inventory.test_import import PASSWORD, ROWS, ZH

# Beyond the BMP (a surrogate pair in UTF-16); a contractor with a comma, a remark with a tab and a
# semicolon: text that holds other delimiters than the file's
NAME = "𠀾家庄学校"
CONTRACTOR = "示范县运维公司,二部;夜班\t值守"


def _rows() -> list[list[str]]:
    rows = [list(r) for r in ROWS]
    rows[2][11] = NAME
    rows[0][21] = CONTRACTOR
    return rows


def _text(delimiter: str, line_end: str = "\r\n") -> str:
    """The table as Excel writes a text file: a cell holding the delimiter, a quote or a line break
    in double quotes, CRLF after each row."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator=line_end)
    w.writerow(ZH)
    w.writerows(_rows())
    return out.getvalue()


def _same_as_the_csv(url: str, tmp_path: Path) -> None:
    """The stored inventory is what the same rows as a GB18030 CSV give: importing that changes nothing."""
    again = do_import(url, write_csv(tmp_path / "same.csv", ZH, _rows(), "gb18030"), dry_run=True)
    assert again.plan.ok and again.plan.empty and again.plan.camera_unchanged == 4, again.plan


def test_excel_unicode_text_utf16_le_with_tabs_imports_everything(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    path = tmp_path / "台账.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + _text("\t").encode("utf-16-le"))
    assert path.read_bytes()[:4] == b"\xff\xfe\xbf\x53"  # (县, as Excel writes it)
    out = do_import(db_url, path)
    assert out.written and out.plan.ok and not out.plan.issues, [i.render() for i in out.plan.issues]
    assert len(out.plan.camera_new) == 4 and len(out.plan.point_new) == 4
    snap = snapshot(db_url)
    assert snap["regions"]["130123101202"][0] == "䶮家庄"
    cam = snap["cameras"][("127.20.0.1", 554, "/Streaming/Channels/101")]
    assert cam[1:6] == ("东关村村口", "13012300001320000001", 80, "admin", PASSWORD)
    assert cam[11] == CONTRACTOR and cam[13] == ("东关村交换机", "127.21.0.1") and cam[14] == dt.date(2023, 5, 1)
    assert snap["cameras"][("127.20.0.3", 8554, "/live")][1:3] == (NAME, "13012300001320000003")
    _same_as_the_csv(db_url, tmp_path)


@pytest.mark.parametrize(("name", "data"), [
    ("be.tsv", codecs.BOM_UTF16_BE + _text("\t").encode("utf-16-be")),
    ("be.csv", codecs.BOM_UTF16_BE + _text(",", "\n").encode("utf-16-be")),
    ("tabs.tsv", _text("\t").encode("utf-8")),  # (no BOM)
    ("tabs.csv", _text("\t", "\n").encode("utf-8-sig")),
    ("semicolons.csv", _text(";").encode("utf-8-sig")),  # (Excel where the list separator is ;)
    ("semicolons.txt", _text(";").encode("gb18030")),
])
def test_other_encodings_and_delimiters_import_the_same(tmp_path: Path, name: str, data: bytes) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'a.db'}")
    path = tmp_path / name
    path.write_bytes(data)
    out = do_import(url, path)
    assert out.written and out.plan.ok and not out.plan.issues, [i.render() for i in out.plan.issues]
    assert len(out.plan.camera_new) == 4
    assert snapshot(url)["cameras"][("127.20.0.1", 554, "/Streaming/Channels/101")][11] == CONTRACTOR
    _same_as_the_csv(url, tmp_path)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_its_bom_is_an_encoding_error(tmp_path: Path, encoding: str) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'a.db'}")
    path = tmp_path / "台账.txt"
    path.write_bytes(_text("\t").encode(encoding))
    out = do_import(url, path)
    [err] = out.plan.issues
    assert err.code == "file_encoding" and not out.written and snapshot(url)["cameras"] == {}
    assert str(path) in err.message() and "带 BOM 的 UTF-16" in err.message() and "不带 BOM 的 UTF-16" in err.message()
    assert "UTF-16 with BOM" in err.message("en") and "UTF-16 without a BOM is not recognised" in err.message("en")
    assert [e.code for e in validate_file(path, box()).errors] == ["file_encoding"]


def test_a_bom_of_a_file_that_is_no_text_is_an_encoding_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "乱码无分隔".encode("utf-16-le"))  # (decodes, but holds no table)
    assert [e.code for e in validate_file(path, box()).errors] == ["file_encoding"]
    path.write_bytes(codecs.BOM_UTF16_LE + b"\x00\xd8,\x00")  # (a lone surrogate)
    assert [e.code for e in validate_file(path, box()).errors] == ["file_encoding"]


def test_an_unknown_suffix_names_the_text_files_accepted(tmp_path: Path) -> None:
    path = tmp_path / "台账.dat"
    path.write_text(_text(","), encoding="utf-8")
    [err] = validate_file(path, box()).errors
    assert err.code == "file_format" and str(path) in err.message()
    assert ".txt" in err.message() and ".tsv" in err.message() and ".txt or .tsv" in err.message("en")
    assert validate_file(path.rename(tmp_path / "台账.TSV"), box()).ok  # (the suffix in any case)


@pytest.mark.parametrize(("text", "delimiter"), [
    ("县/区\t乡镇/街道\t村/社区\n示范县\t城关镇\t东村,西村\n", "\t"),
    ("县/区;乡镇/街道;村/社区\r\n示范县;城关镇;东村,西村,南村\r\n", ";"),
    ("\n\r\n,,\n县/区,乡镇/街道\t备注,村/社区\n", ","),  # (blank lines first; the most frequent)
    ('"县/区,代码"\t"乡镇,街道"\t村/社区\n', "\t"),  # (delimiters in quotes do not count)
    ("县/区,乡镇/街道;村/社区\n", ","),  # (a tie: a comma)
    ("点位名称\n村口\n", ","),  # (one column)
    ("", ","),
])
def test_the_delimiter_is_the_header_lines(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter
