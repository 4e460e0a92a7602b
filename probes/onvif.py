"""The ``onvif`` stage: the camera's clock offset and, with credentials, its identity.

1. GetSystemDateAndTime without auth gives the offset (camera UTC - local clock),
   corrected for half the round trip. Cameras that demand auth even for it get a
   WS-UsernameToken whose ``Created`` is shifted by a coarse offset taken from the
   HTTP ``Date`` header of their refusal (or the last measured offset).
2. GetDeviceInformation with a PasswordDigest token whose ``Created`` is shifted by
   the measured offset, so a camera with a wrong clock still accepts it; PasswordText
   when the camera rejects the digest. What worked is remembered per camera in
   :class:`OnvifState`, so the next probe skips the refused attempts.

Requests are pre-built SOAP 1.2 bytes (:mod:`probes.onvif_soap`) over a lean HTTP/1.1
connection (:mod:`probes.onvif_http`), kept alive between the two calls; replies go
through the hardened parser (:mod:`probes.xmlsafe`). Failures map to causes in
:func:`map_error` only: missing or wrong credentials -> ``onvif_auth_failed``,
anything else -> ``onvif_error``. A failure after the clock was read keeps the clock (the
result's data, and its offset at the end of the detail), whatever failed, the stage limit's
expiry included. The caller owns the stage timeout; on cancellation the connection is aborted.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime

from probes.base import Cause, ProbeResult, ProbeTarget, Stage, register
from probes.endpoints import EndpointTable
from probes.onvif_http import ConnectionClosed, HttpConnection, HttpError, HttpReply
from probes.onvif_soap import (
    GET_DEVICE_INFORMATION,
    GET_SYSTEM_DATE_AND_TIME,
    DeviceIdentity,
    SoapError,
    SoapFault,
    fast_system_time,
    find_fault,
    format_created,
    http_request,
    parse_body,
    parse_device_information,
    parse_system_time,
    plain_envelope,
    token_envelope,
)
from probes.progress import current
from probes.redact import camera_text, redact_secrets
from probes.xmlsafe import Node

# The camera's word in a SoapError's detail (the rest is ours, probes.onvif_soap's and probes.xmlsafe's,
# never masked): the root element of a reply that is not SOAP ("not a SOAP envelope (root element 'html')")
_SOAP_CAMERA_TEXT = re.compile(r"(?<=\(root element ).+(?=\)$)")

__all__ = ["DeviceIdentity", "OnvifInfo", "OnvifOptions", "OnvifState", "map_error", "probe"]


@dataclass(slots=True)
class _Memo:
    port: int  # the ONVIF port (the table is keyed by host: see EndpointTable)
    time_needs_auth: bool = False
    text_password: bool = False  # PasswordText worked where PasswordDigest did not
    offset_s: float | None = None


class OnvifState:
    """What the prober learned per camera (host, ONVIF port): whether it wants auth for
    its clock, which password form it takes, its last clock offset. Bounded in size."""

    __slots__ = ("_memos", "_max")

    def __init__(self, max_cameras: int = 1_000_000) -> None:
        self._memos: EndpointTable[_Memo] = EndpointTable()
        self._max = max_cameras

    def memo(self, key: tuple[str, int]) -> _Memo:
        memo = self._memos.get(key)
        if memo is None:
            if len(self._memos) >= self._max:
                self._memos.drop_oldest()
            memo = _Memo(key[1])
            self._memos.put(key, memo)
        return memo

    def __len__(self) -> int:
        return len(self._memos)


@dataclass(frozen=True, slots=True)
class OnvifOptions:
    """Options of the onvif stage. ``state`` is shared by every probe using these options."""

    path: str = "/onvif/device_service"
    device_info: bool = True  # also call GetDeviceInformation (needs credentials)
    password_text_fallback: bool = True  # send PasswordText when the digest is refused
    max_reply_bytes: int = 256 * 1024
    user_agent: str = "camwatch"
    io_timeout_s: float | None = None  # a backstop for callers without a stage timeout (the ladder has one)
    state: OnvifState = field(default_factory=OnvifState, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class OnvifInfo:
    """Payload of an onvif result (``ProbeResult.data``); also set when only the clock worked."""

    clock_offset_s: float | None = None
    device: DeviceIdentity | None = None


class _AuthFailed(Exception):
    """The camera refused our credentials (or asked for some we do not have)."""


class _Failed(Exception):
    """The camera answered, but not with what we asked for."""


class _Session:
    """One probe's connection(s) to one camera."""

    __slots__ = ("target", "opts", "port", "conn", "clock")

    def __init__(self, target: ProbeTarget, opts: OnvifOptions, port: int) -> None:
        self.target = target
        self.opts = opts
        self.port = port
        self.conn: HttpConnection | None = None
        self.clock: OnvifInfo | None = None  # the clock read, kept by a failure after it

    async def call(self, action: str, envelope: bytes) -> tuple[HttpReply, float]:
        """Send one request (reconnecting once if a kept-alive connection was closed);
        the reply and the local time when it was sent."""
        data = http_request(self.target.host, self.port, self.opts.path, action, envelope,
                            self.opts.user_agent)
        for attempt in (0, 1):
            fresh = self.conn is None or not self.conn.usable
            if fresh:
                self.close()
                self.conn = await HttpConnection.open(self.target.host, self.port,
                                                      self.opts.max_reply_bytes)
            assert self.conn is not None
            sent_at = time.time()
            try:
                return await self.conn.request(data, action), sent_at
            except ConnectionClosed:
                if fresh or attempt:
                    raise
                self.conn = None
        raise AssertionError("unreachable")

    def close(self, *, abort: bool = False) -> None:
        """Close the connection: with a TCP reset when the conversation ended cleanly (no
        TIME_WAIT left behind: see probes.sockets), dropped when it did not."""
        if self.conn is not None:
            self.conn.close(abort=abort, reset=not abort)
            self.conn = None


def _check(reply: HttpReply, max_bytes: int, password: str | None) -> Node:
    """The SOAP Body of a successful reply; raises for auth refusals and errors (the camera's
    words in them with *password* masked before they are cut)."""
    secrets = (password,)
    body: Node | None = None
    fault: SoapFault | None = None
    if reply.body:
        try:
            body = parse_body(reply.body, max_bytes)
        except SoapError:
            if reply.status == 200:
                raise
        if body is not None:
            fault = find_fault(body)
    if reply.status in (401, 403) or (fault is not None and fault.is_auth):
        raise _AuthFailed(f"HTTP {reply.status}" + (f" {fault.describe(secrets)}" if fault else ""))
    if fault is not None:
        raise _Failed(f"HTTP {reply.status} fault {fault.describe(secrets)}")
    if reply.status != 200 or body is None:
        raise _Failed(f"HTTP {reply.status} {camera_text(reply.reason, secrets, 64)}".rstrip())
    return body


def _date_offset(reply: HttpReply) -> float | None:
    """A coarse clock offset from the reply's HTTP Date header (one-second resolution)."""
    if not reply.date:
        return None
    try:
        return parsedate_to_datetime(reply.date).timestamp() + 0.5 - reply.received_at
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


async def _authed(session: _Session, action: str, memo: _Memo, offset: float | None,
                  user: str, password: str, *, learn: bool) -> tuple[HttpReply, float, Node]:
    """Call *action* with a token, the remembered password form first, then the other.
    With *learn* (the offset is measured, so a refused digest is not the clock's fault)
    the form that worked is remembered."""
    opts = session.opts
    forms = [not memo.text_password]  # True: digest
    if opts.password_text_fallback:
        forms.append(memo.text_password)
    elif memo.text_password:
        forms = [True]
    last: _AuthFailed | None = None
    for digest in forms:
        created = format_created(time.time() + (offset or 0.0))
        envelope = token_envelope(action, user, password, created, digest=digest)
        reply, sent_at = await session.call(action, envelope)
        try:
            body = _check(reply, opts.max_reply_bytes, password)
        except _AuthFailed as exc:
            last = exc
            continue
        if learn:
            memo.text_password = not digest
        return reply, sent_at, body
    assert last is not None
    raise last


async def _run(target: ProbeTarget, opts: OnvifOptions, port: int,
               session: _Session) -> OnvifInfo:
    memo = opts.state.memo((target.host, port))
    user, password = target.username, target.password
    has_creds = bool(user) and password is not None
    # 1. the clock, without auth unless this camera is known to want it
    body: Node | None = None
    sent_at = 0.0
    reply: HttpReply | None = None
    if not (memo.time_needs_auth and has_creds):
        reply, sent_at = await session.call(GET_SYSTEM_DATE_AND_TIME,
                                            plain_envelope(GET_SYSTEM_DATE_AND_TIME))
        fast = fast_system_time(reply.body, opts.max_reply_bytes) if reply.status == 200 and reply.body else None
        if fast is not None:
            memo.time_needs_auth = False
            return await _after_clock(target, opts, session, memo, fast, sent_at, reply)
        try:
            body = _check(reply, opts.max_reply_bytes, password)
            memo.time_needs_auth = False
        except _AuthFailed:
            if not has_creds:
                raise _AuthFailed("the camera wants credentials for its clock; none given") from None
            memo.time_needs_auth = True
    if body is None:
        # The last measured offset, else the refusal's Date header (one-second resolution).
        coarse = memo.offset_s
        if coarse is None and reply is not None:
            coarse = _date_offset(reply)
        assert user is not None and password is not None
        reply, sent_at, body = await _authed(session, GET_SYSTEM_DATE_AND_TIME, memo, coarse,
                                             user, password, learn=False)
    assert reply is not None
    return await _after_clock(target, opts, session, memo, parse_system_time(body), sent_at, reply)


async def _after_clock(target: ProbeTarget, opts: OnvifOptions, session: _Session, memo: _Memo,
                       camera_utc: float, sent_at: float, reply: HttpReply) -> OnvifInfo:
    user, password = target.username, target.password
    has_creds = bool(user) and password is not None
    # The camera's clock has whole seconds: take the middle of its second.
    offset = camera_utc + 0.5 - (sent_at + reply.received_at) / 2
    memo.offset_s = offset
    info = OnvifInfo(clock_offset_s=round(offset, 3))
    if not opts.device_info or not has_creds:
        return info
    # 2. identity, with the token's Created on the camera's clock. Whatever fails from here on
    # (a refusal, a fault, HTML, a close, a stall), the clock read stays the result's: in probe(),
    # and at the stage limit's expiry through its progress.
    session.clock = info
    progress = current()
    if progress is not None:
        progress.keep(info, _clock_note(info))
    assert user is not None and password is not None
    _, _, body = await _authed(session, GET_DEVICE_INFORMATION, memo, offset, user, password,
                               learn=True)
    device = parse_device_information(body)
    if password:  # (the camera's words: a camera echoing the password keeps it to itself)
        device = replace(device, **{k: redact_secrets(v, (password,)) for k, v in _fields(device).items() if v})
    return OnvifInfo(clock_offset_s=info.clock_offset_s, device=device)


def _clock_note(info: OnvifInfo) -> str:
    """The clock read, at the end of the detail of a failure after it."""
    return f" (clock offset {info.clock_offset_s or 0.0:+.1f} s)"


def _fields(device: DeviceIdentity) -> dict[str, str | None]:
    return {"vendor": device.vendor, "model": device.model, "firmware": device.firmware,
            "serial": device.serial, "hardware_id": device.hardware_id}


def map_error(exc: BaseException) -> tuple[Cause, str]:
    """The one place where errors of the onvif stage become causes."""
    if isinstance(exc, _AuthFailed):
        return Cause.ONVIF_AUTH_FAILED, f"credentials refused: {exc}"
    if isinstance(exc, _Failed | SoapError):
        return Cause.ONVIF_ERROR, str(exc)
    if isinstance(exc, HttpError):
        return Cause.ONVIF_ERROR, f"bad HTTP reply: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return Cause.ONVIF_ERROR, "connection refused"
    if isinstance(exc, TimeoutError):
        return Cause.ONVIF_ERROR, "timed out"
    if isinstance(exc, OSError):
        return Cause.ONVIF_ERROR, f"network error: {exc.strerror or type(exc).__name__}"
    if isinstance(exc, UnicodeError | ValueError):
        return Cause.ONVIF_ERROR, f"bad reply: {type(exc).__name__}"
    raise exc


async def probe(target: ProbeTarget, opts: OnvifOptions) -> ProbeResult:
    """Probe the camera's ONVIF device service; never raises for a camera-side failure."""
    start = time.perf_counter()
    port = target.onvif_port
    if port is None:
        return ProbeResult(Stage.ONVIF, True, 0.0, None, "onvif disabled")
    session = _Session(target, opts, port)
    clean = False
    try:
        if opts.io_timeout_s is None:
            info = await _run(target, opts, port, session)
        else:
            async with asyncio.timeout(opts.io_timeout_s):
                info = await _run(target, opts, port, session)
        clean = True
    except (_AuthFailed, _Failed, SoapError, HttpError, OSError, TimeoutError, UnicodeError,
            ValueError) as exc:
        cause, detail = map_error(exc)
        if isinstance(exc, SoapError):  # (the camera's text of a refusal or fault is masked where it is put in: _check)
            detail = _SOAP_CAMERA_TEXT.sub(lambda m: camera_text(m[0], (target.password,), 64), detail)
        if session.clock is not None:  # failed after the clock was read: the clock is kept
            detail += _clock_note(session.clock)
        return ProbeResult(Stage.ONVIF, False, time.perf_counter() - start, cause, detail, session.clock)
    finally:
        session.close(abort=not clean)
    detail = f"clock offset {info.clock_offset_s:+.3f} s"
    dev = info.device
    if dev is not None:
        detail += "; " + " ".join(camera_text(x, (target.password,), 64) for x in (dev.vendor, dev.model, dev.firmware) if x)
    return ProbeResult(Stage.ONVIF, True, time.perf_counter() - start, None, detail, info)


register(Stage.ONVIF)(probe)  # (a call, not a decorator: the decorator's type would hide the signature)
