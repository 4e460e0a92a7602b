"""Digest authentication: RFC 2617's own example, the server's nonces (stale, forged, replayed)
and the RFC 2069 answers many GB/T 28181 cameras send."""

from __future__ import annotations

import pytest

from probes.gb28181.digest import AuthResult, DigestServer, authorization, digest_response, parse_challenge

REALM = "3402000000"
DEV = "34020000001320000001"
URI = "sip:34020000002000000001@3402000000"


def test_rfc2617_example() -> None:
    assert digest_response(username="Mufasa", realm="testrealm@host.com", password="Circle Of Life", method="GET",
                           uri="/dir/index.html", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop="auth",
                           nc="00000001", cnonce="0a4f113b") == "6629fae49393a05397450978507c4ef1"


def _answer(server: DigestServer, now: float, password: str, *, nc: int = 1, qop: bool = True,
            realm: str | None = None) -> str:
    ch = parse_challenge(server.challenge(now))
    if not qop:
        ch = type(ch)(ch.realm, ch.nonce, None)
    if realm is not None:
        ch = type(ch)(realm, ch.nonce, ch.qop)
    return authorization(ch, username=DEV, password=password, method="REGISTER", uri=URI, nc=nc)


def test_right_wrong_and_stale() -> None:
    s = DigestServer(REALM, ttl_s=300)
    ok = _answer(s, 1000.0, "12345678")
    assert s.check(ok, method="REGISTER", password="12345678", now=1001.0, username=DEV) is AuthResult.OK
    wrong = _answer(s, 1000.0, "guess")
    assert s.check(wrong, method="REGISTER", password="12345678", now=1001.0) is AuthResult.WRONG
    late = _answer(s, 1000.0, "12345678")
    assert s.check(late, method="REGISTER", password="12345678", now=1400.0) is AuthResult.STALE
    ch = parse_challenge(s.challenge(1400.0, stale=True))
    assert ch.stale and ch.qop == "auth" and ch.realm == REALM


def test_replayed_answer_is_not_taken_twice() -> None:
    s = DigestServer(REALM)
    ans = _answer(s, 10.0, "pw")
    assert s.check(ans, method="REGISTER", password="pw", now=11.0) is AuthResult.OK
    assert s.check(ans, method="REGISTER", password="pw", now=12.0) is AuthResult.REPEATED
    ch = parse_challenge(ans.replace("Digest", "Digest", 1))  # same nonce, next count
    nxt = authorization(type(ch)(REALM, ch.nonce, "auth"), username=DEV, password="pw", method="REGISTER", uri=URI, nc=2)
    assert s.check(nxt, method="REGISTER", password="pw", now=13.0) is AuthResult.OK


@pytest.mark.parametrize(("allow", "want"), [(True, AuthResult.OK), (False, AuthResult.MALFORMED)])
def test_rfc2069_answers(allow: bool, want: AuthResult) -> None:
    s = DigestServer(REALM, allow_rfc2069=allow)
    ans = _answer(s, 10.0, "pw", qop=False)
    assert "qop" not in ans and s.check(ans, method="REGISTER", password="pw", now=11.0) is want


def test_foreign_nonce_realm_user_or_scheme_are_malformed() -> None:
    s, other = DigestServer(REALM), DigestServer(REALM)
    forged = _answer(other, 10.0, "pw")  # another key: not our nonce
    assert s.check(forged, method="REGISTER", password="pw", now=11.0) is AuthResult.MALFORMED
    assert s.check(_answer(s, 10.0, "pw", realm="elsewhere"), method="REGISTER", password="pw",
                   now=11.0) is AuthResult.MALFORMED
    assert s.check(_answer(s, 10.0, "pw"), method="REGISTER", password="pw", now=11.0,
                   username="34020000001320000099") is AuthResult.MALFORMED
    for bad in ("Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Digest", 'Digest username="x"', 'Digest realm="a, b'):
        assert s.check(bad, method="REGISTER", password="pw", now=11.0) is AuthResult.MALFORMED
    future = _answer(s, 1000.0, "pw")  # a nonce dated in the future
    assert s.check(future, method="REGISTER", password="pw", now=10.0) is AuthResult.MALFORMED
