"""Requests of one RTSP probe on one connection: answering 401 challenges, reconnecting when
the camera closes or resets the connection before a request is answered, and counting logins.

Many embedded RTSP servers close the connection after a 401 (with or without
``Connection: close``); a request written before the close is seen then meets an EOF or a
reset. :class:`RtspCall` sends such a request again on a new connection, at most
:data:`MAX_RECONNECTS` times a probe. A reply saying ``Connection: close`` moves the next
request to a new connection at once.

A login attempt is a request carrying our credentials before the camera has accepted them
in this probe (an answer other than 401/403 to such a request accepts them); a probe makes at
most :data:`MAX_LOGINS` (cameras lock accounts after a few bad logins, and a hostile camera
answering every login with a fresh challenge must not get more). One request a probe answered
with a renewed nonce (``stale``, RFC 2617 3.2.1, or a new nonce where ours came from an
earlier probe) is not counted: it says the nonce was old, not that the password is wrong, and
a camera that closes after that 401 must still get the authorised request on a new connection.
"""

from __future__ import annotations

import asyncio

from probes.causes import Cause
from probes.rtsp_auth import Challenge, basic_header, choose_challenge, digest_header
from probes.rtsp_state import CameraKey, RtspState
from probes.rtsp_wire import ConnectionClosed, Response, RtspConnection, build_request

MAX_LOGINS = 2  # login attempts per probe
MAX_RECONNECTS = 2  # connections opened again per probe (after a close or reset by the camera)
_LOST = (ConnectionClosed, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class Failed(Exception):
    """A failure of the rtsp stage with its cause, plus the reply behind it (an ``RtspInfo``)."""

    def __init__(self, cause: Cause, detail: str, info: object = None) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail
        self.info = info


class Login:
    """One probe's credentials and what became of them (shared by its connections)."""

    __slots__ = ("user", "password", "auth_scheme", "sent_credentials", "attempts", "accepted", "reconnects", "stale_forgiven")

    def __init__(self, user: str | None, password: str | None) -> None:
        for s in (user or "", password or ""):
            if "\r" in s or "\n" in s:
                raise Failed(Cause.PROTOCOL_ERROR, "credentials contain a line break")
        self.user = user
        self.password = password if user is not None else None
        self.auth_scheme: str | None = None
        self.sent_credentials = False
        self.attempts = 0  # login attempts so far
        self.accepted = False  # the camera answered a request with our credentials
        self.reconnects = 0
        self.stale_forgiven = False

    def may_try(self) -> bool:
        """Another request with credentials is allowed (not a login past the limit)."""
        return self.accepted or self.attempts < MAX_LOGINS


class RtspCall:
    """Requests on one connection to (host, port), answering 401 challenges."""

    __slots__ = ("login", "state", "user_agent", "max_reply", "conn", "host", "port", "akey", "session", "_reused", "_close_next")

    def __init__(self, login: Login, state: RtspState, user_agent: str, max_reply: int, host: str, port: int) -> None:
        self.login = login
        self.state = state
        self.user_agent = user_agent
        self.max_reply = max_reply
        self.conn: RtspConnection = None  # type: ignore[assignment]  # set by adopt() or connect()
        self.host = host
        self.port = port
        self.akey: CameraKey = (host, port)
        self.session: str | None = None
        self._reused = False
        self._close_next = False  # the camera said Connection: close

    def adopt(self, conn: RtspConnection) -> None:
        """Use a connection opened earlier; treated as reused (reopened if the camera closed it)."""
        self.conn = conn
        self._reused = True

    async def connect(self) -> None:
        conn = RtspConnection(self.max_reply)
        self.conn = conn
        self._reused = False
        self._close_next = False
        await asyncio.get_running_loop().create_connection(lambda: conn, self.host, self.port)

    async def _reconnect(self) -> None:
        self.login.reconnects += 1
        self.conn.close(reset=self.session is None)
        await self.connect()

    def _auth_line(self, ch: Challenge | None, method: str, url: str) -> str:
        login = self.login
        if ch is None or login.user is None:
            return ""
        if not login.accepted and method != "TEARDOWN":
            login.attempts += 1
        login.sent_credentials = True
        login.auth_scheme = ch.scheme
        if ch.scheme == "basic":
            return f"Authorization: {basic_header(login.user, login.password or '')}\r\n"
        nc = self.state.next_nc(self.akey)
        return f"Authorization: {digest_header(ch, login.user, login.password or '', method, url, nc)}\r\n"

    async def _send(self, method: str, url: str, extra: str, ch: Challenge | None) -> Response:
        login = self.login
        if (self.conn.closed or self._close_next) and login.reconnects < MAX_RECONNECTS:
            await self._reconnect()
        while True:
            conn = self.conn
            cseq = conn.next_cseq()
            auth = self._auth_line(ch, method, url)
            data = build_request(method, url, cseq, self.user_agent, extra + auth)
            reused, self._reused = self._reused, True
            try:
                resp = await conn.request(data, cseq, method)
                break
            except _LOST:
                # Closed or reset by the camera before any of the reply came, on a connection it
                # had kept open for us (often right after a 401): once more on a new connection.
                if not reused or conn.got_bytes or login.reconnects >= MAX_RECONNECTS or (auth and not login.may_try()):
                    raise
                await self._reconnect()
        if auth and resp.status not in (401, 403):
            login.accepted = True
        self._close_next = "close" in resp.headers.get("connection", "").lower()
        sess = resp.headers.get("session")
        if sess:
            self.session = sess.partition(";")[0].strip()[:128]
        return resp

    async def call(self, method: str, url: str, extra: str = "") -> Response:
        """Send *method*; answer a fresh challenge, and retry once on a renewed nonce.

        A renewed nonce is one the camera marks ``stale``, or any new nonce when ours
        came from the cache of an earlier probe. A 401 to a challenge fetched during
        this probe with the same nonce means wrong credentials: no second guess, so a
        camera counting bad logins sees one per probe. Never more than
        :data:`MAX_LOGINS` login attempts a probe: past them the 401 is the answer.
        """
        login = self.login
        state = self.state
        ch = state.challenge(self.akey) if login.user is not None else None
        from_cache = ch is not None
        resp = await self._send(method, url, extra, ch)
        renewed_once = False
        sends = 1
        while resp.status == 401 and login.user is not None and sends < 3:
            new = choose_challenge(list(resp.challenges))
            if new is None:
                # Our credentials refused with no new challenge, or nothing we can answer (no
                # challenge, or only NTLM...): no password sent. The prober's verdict on a 401.
                break
            if ch is None or new.scheme != ch.scheme:
                pass  # first answer to this challenge
            elif renewed_once or ch.scheme != "digest":
                break
            elif new.stale or (from_cache and new.nonce != ch.nonce):
                renewed_once = True
                if not login.stale_forgiven and not login.accepted:
                    login.stale_forgiven = True  # an old nonce, not a failed login (once a probe)
                    login.attempts -= 1
            else:
                break
            state.remember_challenge(self.akey, new)
            if not login.may_try():
                break
            ch = new
            from_cache = False
            # One turn of the loop first: a close that came with the 401 is seen before we write.
            await asyncio.sleep(0)
            resp = await self._send(method, url, extra, ch)
            sends += 1
        return resp

    def teardown(self, url: str, session: str) -> None:
        """Send TEARDOWN for *session*; the reply is not awaited (the close follows it)."""
        conn = self.conn
        if conn.closed:
            return
        login = self.login
        ch = self.state.challenge(self.akey) if login.user is not None else None
        cseq = conn.next_cseq()
        auth = ""
        if ch is not None and login.sent_credentials:
            auth = self._auth_line(ch, "TEARDOWN", url)
        conn.send_only(build_request("TEARDOWN", url, cseq, self.user_agent, f"Session: {session}\r\n{auth}"))

    def close(self) -> None:
        """End the conversation: TEARDOWN and a graceful close with a session, else a reset."""
        if self.session is not None:
            self.conn.close()  # gracefully: the TEARDOWN must get out
        else:
            self.conn.close(reset=True)
