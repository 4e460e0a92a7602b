"""The overview's village filter lists the chosen township's villages, all of them while they are
few, and none (with a hint) over a county of thousands until a township is chosen."""

from __future__ import annotations

import pytest

from collector.web.pages.overview import MAX_VILLAGE_OPTIONS, Filters, village_choices

FEW = [("v1", "一村", "t1"), ("v2", "二村", "t1"), ("v3", "三村", "t2")]
MANY = [(f"v{i}", f"村{i}", f"t{i % 50}") for i in range(MAX_VILLAGE_OPTIONS + 1)]


def chosen(township: str | None = None, village: str | None = None) -> Filters:
    return Filters(township, village, None, None, None, False)


@pytest.mark.parametrize("villages, f, codes, later", [
    (FEW, chosen(), ["v1", "v2", "v3"], False),
    (FEW, chosen("t1"), ["v1", "v2"], False),
    (FEW, chosen(village="v3"), ["v3"], False),
    (FEW, chosen("t9"), [], False),
    (MANY, chosen(), [], True),
    (MANY, chosen("t7"), [f"v{i}" for i in range(7, MAX_VILLAGE_OPTIONS + 1, 50)], False),
    (MANY, chosen(village="v57"), [f"v{i}" for i in range(7, MAX_VILLAGE_OPTIONS + 1, 50)], False),
    (MANY, chosen(village="nope"), [], True),
])
def test_village_choices(villages: list[tuple[str, str, str]], f: Filters, codes: list[str], later: bool) -> None:
    got, more = village_choices(villages, f)
    assert [c for c, _, _ in got] == codes and more is later
