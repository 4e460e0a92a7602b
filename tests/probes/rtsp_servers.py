"""Small loopback RTSP servers for the prober tests (asyncio, real sockets).

The digest check here is written independently of ``probes.rtsp_auth`` (it parses
the Authorization header with a regex and hashes by hand), so a symmetric bug in
the client cannot pass unnoticed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import re
import socket
from dataclasses import dataclass, field

from probes.sockets import close_with_reset
from tests.net import free_port as free_port  # re-exported: the one free-port helper of the tests

VIDEO_SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1;profile-level-id=640028;"
    "sprop-parameter-sets=Z2QAKKzZQHgCJ+XARAAAAwAEAAADAPA8YMZY,aOvjyyLA\r\n"
    "a=control:track1\r\n"
)
AUDIO_SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]+))')


@dataclass
class Request:
    conn: int
    method: str
    url: str
    headers: dict[str, str]


@dataclass
class ServerConfig:
    auth: str = "none"  # none | basic | digest | digest2069
    user: str = "admin"
    password: str = "s3cret:pw"
    realm: str = "IP Camera(C1234)"
    describe_status: int = 200
    reason: str = "OK"
    sdp: str = VIDEO_SDP
    session: str | None = None  # Session header on DESCRIBE replies
    location: str | None = None  # Location on 3xx replies
    redirect_from: str | None = None  # a path: only DESCRIBEs of it get describe_status, others 200
    require_options: bool = False  # 455 to a DESCRIBE not preceded by OPTIONS on the connection
    delay_s: float = 0.0  # before each reply
    trickle_s: float = 0.0005  # mode trickle: the pause after each byte
    # normal | hang | garbage | big_header | wrong_cseq | close_after_401 | says_close_after_401
    # (Connection: close on a 401, connection kept) | reset_after_401 (the next request on that
    # connection is answered with a TCP reset) | reset_on_login (every request with credentials
    # is answered with a reset) | trickle (replies written one byte at a time)
    mode: str = "normal"
    stale_flag: bool = True  # mark replaced nonces stale=TRUE
    new_nonce_each_401: bool = False
    # A camera repeating the login of a Basic Authorization header (user:password) in its DESCRIBE
    # reply: "sdp" in a 200's SDP (session name, encoding name) and Server header; "reason" upper-cased
    # in a 404's reason phrase (the reviewer's hostile cameras, ports 8011 and 8019)
    echo: str | None = None
    # The WWW-Authenticate values of every 401 instead of the usual challenges (() sends none: a 401
    # without a challenge; ("NTLM",): only a scheme the client does not speak)
    www_authenticate: tuple[str, ...] | None = None
    # Digest: both challenges in one comma-separated WWW-Authenticate line (RFC 7235), the server's
    # own first, then *combined_with* (a second Digest challenge)
    combined_with: str | None = None


@dataclass
class RtspTestServer:
    cfg: ServerConfig = field(default_factory=ServerConfig)
    host: str = "127.0.0.1"
    requests: list[Request] = field(default_factory=list)
    unauthorized: int = 0  # 401 replies sent
    connections: int = 0
    logins: int = 0  # requests carrying an Authorization header
    conn_logins: dict[int, int] = field(default_factory=dict)  # the same, per connection
    active: int = 0
    max_active: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _nonce: str = ""
    _old_nonces: set[str] = field(default_factory=set)
    _last_nc: dict[str, int] = field(default_factory=dict)
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> RtspTestServer:
        self.rotate_nonce()
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def __aenter__(self) -> RtspTestServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def url(self, path: str = "/stream", user: str | None = None, password: str | None = None) -> str:
        cred = f"{user}:{password}@" if user is not None else ""
        return f"rtsp://{cred}{self.host}:{self.port}{path}"

    def rotate_nonce(self) -> None:
        if self._nonce:
            self._old_nonces.add(self._nonce)
        self._nonce = f"n{next(self._counter):04d}" + "ab" * 8

    def count(self, method: str) -> int:
        return sum(1 for r in self.requests if r.method == method)

    # -- connection handling -----------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        conn_id = self.connections
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        saw_options = False
        said_401 = False
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, url, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                self.requests.append(Request(conn_id, method, url, headers))
                if "authorization" in headers:
                    self.logins += 1
                    self.conn_logins[conn_id] = self.conn_logins.get(conn_id, 0) + 1
                mode = self.cfg.mode
                if (mode == "reset_after_401" and said_401) or (mode == "reset_on_login" and "authorization" in headers):
                    close_with_reset(writer.transport)
                    return
                if self.cfg.mode == "hang":  # never answer; notice when the client goes
                    with contextlib.suppress(ConnectionError):
                        while await reader.read(4096):
                            pass
                    return
                if self.cfg.delay_s:
                    await asyncio.sleep(self.cfg.delay_s)
                if method == "TEARDOWN":
                    writer.write(self._reply(200, "OK", headers.get("cseq", "0")))
                    await writer.drain()
                    continue
                if method == "OPTIONS":
                    saw_options = True
                reply, close = self._answer(method, url, headers, saw_options)
                said_401 = reply.startswith(b"RTSP/1.0 401")
                if mode == "trickle":
                    for i in range(len(reply)):
                        writer.write(reply[i : i + 1])
                        await writer.drain()
                        await asyncio.sleep(self.cfg.trickle_s)
                else:
                    writer.write(reply)
                await writer.drain()
                if close:
                    return
        finally:
            self.active -= 1
            writer.close()
            self._writers.discard(writer)

    def _reply(self, status: int, reason: str, cseq: str, extra: str = "", body: bytes = b"") -> bytes:
        head = f"RTSP/1.0 {status} {reason}\r\nCSeq: {cseq}\r\nServer: TestCam/1.0\r\n{extra}"
        if body:
            head += f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n"
        return head.encode() + b"\r\n" + body

    def _answer(self, method: str, url: str, headers: dict[str, str], saw_options: bool) -> tuple[bytes, bool]:
        cfg = self.cfg
        cseq = headers.get("cseq", "0")
        if cfg.mode == "garbage":
            return b"\x00\x17\xffHELLO garbage\r\n\r\n", True
        if cfg.mode == "big_header":
            return f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nX-Pad: {'a' * 100_000}\r\n\r\n".encode(), False
        if cfg.mode == "wrong_cseq":
            cseq = str(int(cseq) + 1)
        verdict = self._check_auth(method, headers)
        if verdict is not None:
            self.unauthorized += 1
            if cfg.mode == "says_close_after_401":
                verdict += "Connection: close\r\n"
            return self._reply(401, "Unauthorized", cseq, verdict), cfg.mode == "close_after_401"
        if method == "OPTIONS":
            return self._reply(200, "OK", cseq, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n"), False
        if method != "DESCRIBE":
            return self._reply(405, "Method Not Allowed", cseq), False
        if cfg.require_options and not saw_options:
            return self._reply(455, "Method Not Valid in This State", cseq), False
        if cfg.echo is not None and "authorization" in headers:
            return self._echo(cseq, headers["authorization"]), False
        extra = f"Session: {cfg.session};timeout=60\r\n" if cfg.session else ""
        if cfg.describe_status == 200 or (cfg.redirect_from is not None and not url.endswith(cfg.redirect_from)):
            return self._reply(200, "OK", cseq, extra, cfg.sdp.encode()), False
        if cfg.location is not None:
            extra += f"Location: {cfg.location}\r\n"
        return self._reply(cfg.describe_status, cfg.reason, cseq, extra), False

    def _echo(self, cseq: str, authorization: str) -> bytes:
        login = base64.b64decode(authorization.partition(" ")[2]).decode()
        if self.cfg.echo == "reason":
            return self._reply(404, f"Not Found {login.upper()}", cseq)
        sdp = self.cfg.sdp.replace("s=cam", f"s={login}").replace("H264/90000", f"H264-{login}/90000")
        return self._reply(200, "OK", cseq, f"Server: cam {login}\r\nX-Echo: {login} {authorization}\r\n", sdp.encode())

    # -- authentication (independent of probes.rtsp_auth) ----------------------------
    def _challenge(self, stale: bool = False) -> str:
        cfg = self.cfg
        if cfg.www_authenticate is not None:
            return "".join(f"WWW-Authenticate: {v}\r\n" for v in cfg.www_authenticate)
        if cfg.combined_with is not None:
            qop = ', qop="auth"' if cfg.auth == "digest" else ""
            return f'WWW-Authenticate: Digest realm="{cfg.realm}", nonce="{self._nonce}"{qop}, {cfg.combined_with}\r\n'
        if cfg.auth == "basic":
            return f'WWW-Authenticate: Basic realm="{cfg.realm}"\r\n'
        if cfg.new_nonce_each_401:
            self.rotate_nonce()
        qop = ', qop="auth"' if cfg.auth == "digest" else ""
        st = ", stale=TRUE" if stale else ""
        # Offer Basic too: the client must prefer Digest.
        return f'WWW-Authenticate: Basic realm="{cfg.realm}"\r\nWWW-Authenticate: Digest realm="{cfg.realm}", nonce="{self._nonce}"{qop}{st}\r\n'

    def _check_auth(self, method: str, headers: dict[str, str]) -> str | None:
        """None when allowed; else the WWW-Authenticate lines of a 401."""
        cfg = self.cfg
        if cfg.auth == "none":
            return None
        auth = headers.get("authorization")
        if auth is None:
            return self._challenge()
        scheme, _, rest = auth.partition(" ")
        if cfg.auth == "basic":
            if scheme.lower() == "basic" and base64.b64decode(rest).decode() == f"{cfg.user}:{cfg.password}":
                return None
            return self._challenge()
        if scheme.lower() != "digest":
            return self._challenge()
        p = {m[0]: m[1] or m[2] for m in _PARAM.findall(rest)}
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
        ha1 = md5(f"{cfg.user}:{cfg.realm}:{cfg.password}")
        ha2 = md5(f"{method}:{p.get('uri', '')}")
        nonce = p.get("nonce", "")
        if cfg.auth == "digest":
            if p.get("qop") != "auth" or "nc" not in p or "cnonce" not in p:
                return self._challenge()
            want = md5(f"{ha1}:{nonce}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        else:
            if "qop" in p:
                return self._challenge()
            want = md5(f"{ha1}:{nonce}:{ha2}")
        good = p.get("username") == cfg.user and p.get("realm") == cfg.realm and p.get("response") == want
        if not good:
            return self._challenge()
        if nonce != self._nonce:
            return self._challenge(stale=cfg.stale_flag and nonce in self._old_nonces)
        if cfg.auth == "digest":
            nc = int(p["nc"], 16)
            if nc <= self._last_nc.get(nonce, 0):  # replayed nonce count: a new nonce, stale
                self.rotate_nonce()
                return self._challenge(stale=True)
            self._last_nc[nonce] = nc
        return None


@contextlib.contextmanager
def blackhole(host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    """A port whose SYNs are dropped: a listener with a full accept queue, never accepting.

    Yields the port; a connect to it hangs like one to a dead village uplink.
    """
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind((host, 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(4):  # fill the accept queue (backlog 0 holds one); later SYNs are dropped
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect((host, port))
            fillers.append(s)
        yield port
    finally:
        for s in fillers:
            s.close()
        lst.close()


@contextlib.contextmanager
def serve_in_thread(cfg: ServerConfig, host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    """Run an RtspTestServer on its own event loop in a thread (for CLI tests); yields it."""
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="rtsp-test-server", daemon=True)
    thread.start()
    srv = asyncio.run_coroutine_threadsafe(RtspTestServer(cfg, host).start(), loop).result(5)
    try:
        yield srv
    finally:
        asyncio.run_coroutine_threadsafe(srv.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
