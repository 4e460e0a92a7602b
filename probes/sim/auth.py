"""Server side of camera logins: RTSP Basic/Digest (RFC 2617 and RFC 2069, MD5) and
ONVIF WS-UsernameToken (PasswordDigest and PasswordText)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from datetime import datetime
from enum import Enum

from probes.sim.behaviour import Auth
from probes.sim.state import CameraState

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))')


class Verdict(Enum):
    OK = "ok"
    CHALLENGE = "challenge"  # no (usable) credentials: send a challenge, not a failed login
    STALE = "stale"  # right credentials on an expired nonce
    BAD = "bad"  # wrong credentials
    LOCKED = "locked"  # account locked after too many wrong logins


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class NonceBook:
    """Stateless Digest nonces: issue time plus an HMAC, so any nonce can be checked for age
    and origin without remembering it."""

    def __init__(self) -> None:
        self._secret = os.urandom(16)

    def issue(self, index: int, now: float) -> str:
        stamp = f"{int(now * 1000):012x}"
        return stamp + self._mac(index, stamp)

    def age(self, index: int, nonce: str, now: float) -> float | None:
        """Seconds since the nonce was issued, or None if this camera did not issue it."""
        stamp, mac = nonce[:12], nonce[12:]
        if len(nonce) != 36 or not hmac.compare_digest(mac, self._mac(index, stamp)):
            return None
        try:
            return now - int(stamp, 16) / 1000
        except ValueError:
            return None

    def _mac(self, index: int, stamp: str) -> str:
        return hmac.new(self._secret, f"{index}:{stamp}".encode(), hashlib.sha256).hexdigest()[:24]


def challenge(cam: CameraState, nonces: NonceBook, now: float, *, stale: bool = False) -> str:
    """The ``WWW-Authenticate`` header value for this camera's auth mode."""
    if cam.behaviour.auth is Auth.BASIC:
        return f'Basic realm="{cam.realm}"'
    value = f'Digest realm="{cam.realm}", nonce="{nonces.issue(cam.index, now)}"'
    if cam.behaviour.digest_qop:
        value += ', qop="auth"'
    value += ", algorithm=MD5"
    if stale:
        value += ", stale=TRUE"
    return value


def check_rtsp(cam: CameraState, nonces: NonceBook, method: str, authorization: str | None,
               now: float) -> Verdict:
    """Check an RTSP request's ``Authorization`` header and update the login state."""
    b = cam.behaviour
    if b.auth is Auth.NONE:
        return Verdict.OK
    if not authorization:
        return Verdict.CHALLENGE
    scheme, _, rest = authorization.partition(" ")
    scheme = scheme.lower()
    stale = False
    if b.auth is Auth.BASIC:
        if scheme != "basic":
            return Verdict.CHALLENGE
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode()
            user, _, password = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return Verdict.CHALLENGE
        right = hmac.compare_digest(user, cam.username) and hmac.compare_digest(
            password, cam.password)
    else:
        if scheme != "digest":
            return Verdict.CHALLENGE
        params = {m[0].lower(): m[1] or m[2] for m in _PARAM.findall(rest)}
        nonce = params.get("nonce", "")
        response = params.get("response", "")
        if not nonce or not response:
            return Verdict.CHALLENGE
        ha1 = _md5(f"{params.get('username', '')}:{params.get('realm', '')}:{cam.password}")
        ha2 = _md5(f"{method}:{params.get('uri', '')}")
        qop = params.get("qop")
        if b.digest_qop and qop != "auth":
            return Verdict.CHALLENGE
        if qop:
            expected = _md5(f"{ha1}:{nonce}:{params.get('nc', '')}:{params.get('cnonce', '')}"
                            f":{qop}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        right = (params.get("username") == cam.username and params.get("realm") == cam.realm
                 and hmac.compare_digest(expected, response.lower()))
        age = nonces.age(cam.index, nonce, now)
        stale = age is None or age > b.nonce_ttl_s
    if cam.locked(now):
        return Verdict.LOCKED
    if not right:
        cam.login_failed(now)
        return Verdict.LOCKED if cam.locked(now) else Verdict.BAD
    if stale:
        cam.stale_nonces += 1
        return Verdict.STALE
    cam.login_ok()
    return Verdict.OK


# --- ONVIF WS-UsernameToken ------------------------------------------------------------

_USERNAME = re.compile(rb"<(?:[\w.-]+:)?Username(?:\s[^>]*)?>([^<]*)<")
_PASSWORD = re.compile(rb"<(?:[\w.-]+:)?Password(\s[^>]*)?>([^<]*)<")
_NONCE = re.compile(rb"<(?:[\w.-]+:)?Nonce(?:\s[^>]*)?>([^<]*)<")
_CREATED = re.compile(rb"<(?:[\w.-]+:)?Created(?:\s[^>]*)?>([^<]*)<")


def parse_created(text: str) -> float | None:
    """Epoch seconds of an xs:dateTime such as ``2024-01-01T00:00:00.123Z``."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    return value.timestamp()


def check_username_token(cam: CameraState, body: bytes, now: float) -> Verdict:
    """Check a SOAP request's WS-UsernameToken against the camera's account and skewed clock."""
    user_m = _USERNAME.search(body)
    pass_m = _PASSWORD.search(body)
    if user_m is None or pass_m is None:
        return Verdict.CHALLENGE
    user = user_m.group(1).decode(errors="replace").strip()
    attrs, given = pass_m.group(1) or b"", pass_m.group(2).decode(errors="replace").strip()
    created_m = _CREATED.search(body)
    created_text = created_m.group(1).decode(errors="replace") if created_m else ""
    if b"PasswordDigest" in attrs:
        nonce_m = _NONCE.search(body)
        try:
            nonce = base64.b64decode(nonce_m.group(1).strip(), validate=True) if nonce_m else b""
        except binascii.Error:
            return Verdict.BAD
        digest = base64.b64encode(hashlib.sha1(
            nonce + created_text.encode() + cam.password.encode()).digest()).decode()
        right = hmac.compare_digest(given, digest)
    else:
        right = hmac.compare_digest(given, cam.password)
    right = right and hmac.compare_digest(user, cam.username)
    if cam.locked(now):
        return Verdict.LOCKED
    if not right:
        cam.login_failed(now)
        return Verdict.BAD
    if created_m is not None or b"PasswordDigest" in attrs:
        created = parse_created(created_text)
        camera_now = now + cam.behaviour.clock_skew_s
        if created is None or abs(created - camera_now) > cam.behaviour.onvif_created_tolerance_s:
            return Verdict.STALE
    cam.login_ok()
    return Verdict.OK
