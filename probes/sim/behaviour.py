"""What a simulated camera does: one frozen :class:`Behaviour` per camera, changeable at run time.

Time-based parts (flapping, scripted down intervals) are evaluated by the worker from wall-clock
time (``time.time()``), so a test can predict them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any


class Power(StrEnum):
    UP = "up"
    DOWN = "down"  # listening sockets closed: connects are refused (RST)
    HANG = "hang"  # connections accepted, never answered


class Picture(StrEnum):
    """What the video shows (pre-encoded frames: see probes.sim.h264)."""

    SCENE = "scene"  # a village road with a car driving along it: passes every picture check
    FROZEN = "frozen"  # the scene's first frame, repeated: frozen (画面冻结)
    BARS = "bars"  # SMPTE colour bars, an encoder without input: signal_loss (信号丢失)
    BLACK = "black"  # a black picture: black (黑屏)


class Auth(StrEnum):
    NONE = "none"
    BASIC = "basic"
    DIGEST = "digest"


class Reply(StrEnum):
    NORMAL = "normal"
    GARBAGE = "garbage"  # non-RTSP / non-HTTP bytes, then close
    OVERSIZED = "oversized"  # a valid status line followed by one huge header line
    # Hostile ONVIF replies (onvif_reply only; served by probes.sim.hostile_http):
    ENTITY_BOMB = "entity_bomb"  # 200 with a DTD of nested entities ("billion laughs")
    EXTERNAL_ENTITY = "external_entity"  # 200 with a DTD naming an external entity (a local file)
    HUGE_BODY = "huge_body"  # 200 without Content-Length: 50 MB of XML, then close
    ENDLESS_CHUNKS = "endless_chunks"  # 200 chunked: 1-byte chunks that never end
    BYTE_CHUNKS = "byte_chunks"  # the right reply, chunked in 1-byte chunks
    # Hostile RTSP replies (rtsp_reply only; probes.sim.hostile_rtsp unless said otherwise):
    TRICKLE = "trickle"  # a valid reply at 1 byte/s
    MANY_HEADERS = "many_headers"  # a status line and 100,000 header lines
    BIG_SDP = "big_sdp"  # 200 with a 5 MB SDP
    ENDLESS_401 = "endless_401"  # every request 401 with a new nonce marked stale
    TLS = "tls"  # a TLS alert, then a reset: a TLS server on the RTSP port
    WRONG_CSEQ = "wrong_cseq"  # normal replies with the wrong CSeq (rtsp_server)
    CLOSE_AFTER_401 = "close_after_401"  # healthy, but every 401 says Connection: close and closes (rtsp_server)
    # A camera repeating the credentials (rtsp_reply: the decoded Basic login in every 401's reason
    # phrase and Server header; onvif_reply: its password in a 500's reason phrase and SOAP fault):
    ECHO_CREDENTIALS = "echo_credentials"


# RTSP statuses a camera may answer DESCRIBE with instead of 200.
DESCRIBE_STATUSES: dict[int, str] = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    453: "Not Enough Bandwidth",
    454: "Session Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class BehaviourError(ValueError):
    """A behaviour (or its JSON form) is invalid."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Everything a simulated camera can be told to do. All fields have working defaults.

    ``power``: up, down (refused) or hang (accept, never answer); applies to both ports.
    ``delay_s``: every reply (RTSP and ONVIF) is delayed by this many seconds ("slow").
    ``auth`` / ``digest_qop``: RTSP auth for DESCRIBE, SETUP, PLAY, TEARDOWN (OPTIONS is open);
    Digest with ``qop=auth`` (RFC 2617) or without qop (RFC 2069), MD5.
    ``nonce_ttl_s``: a Digest nonce older than this is answered 401 with ``stale=true``.
    ``lockout_after`` / ``lockout_s``: after this many consecutive wrong logins (RTSP or ONVIF;
    0 = never) every login fails for ``lockout_s`` seconds, right credentials included.
    ``describe_status``: DESCRIBE answers this status after auth (e.g. 404, 453, 454, 503).
    ``max_sessions``: SETUP beyond this many concurrent sessions answers 453 (0 = no limit).
    ``video``: False serves an SDP with only an audio track.
    ``stream``: after PLAY, send RTP (H.264, 640x360, 25 fps) over the interleaved channel.
    ``picture``: what that video shows: scene (a village road with a car driving by: passes every
    picture check), frozen (the scene's first frame, repeated), bars (SMPTE colour bars: signal
    loss) or black. Read at every frame: a change shows in the running streams at once.
    ``clock_skew_s``: the camera's clock (ONVIF GetSystemDateAndTime, and the reference for
    WS-UsernameToken ``Created``) is this far ahead of true time (negative: behind).
    ``flap_up_s`` / ``flap_down_s``: when both > 0 the camera alternates up/down; cycle anchored
    at epoch 0: up while ``time.time() % (up + down) < up``.
    ``down_intervals``: absolute ``(start, end)`` epoch seconds during which the camera is down.
    ``rtsp_reply`` / ``onvif_reply``: normal, garbage bytes, or an oversized header line of
    ``oversized_bytes`` bytes.
    ``redirect_to``: when set (an ``rtsp://`` URL), DESCRIBE answers 302 with this Location
    before asking for a login.
    ``onvif``: False closes the ONVIF port (refused) while RTSP works.
    ``onvif_auth``: ONVIF calls other than GetSystemDateAndTime need a WS-UsernameToken.
    ``onvif_auth_time``: GetSystemDateAndTime needs one too (some cameras do).
    ``onvif_not_authorized``: every authenticated ONVIF call fails with ``ter:NotAuthorized``.
    ``onvif_created_tolerance_s``: a token ``Created`` further than this from the camera's
    (skewed) clock is rejected.
    """

    power: Power = Power.UP
    delay_s: float = 0.0
    auth: Auth = Auth.DIGEST
    digest_qop: bool = True
    nonce_ttl_s: float = 60.0
    lockout_after: int = 0
    lockout_s: float = 30.0
    describe_status: int = 200
    max_sessions: int = 0
    video: bool = True
    stream: bool = True
    picture: Picture = Picture.SCENE
    clock_skew_s: float = 0.0
    flap_up_s: float = 0.0
    flap_down_s: float = 0.0
    down_intervals: tuple[tuple[float, float], ...] = ()
    rtsp_reply: Reply = Reply.NORMAL
    onvif_reply: Reply = Reply.NORMAL
    oversized_bytes: int = 1_048_576
    redirect_to: str = ""
    onvif: bool = True
    onvif_auth: bool = True
    onvif_auth_time: bool = False
    onvif_not_authorized: bool = False
    onvif_created_tolerance_s: float = 5.0

    def __post_init__(self) -> None:
        # Coerce plain strings (e.g. from JSON or callers) into the enums, then validate.
        try:
            object.__setattr__(self, "power", Power(self.power))
            object.__setattr__(self, "auth", Auth(self.auth))
            object.__setattr__(self, "picture", Picture(self.picture))
            object.__setattr__(self, "rtsp_reply", Reply(self.rtsp_reply))
            object.__setattr__(self, "onvif_reply", Reply(self.onvif_reply))
        except ValueError as exc:
            raise BehaviourError(str(exc)) from None
        object.__setattr__(
            self,
            "down_intervals",
            tuple((float(a), float(b)) for a, b in self.down_intervals),
        )
        for name in ("delay_s", "nonce_ttl_s", "lockout_s", "flap_up_s", "flap_down_s",
                     "onvif_created_tolerance_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise BehaviourError(f"{name} must be a finite number >= 0")
        if not isinstance(self.clock_skew_s, (int, float)) or not math.isfinite(self.clock_skew_s):
            raise BehaviourError("clock_skew_s must be a finite number")
        if self.describe_status not in DESCRIBE_STATUSES:
            raise BehaviourError(f"describe_status must be one of {sorted(DESCRIBE_STATUSES)}")
        if self.lockout_after < 0 or self.max_sessions < 0:
            raise BehaviourError("lockout_after and max_sessions must be >= 0")
        if not 0 < self.oversized_bytes <= 64 * 1024 * 1024:
            raise BehaviourError("oversized_bytes must be in 1..64 MiB")
        if not isinstance(self.redirect_to, str) or len(self.redirect_to) > 1000 or (
                self.redirect_to and not self.redirect_to.startswith("rtsp://")):
            raise BehaviourError("redirect_to must be empty or an rtsp:// URL of at most 1000 characters")
        for start, end in self.down_intervals:
            if end < start:
                raise BehaviourError("a down interval ends before it starts")

    @property
    def timed(self) -> bool:
        """True when the up/down state depends on the wall clock."""
        return self.flapping or bool(self.down_intervals)

    @property
    def flapping(self) -> bool:
        return self.flap_up_s > 0 and self.flap_down_s > 0

    def is_down_at(self, now: float) -> bool:
        """Whether the listening sockets should be closed at epoch time ``now``."""
        if self.power is Power.DOWN:
            return True
        if self.flapping and now % (self.flap_up_s + self.flap_down_s) >= self.flap_up_s:
            return True
        return any(start <= now < end for start, end in self.down_intervals)

    def with_(self, **changes: Any) -> Behaviour:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as strings, intervals as lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, StrEnum):
                value = value.value
            elif f.name == "down_intervals":
                value = [list(iv) for iv in value]
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, data: Any, *, base: Behaviour | None = None) -> Behaviour:
        """Build from a JSON object; missing keys keep ``base`` (default: defaults)."""
        if not isinstance(data, dict):
            raise BehaviourError("a behaviour must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise BehaviourError(f"unknown behaviour field(s): {', '.join(unknown)}")
        changes: dict[str, Any] = {}
        for name, value in data.items():
            default = getattr(base or _DEFAULT, name)
            if name == "down_intervals":
                if not isinstance(value, list) or not all(
                    isinstance(iv, list) and len(iv) == 2
                    and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in iv)
                    for iv in value
                ):
                    raise BehaviourError("down_intervals must be a list of [start, end] numbers")
                value = tuple((float(a), float(b)) for a, b in value)
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise BehaviourError(f"{name} must be a boolean")
            elif isinstance(default, int) and not isinstance(default, StrEnum):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise BehaviourError(f"{name} must be an integer")
            elif isinstance(default, float):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise BehaviourError(f"{name} must be a number")
                value = float(value)
            elif isinstance(default, StrEnum) and not isinstance(value, str):
                raise BehaviourError(f"{name} must be a string")
            changes[name] = value
        return replace(base or _DEFAULT, **changes)


_DEFAULT = Behaviour()
