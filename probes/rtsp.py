"""The ``rtsp`` stage: DESCRIBE the camera's stream and check it has a video track.

OPTIONS is sent only when a camera needs it before DESCRIBE (learned per camera).
Basic and Digest auth (see :mod:`probes.rtsp_auth`) with the camera's last
challenge reused, so a healthy camera costs one round trip; one retry on a stale
nonce; at most two login attempts a probe, and a request the camera closed or reset
the connection on is sent again on a new one (:mod:`probes.rtsp_conn`). Redirects are
followed only on the camera's own host (another port or path): a redirect to another
host fails the probe (``stream_unavailable``, "redirected to host:port"), so our
credentials and connections never leave the camera. Capped replies (:mod:`probes.rtsp_wire`),
TEARDOWN whenever a Session was given, one session per camera at a time and back-off after
a failed login (all per-camera state is in :class:`probes.rtsp_state.RtspState`, carried by
:class:`RtspOptions`). A 401 that offers nothing we can answer (no challenge, only NTLM) is
``protocol_error``, not ``auth_failed``: no password was sent. A 2xx to DESCRIBE without an SDP,
or a reply not in RTSP/1.0, is ``protocol_error``; an SDP without video ``stream_unavailable``.

The caller owns the stage timeout (:mod:`probes.ladder`); ``io_timeout_s`` is only
a backstop for direct callers.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from probes.base import Cause, ProbeResult, ProbeTarget, Stage, register
from probes.redact import camera_text, redact_secrets, redact_url
from probes.rtsp_auth import basic_header, offered_schemes
from probes.rtsp_conn import Failed as _Failed
from probes.rtsp_conn import Login, RtspCall
from probes.rtsp_state import CameraKey, RtspState
from probes.rtsp_wire import Response, RtspConnection, RtspError
from probes.sdp import MAX_SDP_BYTES, is_sdp, parse_sdp

# The camera's words in the details of probes.rtsp_wire (the rest is ours, never masked: a password
# "10" leaves "reply larger than 65536 bytes" whole): the CSeq it answered, the RTSP version it spoke
_WIRE_CAMERA_TEXT = re.compile(r"(?<=, got )\d+(?=\)$)|(?<=answered in RTSP/)[\d.]+")
_STREAM_UNAVAILABLE = frozenset({404, 453, 454, 503})
_REDIRECT = frozenset({301, 302, 303, 305, 307, 308})
# Replies of cameras that want OPTIONS (or a "warm" connection) before DESCRIBE.
_WANTS_OPTIONS = frozenset({400, 405, 455, 501})
_UNREACHABLE_ERRNOS = frozenset(
    {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN, errno.ETIMEDOUT, errno.EADDRNOTAVAIL}
)


@dataclass(frozen=True, slots=True)
class RtspOptions:
    """Options of the rtsp stage. ``state`` is shared by every probe using these options."""

    state: RtspState = field(default_factory=RtspState, compare=False)
    user_agent: str = "camwatch"
    max_redirects: int = 3
    max_reply_bytes: int = 65536
    options_first: bool = False  # always send OPTIONS before DESCRIBE
    # The caller owns the timeout (the ladder's stage limit). Set this only when calling
    # the prober without one; expiry maps to `timeout`.
    io_timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class RtspInfo:
    """Payload of a rtsp result (``ProbeResult.data``); also set on most failures."""

    status: int
    server: str = ""
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    auth_scheme: str | None = None  # "basic" | "digest" | None (no auth asked)
    url: str = ""  # final URL after redirects, credentials redacted


def map_error(exc: BaseException) -> tuple[Cause, str]:
    """The one place where foreign errors of the rtsp stage become causes."""
    if isinstance(exc, _Failed | RtspError):
        return exc.cause, exc.detail
    if isinstance(exc, ConnectionRefusedError):
        return Cause.REFUSED, "connection refused"
    if isinstance(exc, TimeoutError):  # our io_timeout_s backstop (also OSError ETIMEDOUT)
        if getattr(exc, "errno", None) == errno.ETIMEDOUT:
            return Cause.UNREACHABLE, "connect timed out"
        return Cause.TIMEOUT, "no reply in time"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return Cause.PROTOCOL_ERROR, "connection reset by camera"
    if isinstance(exc, OSError):
        if exc.errno in _UNREACHABLE_ERRNOS:
            return Cause.UNREACHABLE, exc.strerror or "unreachable"
        if exc.errno is None and "Multiple exceptions" in str(exc):
            return Cause.UNREACHABLE, "no address answered"
        return Cause.PROTOCOL_ERROR, f"socket error: {exc.strerror or type(exc).__name__}"
    if isinstance(exc, UnicodeError | ValueError):
        return Cause.PROTOCOL_ERROR, "malformed reply"
    raise exc


class _Exchange:
    """One probe: connections, auth, redirects for one target (not reused)."""

    __slots__ = ("target", "opts", "state", "login", "key", "first", "redirect_info", "secrets", "own_url")

    def __init__(self, target: ProbeTarget, opts: RtspOptions, first: RtspConnection | None = None) -> None:
        self.target = target
        self.first = first  # an open connection to the target (from the reach stage), or None
        self.opts = opts
        self.state = opts.state
        self.login = Login(target.username, target.password)
        self.key: CameraKey = (target.host, target.rtsp_port)
        self.redirect_info: RtspInfo | None = None
        self.secrets = secrets_of(target)
        self.own_url = target.rtsp_url(redact=False)  # (no user:password@; the path may hold one)

    def shown(self, text: str, limit: int = 120) -> str:
        """Camera text for a detail: the password masked before the cut (:func:`camera_text`)."""
        return camera_text(text, self.secrets, limit)

    async def run(self) -> RtspInfo:
        url = self.own_url
        host, port = self.target.host, self.target.rtsp_port
        seen = {url}
        for hop in range(self.opts.max_redirects + 1):
            loc = await self._on_host(host, port, url)
            if isinstance(loc, RtspInfo):
                return loc
            nxt = urljoin(url, loc)
            parts = urlsplit(nxt)
            info = self.redirect_info
            if parts.scheme.lower() != "rtsp" or not parts.hostname:
                raise _Failed(Cause.PROTOCOL_ERROR, f"redirect to unsupported URL {self.shown(nxt, 200)}", info)
            nhost = parts.hostname
            nport = parts.port or 554
            hp = f"[{nhost}]" if ":" in nhost else nhost
            if not same_host(nhost, self.target.host):
                # Never to another host: neither our credentials nor a connection go there.
                raise _Failed(Cause.STREAM_UNAVAILABLE, f"redirected to {self.shown(hp, 100)}:{nport} (another host, not followed)", info)
            path = (parts.path or "/").replace(" ", "%20")
            nxt = f"rtsp://{hp}:{nport}{path}" + (f"?{parts.query.replace(' ', '%20')}" if parts.query else "")
            if nxt in seen:
                raise _Failed(Cause.PROTOCOL_ERROR, "redirect loop", info)
            if hop == self.opts.max_redirects:
                break
            seen.add(nxt)
            host, port, url = nhost, nport, nxt
        raise _Failed(Cause.PROTOCOL_ERROR, f"more than {self.opts.max_redirects} redirects", self.redirect_info)

    async def _on_host(self, host: str, port: int, url: str) -> RtspInfo | str:
        """DESCRIBE *url* on a new connection; an RtspInfo, or a redirect Location."""
        opts = self.opts
        ctx = RtspCall(self.login, self.state, opts.user_agent, opts.max_reply_bytes, host, port)
        first, self.first = self.first, None
        if first is not None and (host, port) == self.key:
            ctx.adopt(first)
        else:
            if first is not None:
                first.close()
            await ctx.connect()
        akey = ctx.akey
        try:
            opts_first = opts.options_first or self.state.needs_options(akey)
            if opts_first:
                self._check_options(await ctx.call("OPTIONS", url), url)
            resp = await ctx.call("DESCRIBE", url, "Accept: application/sdp\r\n")
            if resp.status in _WANTS_OPTIONS and not opts_first:
                self._check_options(await ctx.call("OPTIONS", url), url)
                resp = await ctx.call("DESCRIBE", url, "Accept: application/sdp\r\n")
                if resp.status not in _WANTS_OPTIONS:
                    self.state.set_needs_options(akey)
            return self._judge(resp, url)
        finally:
            if ctx.session is not None:
                ctx.teardown(url, ctx.session)
            ctx.close()

    def _check_options(self, resp: Response, url: str) -> None:
        if resp.status in (401, 403):
            self._judge(resp, url)  # raises auth_failed

    def _judge(self, resp: Response, url: str) -> RtspInfo | str:
        status = resp.status
        server = self.shown(resp.headers.get("server", ""))
        # (a redirect's URL is the camera's; our own may hold a password in its path: /user=admin&password=...)
        shown = redact_url(url) if url == self.own_url else redact_secrets(url, self.secrets)
        login = self.login
        if 200 <= status < 300:
            if login.sent_credentials:
                self.state.record_auth_success((self.target.host, self.target.rtsp_port))
            if len(resp.body) > MAX_SDP_BYTES:
                info = RtspInfo(status, server, None, None, None, login.auth_scheme, shown)
                raise _Failed(Cause.PROTOCOL_ERROR, f"SDP larger than {MAX_SDP_BYTES} bytes", info)
            text = resp.body.decode("utf-8", "replace")
            if not is_sdp(text):  # (the camera's RTSP server is broken: not a stream without video)
                info = RtspInfo(status, server, None, None, None, login.auth_scheme, shown)
                what = "is not SDP" if text.strip() else "without SDP"
                raise _Failed(Cause.PROTOCOL_ERROR, f"reply to DESCRIBE {what}", info)
            try:
                sdp = parse_sdp(text)
            except Exception as exc:  # noqa: BLE001 - the SDP reader never raises; belt and braces
                info = RtspInfo(status, server, None, None, None, login.auth_scheme, shown)
                raise _Failed(Cause.PROTOCOL_ERROR, f"unreadable SDP ({type(exc).__name__})", info) from None
            codec = self.shown(sdp.codec, 32) if sdp.codec else None
            info = RtspInfo(status, server, codec, sdp.width, sdp.height, login.auth_scheme, shown)
            if not sdp.has_video:
                raise _Failed(Cause.STREAM_UNAVAILABLE, "no video track in SDP", info)
            return info
        info = RtspInfo(status, server, None, None, None, login.auth_scheme, shown)
        if status in _REDIRECT:
            loc = resp.headers.get("location")
            if not loc:
                raise _Failed(Cause.PROTOCOL_ERROR, f"{status} redirect without Location", info)
            self.redirect_info = info
            return loc
        reason = self.shown(resp.reason, 64)
        if status == 401 and login.user is not None and not login.sent_credentials:
            # A login asked for that we could not answer (probes.rtsp_conn): no password was tried,
            # so it is not a wrong one; the camera's authentication setting is one we do not speak.
            offered = offered_schemes(list(resp.challenges))
            if not offered:
                raise _Failed(Cause.PROTOCOL_ERROR, "401 without an authentication challenge (no WWW-Authenticate)", info)
            schemes = self.shown(", ".join(offered), 64)
            raise _Failed(Cause.PROTOCOL_ERROR, f"camera asks for an authentication scheme camwatch does not support ({schemes})", info)
        if status in (401, 403):
            detail = f"{status} {reason}".strip()
            if login.user is None:
                detail += " (no credentials given)"
            elif login.sent_credentials:
                detail = f"credentials refused ({detail})"
                wait = self.state.record_auth_failure(
                    (self.target.host, self.target.rtsp_port), self.target.username, self.target.password
                )
                detail += f"; next login attempt in {wait:.0f} s"
            raise _Failed(Cause.AUTH_FAILED, detail, info)
        if status in _STREAM_UNAVAILABLE:
            raise _Failed(Cause.STREAM_UNAVAILABLE, f"{status} {reason}".strip(), info)
        raise _Failed(Cause.PROTOCOL_ERROR, f"unexpected status {status} {reason}".strip(), info)


def same_host(a: str, b: str) -> bool:
    """Whether two host texts name the same host (IP addresses compared as addresses)."""
    a, b = a.strip("[]").lower(), b.strip("[]").lower()
    if a == b:
        return True
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False


def secrets_of(target: ProbeTarget) -> tuple[str, ...]:
    """What of *target*'s credentials a camera could echo: the password, and the Basic token."""
    if not target.password:
        return ()
    return target.password, basic_header(target.username or "", target.password).partition(" ")[2]


async def probe(target: ProbeTarget, opts: RtspOptions | None = None, *, conn: RtspConnection | None = None) -> ProbeResult:
    """DESCRIBE *target*; ok when the stream exists and has a video track.

    *conn*: an open connection to the target's RTSP port to start with (the ladder
    passes the reach stage's); it is closed when the probe ends, whatever happens.
    """
    opts = opts if opts is not None else RtspOptions()
    t0 = time.perf_counter()
    state = opts.state
    key = (target.host, target.rtsp_port)
    info: RtspInfo | None = None
    try:
        left = state.backoff_remaining(key, target.username, target.password)
        if left > 0:
            raise _Failed(Cause.AUTH_FAILED, f"backing off after failed login, {left:.0f} s left", None)
        async with state.session_slot(key):
            left = state.backoff_remaining(key, target.username, target.password)
            if left > 0:
                raise _Failed(Cause.AUTH_FAILED, f"backing off after failed login, {left:.0f} s left", None)
            ex = _Exchange(target, opts, conn)
            conn = None  # the exchange owns it now
            if opts.io_timeout_s is None:
                info = await ex.run()
            else:
                async with asyncio.timeout(opts.io_timeout_s):
                    info = await ex.run()
    except (OSError, RtspError, _Failed, ValueError) as exc:  # TimeoutError is an OSError
        cause, detail = map_error(exc)
        data = exc.info if isinstance(exc, _Failed) else None
        if isinstance(exc, RtspError):  # (a _Failed's camera text is masked where it is put in: _Exchange.shown)
            detail = _WIRE_CAMERA_TEXT.sub(lambda m: camera_text(m[0], secrets_of(target)), detail)
        return ProbeResult(Stage.RTSP, False, time.perf_counter() - t0, cause, detail, data)
    finally:
        if conn is not None:  # never handed to an exchange (backing off, bad credentials, cancelled)
            conn.close()
    detail = _describe_ok(info)
    return ProbeResult(Stage.RTSP, True, time.perf_counter() - t0, None, detail, info)


register(Stage.RTSP)(probe)  # (a call, not a decorator: the decorator's type would hide the signature)


def _describe_ok(info: RtspInfo) -> str:
    parts = [info.codec or "video"]
    if info.width and info.height:
        parts.append(f"{info.width}x{info.height}")
    if info.auth_scheme:
        parts.append(f"{info.auth_scheme} auth")
    return " ".join(parts)

