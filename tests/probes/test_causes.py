"""The one declaration of causes and picture checks: complete, worded, classed, and a leaf."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from probes import base, vqd
from probes.causes import CAUSES, Cause, CauseClass, cause_names, cause_words
from probes.checks import CHECK_WORDS, VqdName, check_words

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("cause", list(Cause))
def test_every_cause_has_words_and_a_class(cause: Cause) -> None:
    info = CAUSES[cause]
    assert info.zh.strip() and info.en.strip() and isinstance(info.cls, CauseClass)
    assert (cause.words(), cause.words("en"), cause.info) == (info.zh, info.en, info)
    assert (cause_words(cause), cause_words(cause, "en")) == (info.zh, info.en)
    assert cause.network is (info.cls is CauseClass.NETWORK)


def test_the_table_holds_exactly_the_causes_with_distinct_words() -> None:
    assert set(CAUSES) == set(Cause)
    assert len({i.zh for i in CAUSES.values()}) == len({i.en for i in CAUSES.values()}) == len(Cause)
    assert list(cause_names()) == [c.value for c in Cause]
    assert cause_names("en")["unreachable"] == Cause.UNREACHABLE.words("en")


@pytest.mark.parametrize(("cause", "network"), [
    (Cause.UNREACHABLE, True), (Cause.TIMEOUT, True), (Cause.UPSTREAM_DOWN, True),
    (Cause.REFUSED, False), (Cause.AUTH_FAILED, False), (Cause.STREAM_UNAVAILABLE, False),
    (Cause.PROTOCOL_ERROR, False), (Cause.ONVIF_AUTH_FAILED, False), (Cause.ONVIF_ERROR, False),
    (Cause.NO_VIDEO, False), (Cause.PLATFORM_OFFLINE, True), (Cause.CHANNEL_OFF, True), (Cause.NOT_REGISTERED, False),
])
def test_network_class(cause: Cause, network: bool) -> None:
    """Network-class: nothing answered (the link or the power may be down), the causes the
    scheduler checks the upstream device for."""
    assert cause.network is network


@pytest.mark.parametrize("name", list(VqdName))
def test_every_check_has_words(name: VqdName) -> None:
    w = CHECK_WORDS[name]
    assert w.zh.strip() and w.en.strip()
    assert (check_words(name), check_words(name.value, "en")) == (w.zh, w.en)


def test_the_check_table_holds_exactly_the_checks_vqd_runs() -> None:
    assert set(CHECK_WORDS) == set(VqdName)
    assert vqd.VqdName is VqdName and base.Cause is Cause  # the same declarations, re-exported


@pytest.mark.parametrize("module", ["probes/causes.py", "probes/checks.py"])
def test_declarations_are_leaves(module: str) -> None:
    """They import nothing of the project (``dashboards.metrics`` may read probes.causes)."""
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert [n for n in names if n.split(".")[0] in {"probes", "collector", "inventory", "dashboards"}] == []
