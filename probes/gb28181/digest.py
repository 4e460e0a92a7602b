"""HTTP Digest authentication for SIP REGISTER (RFC 2617 / RFC 7616, MD5, ``qop=auth``), the
server side with its nonces, and the client side (for the simulator).

Nonces are stateless: the issue time and an HMAC of it under a per-process key, so any
nonce this process issued can be checked without storage, and expires after
``ttl_s`` (the client is then told ``stale=true`` and retries without asking its user). The
nonce counts seen with ``qop=auth`` are remembered (bounded) to refuse a replayed answer.
An answer without ``qop`` (RFC 2069) carries no count, so its nonce is good for one answer: the
same answer again is :attr:`AuthResult.REPEATED` (a replay, or a device retransmitting a REGISTER
whose 200 was lost: the caller tells them apart by the sender, :func:`answer_of` naming the
answer), otherwise told ``stale=true`` with a fresh nonce, which an honest device answers anew.

A device that ignores ``qop`` and answers in the RFC 2069 form (no ``qop``, ``nc``, ``cnonce``)
is accepted when ``allow_rfc2069`` (many GB/T 28181 cameras do this). Nothing here logs, and
no error text holds a password or a response value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from probes.gb28181.fields import parse_params, split_outside_quotes
from probes.gb28181.sip import SipError

NONCE_USED = 1 << 40  # (above any 8-hex-digit nc) a nonce an RFC 2069 answer used: not good again


class AuthResult(StrEnum):
    OK = "ok"
    STALE = "stale"  # a nonce of ours that expired: challenge again with stale=true
    REPEATED = "repeated"  # a right answer already taken (same nonce and count): a replay or a retransmission
    WRONG = "wrong"  # a well-formed answer with a wrong password (counts against the source)
    MALFORMED = "malformed"  # not a Digest answer we can check (wrong realm, algorithm, nonce ...)


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def parse_authorization(value: str) -> dict[str, str]:
    """The parameters of a ``Digest`` Authorization value (names lower-cased)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise SipError("not a Digest authorization")
    return parse_params(split_outside_quotes(rest, ","))


def answer_of(value: str) -> tuple[str, str] | None:
    """An Authorization value's nonce and response (lower-cased): what an identical, retransmitted
    answer repeats; None when it has neither."""
    try:
        p = parse_authorization(value)
    except SipError:
        return None
    return (p["nonce"], p["response"].lower()) if "nonce" in p and "response" in p else None


def digest_response(*, username: str, realm: str, password: str, method: str, uri: str, nonce: str,
                    qop: str | None = None, nc: str = "", cnonce: str = "") -> str:
    ha1 = md5_hex(f"{username}:{realm}:{password}")
    ha2 = md5_hex(f"{method}:{uri}")
    if qop:
        return md5_hex(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return md5_hex(f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True, slots=True)
class Challenge:
    realm: str
    nonce: str
    qop: str | None
    opaque: str | None = None
    stale: bool = False
    algorithm: str = "MD5"


def parse_challenge(value: str) -> Challenge:
    """A WWW-Authenticate value (client side)."""
    p = parse_authorization(value)
    if "realm" not in p or "nonce" not in p:
        raise SipError("challenge without realm or nonce")
    qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
    return Challenge(p["realm"], p["nonce"], "auth" if "auth" in qops else None, p.get("opaque"),
                     p.get("stale", "").lower() == "true", p.get("algorithm", "MD5"))


def authorization(ch: Challenge, *, username: str, password: str, method: str, uri: str,
                  nc: int = 1, cnonce: str | None = None) -> str:
    """The Authorization value answering *ch* (client side)."""
    cn = cnonce or secrets.token_hex(8)
    ncs = f"{nc:08x}"
    resp = digest_response(username=username, realm=ch.realm, password=password, method=method, uri=uri,
                           nonce=ch.nonce, qop=ch.qop, nc=ncs, cnonce=cn)
    parts = [f'username="{username}"', f'realm="{ch.realm}"', f'nonce="{ch.nonce}"', f'uri="{uri}"',
             f'response="{resp}"', "algorithm=MD5"]
    if ch.qop:
        parts += [f"qop={ch.qop}", f"nc={ncs}", f'cnonce="{cn}"']
    if ch.opaque is not None:
        parts.append(f'opaque="{ch.opaque}"')
    return "Digest " + ", ".join(parts)


class DigestServer:
    """Issues challenges and checks answers for one realm."""

    def __init__(self, realm: str, *, ttl_s: float = 300.0, allow_rfc2069: bool = True,
                 key: bytes | None = None, max_tracked: int = 100_000) -> None:
        self.realm = realm
        self.ttl_s = ttl_s
        self.allow_rfc2069 = allow_rfc2069
        self._key = key or secrets.token_bytes(32)
        self._nc: OrderedDict[str, int] = OrderedDict()
        self._max_tracked = max_tracked

    def nonce(self, now: float) -> str:
        stamp = struct.pack(">d", now) + secrets.token_bytes(4)
        mac = hmac.digest(self._key, stamp, "sha256")[:12]
        return base64.urlsafe_b64encode(stamp + mac).decode("ascii")

    def _issued_at(self, nonce: str) -> float | None:
        try:
            raw = base64.urlsafe_b64decode(nonce.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            return None
        if len(raw) != 24:
            return None
        stamp, mac = raw[:12], raw[12:]
        if not hmac.compare_digest(mac, hmac.digest(self._key, stamp, "sha256")[:12]):
            return None
        return float(struct.unpack(">d", stamp[:8])[0])

    def challenge(self, now: float, *, stale: bool = False) -> str:
        """A WWW-Authenticate value with a fresh nonce."""
        value = f'Digest realm="{self.realm}", nonce="{self.nonce(now)}", algorithm=MD5, qop="auth"'
        return value + ", stale=true" if stale else value

    def check(self, authorization_value: str, *, method: str, password: str, now: float,
              username: str | None = None) -> AuthResult:
        """Check an Authorization value against *password*. *username*, when given, must be
        the one in the answer (GB/T 28181: the device ID)."""
        try:
            p = parse_authorization(authorization_value)
        except SipError:
            return AuthResult.MALFORMED
        for name in ("username", "realm", "nonce", "uri", "response"):
            if name not in p:
                return AuthResult.MALFORMED
        if p["realm"] != self.realm or p.get("algorithm", "MD5").upper() != "MD5":
            return AuthResult.MALFORMED
        if username is not None and p["username"] != username:
            return AuthResult.MALFORMED
        issued = self._issued_at(p["nonce"])
        if issued is None or issued > now + 5:
            return AuthResult.MALFORMED
        qop = p.get("qop")
        if qop is not None:
            if qop != "auth" or "nc" not in p or "cnonce" not in p:
                return AuthResult.MALFORMED
            try:
                nc = int(p["nc"], 16)
            except ValueError:
                return AuthResult.MALFORMED
        elif not self.allow_rfc2069:
            return AuthResult.MALFORMED
        want = digest_response(username=p["username"], realm=self.realm, password=password, method=method,
                               uri=p["uri"], nonce=p["nonce"], qop=qop, nc=p.get("nc", ""),
                               cnonce=p.get("cnonce", ""))
        if not hmac.compare_digest(want.encode("ascii"), p["response"].lower().encode("ascii", "replace")):
            return AuthResult.WRONG
        if now - issued > self.ttl_s:
            return AuthResult.STALE
        if qop is None:
            nc = NONCE_USED  # RFC 2069 has no count to tell a replay by: its nonce is good once
        seen = self._nc.get(p["nonce"], 0)
        if nc <= seen or seen == NONCE_USED:
            return AuthResult.REPEATED  # a replayed, retransmitted (or reordered) answer: not taken again
        self._nc[p["nonce"]] = nc
        self._nc.move_to_end(p["nonce"])
        while len(self._nc) > self._max_tracked:
            self._nc.popitem(last=False)
        return AuthResult.OK
