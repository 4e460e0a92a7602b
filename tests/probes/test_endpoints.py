"""EndpointTable: per-camera entries keyed by (host, port) without a key tuple per entry."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from probes.endpoints import EndpointTable


@dataclass
class Entry:
    port: int
    name: str


def test_one_host_many_ports_and_many_hosts() -> None:
    t: EndpointTable[Entry] = EndpointTable()
    a, b, c = Entry(554, "a"), Entry(555, "b"), Entry(554, "c")
    t.put(("10.0.0.1", 554), a)
    t.put(("10.0.0.1", 555), b)  # a port forward behind the same router
    t.put(("10.0.0.2", 554), c)
    assert (t.get(("10.0.0.1", 554)), t.get(("10.0.0.1", 555)), t.get(("10.0.0.2", 554))) == (a, b, c)
    assert t.get(("10.0.0.1", 556)) is None and t.get(("10.0.0.3", 554)) is None
    assert len(t) == 3 and sorted(t.keys()) == [("10.0.0.1", 554), ("10.0.0.1", 555), ("10.0.0.2", 554)]
    assert ("10.0.0.1", 555) in t and ("10.0.0.2", 555) not in t
    # only the first port of a host costs no key tuple
    assert list(t.by_host) == ["10.0.0.1", "10.0.0.2"] and list(t.more) == [("10.0.0.1", 555)]


def test_replace_and_pop_keep_the_other_ports() -> None:
    t: EndpointTable[Entry] = EndpointTable()
    t.put(("h", 554), Entry(554, "old"))
    t.put(("h", 555), Entry(555, "x"))
    t.put(("h", 554), Entry(554, "new"))
    assert t.get(("h", 554)).name == "new" and t.get(("h", 555)).name == "x"  # type: ignore[union-attr]
    assert t.pop(("h", 554)).name == "new"  # type: ignore[union-attr]
    assert t.get(("h", 554)) is None and t.get(("h", 555)).name == "x"  # type: ignore[union-attr]
    # the host's first slot is free again: 555 moves there on its next store, not kept twice
    t.put(("h", 555), Entry(555, "y"))
    assert t.get(("h", 555)).name == "y" and len(t) == 1 and not t.more  # type: ignore[union-attr]
    assert t.pop(("h", 9)) is None and t.pop(("nowhere", 554)) is None


def test_an_entry_must_carry_the_port_of_its_key() -> None:
    t: EndpointTable[Entry] = EndpointTable()
    with pytest.raises(ValueError, match="port 555 stored under port 554"):
        t.put(("h", 554), Entry(555, "wrong"))


def test_drop_oldest_bounds_the_table() -> None:
    t: EndpointTable[Entry] = EndpointTable()
    for i in range(3):
        t.put((f"h{i}", 80), Entry(80, str(i)))
    t.put(("h0", 81), Entry(81, "extra"))
    t.drop_oldest()  # the second-port entries go first
    assert ("h0", 81) not in t and len(t) == 3
    t.drop_oldest()
    assert ("h0", 80) not in t and list(t.keys()) == [("h1", 80), ("h2", 80)]
