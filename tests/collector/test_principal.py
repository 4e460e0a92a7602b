"""The role and scoping rule of collector/web/principal.py (pure)."""

from __future__ import annotations

import pytest

from collector.web.principal import ALLOWED, Action, Principal, Role, anonymous_reads

COUNTY, T1, T2 = "330100000000", "330100001000", "330100002000"
V11, V21 = "330100001001", "330100002001"


def test_township_reads_only_its_regions_and_the_path_above_in_part() -> None:
    p = Principal("乡长", Role.TOWNSHIP, frozenset({T1}), above=frozenset({COUNTY}))
    assert not p.reads_all()
    assert p.can_read_camera((COUNTY, T1, V11), None)
    assert not p.can_read_camera((COUNTY, T2, V21), None)
    assert p.can_read_region((COUNTY, T1)) and p.whole_region((COUNTY, T1))
    assert p.can_read_region((COUNTY, T1, V11)) and p.whole_region((COUNTY, T1, V11))
    assert p.can_read_region((COUNTY,)) and not p.whole_region((COUNTY,))
    assert not p.can_read_region((COUNTY, T2)) and not p.can_read_region((COUNTY, T2, V21))


def test_village_scope_and_contractor_filter() -> None:
    v = Principal("村", Role.TOWNSHIP, frozenset({V11}), above=frozenset({COUNTY, T1}))
    assert v.can_read_region((COUNTY, T1)) and not v.whole_region((COUNTY, T1))
    assert not v.can_read_camera((COUNTY, T1, "330100001002"), None)
    c = Principal("运维", Role.CONTRACTOR, contractor="甲公司")
    assert not c.reads_all()
    assert c.can_read_camera((COUNTY, T2, V21), "甲公司")
    assert not c.can_read_camera((COUNTY, T2, V21), "乙公司")
    assert not c.can_read_camera((COUNTY, T2, V21), None)
    assert not Principal("x", Role.CONTRACTOR).can_read_camera((COUNTY,), None)


@pytest.mark.parametrize(("role", "may"), [
    (Role.ADMIN, set(Action)),
    (Role.ASSESSOR, {Action.APPROVE_EXCLUSION}),
    (Role.CONTRACTOR, {Action.ACK_WORKORDER, Action.CLOSE_WORKORDER, Action.PROPOSE_EXCLUSION}),
    (Role.TOWNSHIP, set()),
    (Role.DUTY, {Action.ACK_WORKORDER, Action.SILENCE}),
])
def test_roles(role: Role, may: set[Action]) -> None:
    p = Principal("u", role)
    assert {a for a in Action if p.can(a)} == may == set(ALLOWED[role])
    assert p.reads_all() is (role is not Role.CONTRACTOR)


def test_anonymous_reads_only_without_accounts() -> None:
    assert anonymous_reads(True, False)
    assert not anonymous_reads(True, True)
    assert not anonymous_reads(False, False)
