"""The console's cache of derived lists: kept a few seconds, never shared between scopes."""

from __future__ import annotations

from collector.web.pages.derived import MAX_ENTRIES, Derived, scope_key
from collector.web.principal import Principal, Role


def test_kept_for_ttl_then_made_again() -> None:
    now = [100.0]
    d = Derived(ttl_s=3.0, clock=lambda: now[0])
    made: list[int] = []

    def make() -> list[int]:
        made.append(len(made))
        return list(made)

    assert d.get("k", make) == [0]
    now[0] += 2.9
    assert d.get("k", make) == [0] and len(made) == 1  # within the TTL: the same list
    now[0] += 0.2
    assert d.get("k", make) == [0, 1] and len(made) == 2  # expired: made again


def test_scopes_never_share() -> None:
    town_a = Principal("a", Role.TOWNSHIP, frozenset({"t1"}))
    town_b = Principal("b", Role.TOWNSHIP, frozenset({"t2"}))
    contractor = Principal("c", Role.CONTRACTOR, contractor="X")
    other_contractor = Principal("d", Role.CONTRACTOR, contractor="Y")
    keys = {scope_key(p) for p in (None, Principal("adm", Role.ADMIN), town_a, town_b, contractor, other_contractor)}
    assert len(keys) == 6
    # readers of the same scope share (an admin and a duty officer both read everything)
    assert scope_key(Principal("adm", Role.ADMIN)) == scope_key(Principal("duty", Role.DUTY))
    assert scope_key(town_a) == scope_key(Principal("a2", Role.TOWNSHIP, frozenset({"t1"})))


def test_bounded() -> None:
    d = Derived(ttl_s=60.0, clock=lambda: 0.0)
    for i in range(MAX_ENTRIES * 3):
        d.get(("filter", i), lambda: i)  # noqa: B023 - made and used at once
    assert len(d._items) <= MAX_ENTRIES
