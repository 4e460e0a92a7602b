"""RTSP authentication: parsing ``WWW-Authenticate`` challenges and building
``Authorization`` headers for Basic and Digest (RFC 2617 ``qop=auth``, RFC 2069
without qop; MD5, MD5-sess and, where a camera offers it, SHA-256 from RFC 7616).

Pure functions and frozen values; the per-camera cache of the last challenge
lives in :class:`probes.rtsp_state.RtspState`.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class _Digest(Protocol):
    def hexdigest(self) -> str: ...


_HASHES: dict[str, Callable[[bytes], _Digest]] = {"MD5": hashlib.md5, "MD5-SESS": hashlib.md5, "SHA-256": hashlib.sha256, "SHA-256-SESS": hashlib.sha256}

# Texts that cameras of one model share (realm, algorithm), one copy for all the cameras that
# send them. Bounded, not ``sys.intern``: many cameras send a realm of their own (``IP
# Camera(C12345)``, ``Login to <serial>``), and an interned table grows by an entry for each
# (~0.1 KB a camera in a probe worker at 20k cameras); past the bound a text keeps its own copy.
MAX_SHARED = 4096
_SHARED: dict[str, str] = {}


def shared_text(text: str) -> str:
    """*text* as the one copy kept for it, while there is room (see :data:`MAX_SHARED`)."""
    kept = _SHARED.get(text)
    if kept is not None:
        return kept
    if len(_SHARED) < MAX_SHARED:
        _SHARED[text] = text
    return text


@dataclass(frozen=True, slots=True)
class Challenge:
    """One parsed challenge of a ``WWW-Authenticate`` header."""

    scheme: str  # "basic" | "digest" | another scheme, lower case
    realm: str = ""
    nonce: str = ""
    opaque: str | None = None
    algorithm: str | None = None  # as the camera spelled it, or None when absent
    qop_auth: bool = False  # the camera offered qop=auth (RFC 2617); False means RFC 2069
    stale: bool = False


class ChallengeError(ValueError):
    """A ``WWW-Authenticate`` header we cannot parse."""


def _parse_params(text: str, pos: int) -> dict[str, str]:
    """Parse ``k=v, k="quoted, v"`` pairs from ``text[pos:]`` (no regexes)."""
    params: dict[str, str] = {}
    n = len(text)
    while pos < n:
        while pos < n and text[pos] in " \t,":
            pos += 1
        if pos >= n:
            break
        eq = text.find("=", pos)
        if eq < 0:
            raise ChallengeError("auth parameter without '='")
        key = text[pos:eq].strip().lower()
        if not key or " " in key:
            raise ChallengeError("bad auth parameter name")
        pos = eq + 1
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos < n and text[pos] == '"':
            pos += 1
            chunks: list[str] = []
            end = text.find('"', pos)
            while True:  # each character is looked at a bounded number of times (linear)
                if end < 0:
                    raise ChallengeError("unterminated quoted string")
                bs = text.find("\\", pos, end)
                if bs < 0:
                    chunks.append(text[pos:end])
                    pos = end + 1
                    break
                chunks.append(text[pos:bs])
                if bs + 1 < n:
                    chunks.append(text[bs + 1])
                pos = bs + 2
                if pos > end:  # the escaped character was the quote: look for the next one
                    end = text.find('"', pos)
            value = "".join(chunks)
        else:
            end = text.find(",", pos)
            if end < 0:
                end = n
            value = text[pos:end].strip()
            pos = end
        params[key] = value
    return params


def parse_challenge(header: str) -> Challenge:
    """Parse one ``WWW-Authenticate`` value such as ``Digest realm="x", nonce="y"``."""
    text = header.strip()
    sp = text.find(" ")
    scheme = (text if sp < 0 else text[:sp]).lower()
    if not scheme:
        raise ChallengeError("empty challenge")
    params = _parse_params(text, len(text) if sp < 0 else sp + 1)
    if scheme == "digest":
        if "nonce" not in params:
            raise ChallengeError("digest challenge without a nonce")
        qop = params.get("qop")
        qop_auth = False
        if qop is not None:
            qop_auth = any(q.strip().lower() == "auth" for q in qop.split(","))
        algorithm = params.get("algorithm")
        if algorithm is not None and algorithm.upper() not in _HASHES:
            raise ChallengeError(f"unsupported digest algorithm {algorithm[:32]!r}")
        opaque = params.get("opaque")
        return Challenge(  # texts that cameras of one model share are shared (kept per camera)
            scheme="digest",
            realm=shared_text(params.get("realm", "")),
            nonce=params["nonce"],
            opaque=opaque,  # (often fresh with each nonce: not shared)
            algorithm=None if algorithm is None else shared_text(algorithm),
            qop_auth=qop_auth,
            stale=params.get("stale", "").lower() == "true",
        )
    return Challenge(scheme=scheme, realm=params.get("realm", ""))


def split_challenges(header: str) -> list[str]:
    """The challenges of one ``WWW-Authenticate`` value. RFC 7235 lets a camera put several in one
    comma-separated line (``Digest realm="a", nonce="1", algorithm=SHA-256, Digest realm="a",
    nonce="2"``): an element that is a scheme (a token not followed by ``=``, alone or before its
    parameters or token68) starts a challenge, an ``name=value`` element belongs to the one before.
    Quoted strings may hold commas. Linear in the header."""
    elements: list[str] = []
    start, quoted, escaped = 0, False, False
    for i, c in enumerate(header):
        if escaped:
            escaped = False
        elif quoted:
            if c == "\\":
                escaped = True
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == ",":
            elements.append(header[start:i])
            start = i + 1
    elements.append(header[start:])
    challenges: list[str] = []
    for element in elements:
        el = element.strip()
        if not el:
            continue
        end = 0
        while end < len(el) and el[end] not in " \t=":
            end += 1
        is_param = el[end:].lstrip(" \t").startswith("=")
        if is_param and challenges:
            challenges[-1] += ", " + el
        else:
            challenges.append(el)
    return challenges


def choose_challenge(headers: list[str]) -> Challenge | None:
    """The strongest challenge we support among a reply's ``WWW-Authenticate`` headers (each may
    hold several: :func:`split_challenges`).

    Digest beats Basic (a Basic password crosses the network in clear). Challenges we
    cannot parse are ignored; ``None`` when nothing usable is offered.
    """
    best: Challenge | None = None
    for h in headers:
        for text in split_challenges(h):
            try:
                ch = parse_challenge(text)
            except ChallengeError:
                continue
            if ch.scheme == "digest":
                # Prefer a SHA-256 digest over MD5 only when both are offered.
                if best is None or best.scheme != "digest" or (ch.algorithm or "").upper().startswith("SHA"):
                    best = ch
            elif ch.scheme == "basic" and best is None:
                best = ch
    return best


def offered_schemes(headers: list[str]) -> list[str]:
    """What a 401 offers, in words for a detail (camera text: the caller masks and cuts it): each
    challenge's scheme as the camera spelled it (``NTLM``, ``Negotiate``), a Digest one with its
    algorithm when it names one; each once, in order. Empty when the 401 offers nothing."""
    names: list[str] = []
    for h in headers:
        for text in split_challenges(h):
            scheme = text.split(None, 1)[0]
            if scheme.lower() == "digest":
                try:
                    algorithm = _parse_params(text, len(scheme)).get("algorithm")
                except ChallengeError:
                    algorithm = None
                if algorithm:
                    scheme += f" {algorithm}"
            if scheme not in names:
                names.append(scheme)
    return names


def basic_header(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return "Basic " + token


def _h(fn: Callable[[bytes], _Digest], s: str) -> str:
    return fn(s.encode()).hexdigest()


def digest_header(
    ch: Challenge,
    username: str,
    password: str,
    method: str,
    uri: str,
    nc: int,
    cnonce: str | None = None,
) -> str:
    """The ``Authorization`` value answering digest challenge *ch* (RFC 2617 / RFC 2069)."""
    algo = (ch.algorithm or "MD5").upper()
    fn = _HASHES[algo]
    ha1 = _h(fn, f"{username}:{ch.realm}:{password}")
    if (ch.qop_auth or algo.endswith("-SESS")) and cnonce is None:
        cnonce = f"{random.getrandbits(64):016x}"  # a client nonce, not a secret
    if algo.endswith("-SESS"):
        ha1 = _h(fn, f"{ha1}:{ch.nonce}:{cnonce}")
    ha2 = _h(fn, f"{method}:{uri}")
    parts = [
        f'Digest username="{_quote(username)}"',
        f'realm="{_quote(ch.realm)}"',
        f'nonce="{_quote(ch.nonce)}"',
        f'uri="{_quote(uri)}"',
    ]
    if ch.qop_auth:
        ncs = f"{nc:08x}"
        response = _h(fn, f"{ha1}:{ch.nonce}:{ncs}:{cnonce}:auth:{ha2}")
        parts.append(f'response="{response}"')
        parts.append(f'cnonce="{cnonce}"')
        parts.append(f"nc={ncs}")
        parts.append("qop=auth")
    else:
        response = _h(fn, f"{ha1}:{ch.nonce}:{ha2}")
        parts.append(f'response="{response}"')
        if cnonce is not None:  # MD5-sess without qop still needs the cnonce
            parts.append(f'cnonce="{cnonce}"')
    if ch.algorithm is not None:
        parts.append(f"algorithm={ch.algorithm}")
    if ch.opaque is not None:
        parts.append(f'opaque="{_quote(ch.opaque)}"')
    return ", ".join(parts)


def _quote(s: str) -> str:
    if '"' in s or "\\" in s:
        return s.replace("\\", "\\\\").replace('"', '\\"')
    return s
