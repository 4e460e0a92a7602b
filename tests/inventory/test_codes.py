"""Table tests for region codes and GB/T 28181 IDs."""

from __future__ import annotations

import pytest

from inventory.gbid import GbIdError, gb_warnings, parse_gb_id
from inventory.models import RegionLevel
from inventory.regions import RegionCodeError, check_parent, derive_code, parse_code

C, T, V = RegionLevel.COUNTY, RegionLevel.TOWNSHIP, RegionLevel.VILLAGE


@pytest.mark.parametrize(
    ("raw", "level", "value", "standard"),
    [
        ("130123", C, "130123000000", True),
        ("130123000000", C, "130123000000", True),
        (" 130123101 ", T, "130123101000", True),
        ("130123101000", T, "130123101000", True),
        ("130123101201", V, "130123101201", True),
        ("CUST-01", V, "CUST-01", False),
        ("x1a2b3c4d5e6", T, "x1a2b3c4d5e6", False),
    ],
)
def test_region_codes_accepted(raw: str, level: RegionLevel, value: str, standard: bool) -> None:
    code = parse_code(raw, level)
    assert (code.value, code.standard) == (value, standard)


@pytest.mark.parametrize(
    ("raw", "level", "error"),
    [
        ("13012", C, "region_code_length"),
        ("1301231012", T, "region_code_length"),
        ("130123101", V, "region_code_length"),
        ("130123101000", V, "region_code_level"),
        ("130123101201", T, "region_code_level"),
        ("130123101000", C, "region_code_level"),
        ("000000", C, "region_code_county_zero"),
        ("13012310120a", V, "region_code_invalid"),
        ("村 01", V, "region_code_invalid"),
        ("-abc", V, "region_code_invalid"),
    ],
)
def test_region_codes_rejected(raw: str, level: RegionLevel, error: str) -> None:
    with pytest.raises(RegionCodeError) as exc:
        parse_code(raw, level)
    assert exc.value.code == error


@pytest.mark.parametrize(
    ("child", "level", "parent", "ok"),
    [
        ("130123101201", V, "130123101000", True),
        ("130123102201", V, "130123101000", False),
        ("130123101000", T, "130123000000", True),
        ("130124101000", T, "130123000000", False),
        ("CUST-1", V, "130123101000", True),
        ("130123101201", V, "x0123456789a", True),
    ],
)
def test_check_parent(child: str, level: RegionLevel, parent: str, ok: bool) -> None:
    assert check_parent(child, level, parent) is ok


def test_derived_codes_are_stable_and_distinct() -> None:
    a = derive_code(V, "130123101000", "东关村")
    assert a == derive_code(V, "130123101000", "东关村")
    assert a != derive_code(V, "130123102000", "东关村")
    assert a != derive_code(T, "130123101000", "东关村")
    assert len(a) == 12 and a.startswith("x")
    assert parse_code(a, V).value == a


@pytest.mark.parametrize(
    ("raw", "type_code", "video"),
    [
        ("13012300001320000001", 132, True),
        ("13012300001310000001", 131, True),
        ("34020000001180000001", 118, True),
        ("34020000001340000001", 134, False),
    ],
)
def test_gb_ids_parse(raw: str, type_code: int, video: bool) -> None:
    gb = parse_gb_id(raw)
    assert gb.type_code == type_code and gb.is_video_device is video
    assert gb.centre == raw[:8] and gb.industry == raw[8:10] and gb.network == int(raw[13]) and gb.serial == raw[14:]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("1301230000132000001", "gb_length"),
        ("130123000013200000011", "gb_length"),
        ("1301230000132000000A", "gb_not_digits"),
        ("１３０１２３００００１３２００００００１", "gb_not_digits"),  # full-width digits
        ("99012300001320000001", "gb_province"),
        ("13012300002000000001", "gb_type"),
        ("13012300001100000001", "gb_type"),
        ("", "gb_not_digits"),
    ],
)
def test_gb_ids_malformed(raw: str, error: str) -> None:
    with pytest.raises(GbIdError) as exc:
        parse_gb_id(raw)
    assert exc.value.code == error


def test_gb_warnings() -> None:
    gb = parse_gb_id("13012300001320000001")
    assert gb_warnings(gb, "130123") == []
    assert [c for c, _ in gb_warnings(gb, "130102")] == ["gb_county_mismatch"]
    assert gb_warnings(gb, None) == []
    alarm = parse_gb_id("13012300001340000001")
    assert [c for c, _ in gb_warnings(alarm, "130123")] == ["gb_not_video"]
