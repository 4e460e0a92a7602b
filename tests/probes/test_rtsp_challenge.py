"""Parsing RTSP challenges: what a challenge keeps of each camera's text (probes/rtsp_auth.py).

A county's cameras of one model send one realm: one copy serves them all. Many cameras send a
realm of their own (``IP Camera(C12345)``): each keeps its own, and the shared table stops
growing at its bound (an interned table grew by an entry for each, for the process's life)."""

from __future__ import annotations

import pytest

from probes import rtsp_auth
from probes.rtsp_auth import Challenge, ChallengeError, parse_challenge


@pytest.mark.parametrize(("header", "want"), [
    ('Digest realm="IP Camera(C1)", nonce="abc"', Challenge("digest", "IP Camera(C1)", "abc")),
    ('Digest realm="x", nonce="n", qop="auth,auth-int", algorithm=MD5, opaque="o"',
     Challenge("digest", "x", "n", "o", "MD5", True)),
    ('Digest realm="a\\"b", nonce="n", stale=TRUE', Challenge("digest", 'a"b', "n", stale=True)),
    ('Basic realm="cam"', Challenge("basic", "cam")),
])
def test_challenges_parse(header: str, want: Challenge) -> None:
    assert parse_challenge(header) == want


@pytest.mark.parametrize("header", ['Digest realm="x"', "", 'Digest realm="x", nonce="n", algorithm=MD4'])
def test_bad_challenges_are_refused(header: str) -> None:
    with pytest.raises(ChallengeError):
        parse_challenge(header)


def test_shared_realms_are_one_object_and_the_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rtsp_auth, "_SHARED", {})
    monkeypatch.setattr(rtsp_auth, "MAX_SHARED", 100)
    # ("".join: a new str object each time, as read off the wire)
    a = parse_challenge("".join(['Digest realm="Hik', 'vision", nonce="1"']))
    b = parse_challenge("".join(['Digest realm="Hik', 'vision", nonce="2"']))
    assert a.realm is b.realm
    for i in range(1000):  # cameras with realms of their own
        parse_challenge(f'Digest realm="IP Camera({i:06d})", nonce="{i}"')
    assert len(rtsp_auth._SHARED) == 100
    c = parse_challenge("".join(['Digest realm="IP Camera(000999)', '", nonce="x"']))
    d = parse_challenge("".join(['Digest realm="IP Camera(000999)', '", nonce="y"']))
    assert c.realm == d.realm and c.realm is not d.realm  # past the bound: each its own copy
    assert parse_challenge("".join(['Digest realm="Hik', 'vision", nonce="3"'])).realm is a.realm
