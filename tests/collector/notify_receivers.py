"""Loopback receivers for the notification tests: vendor robot APIs, a JSON webhook, an SMS
gateway (SMSEagle JSON-RPC), a tiny SMTP server, a threaded webhook receiver answering what it is
told, and a port that never answers. Only ever bound to 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiohttp import web


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    at: float


@dataclass
class Robots:
    """The vendor robots as they answer: DingTalk (signature and keyword checked), WeCom (the key
    checked when ``wecom_key`` is set), Feishu (signature and keyword checked when set; Lark posts to
    the same path on its own host and is recorded as feishu), and a webhook, an SMS gateway and an
    Alertmanager. A refusal is HTTP 200 with an error code, as the vendors answer;
    ``refuse_next[kind]`` are such answers to give first, one a post; ``status_next[kind]`` HTTP
    statuses to answer before them."""

    dingtalk_secret: str
    dingtalk_keyword: str
    posts: dict[str, list[Received]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    fail_next: dict[str, int] = field(default_factory=dict)  # kind -> number of 500s to answer first
    status_next: dict[str, list[int]] = field(default_factory=dict)  # kind -> HTTP statuses to answer first, one a post
    clock: Any = time.monotonic
    # kind -> answers (HTTP 200) to give before accepting: a dict is sent as JSON, bytes as they are
    refuse_next: dict[str, list[Any]] = field(default_factory=dict)
    feishu_secret: str | None = None
    feishu_keyword: str | None = None
    wecom_key: str | None = None

    def _record(self, kind: str, req: web.Request, body: dict[str, Any]) -> web.Response | None:
        if self.status_next.get(kind):
            status = self.status_next[kind].pop(0)
            self.posts.setdefault(f"{kind}:{status}", []).append(Received(req.path, dict(req.query), body, self.clock()))
            return web.json_response({"errcode": status, "errmsg": "not this time"}, status=status)
        if self.fail_next.get(kind, 0) > 0:
            self.fail_next[kind] -= 1
            self.posts.setdefault(kind + ":failed", []).append(Received(req.path, dict(req.query), body, self.clock()))
            return web.json_response({"errcode": 500, "errmsg": "busy"}, status=500)
        if self.refuse_next.get(kind):
            answer = self.refuse_next[kind].pop(0)
            self.posts.setdefault(kind + ":refused", []).append(Received(req.path, dict(req.query), body, self.clock()))
            if isinstance(answer, bytes):
                return web.Response(body=answer, content_type="text/html")
            return web.json_response(answer)
        self.posts.setdefault(kind, []).append(Received(req.path, dict(req.query), body, self.clock()))
        return None

    async def dingtalk(self, req: web.Request) -> web.Response:
        body = await req.json()
        # DingTalk robot security: HMAC-SHA256 over "timestamp\nsecret", base64, url-encoded once
        ts, sign = req.query.get("timestamp", ""), req.query.get("sign", "")
        mac = hmac.new(self.dingtalk_secret.encode(), f"{ts}\n{self.dingtalk_secret}".encode(), hashlib.sha256).digest()
        if not ts or not hmac.compare_digest(sign, base64.b64encode(mac).decode()) or abs(time.time() * 1000 - int(ts)) > 3600_000:
            self.rejected.append("sign")
            return web.json_response({"errcode": 310000, "errmsg": "sign not match"})  # DingTalk answers 200
        content = json.dumps(body, ensure_ascii=False)
        if self.dingtalk_keyword not in content:
            self.rejected.append("keyword")
            return web.json_response({"errcode": 310000, "errmsg": "keywords not in content"})
        return self._record("dingtalk", req, body) or web.json_response({"errcode": 0, "errmsg": "ok"})

    async def wecom(self, req: web.Request) -> web.Response:
        body = await req.json()
        if self.wecom_key is not None and req.query.get("key") != self.wecom_key:
            self.rejected.append("key")
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_1_abc]"})
        return self._record("wecom", req, body) or web.json_response({"errcode": 0, "errmsg": "ok"})

    async def feishu(self, req: web.Request) -> web.Response:
        body = await req.json()
        if self.feishu_secret is not None:
            # Feishu/Lark signing: HMAC-SHA256 keyed by "timestamp\nsecret" over nothing, base64, in the body
            ts, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            mac = hmac.new(f"{ts}\n{self.feishu_secret}".encode(), b"", hashlib.sha256).digest()
            if not ts.isdigit() or not hmac.compare_digest(sign, base64.b64encode(mac).decode()) or abs(time.time() - int(ts)) > 3600:
                self.rejected.append("sign")
                return web.json_response({"code": 19021, "data": {},
                                          "msg": "sign match fail or timestamp is not within one hour from current time"})
        if self.feishu_keyword is not None and self.feishu_keyword not in json.dumps(body, ensure_ascii=False):
            self.rejected.append("keyword")
            return web.json_response({"code": 19024, "data": {}, "msg": "Key Words Not Found"})
        return self._record("feishu", req, body) or web.json_response({"code": 0, "msg": "success", "data": {}})

    async def webhook(self, req: web.Request) -> web.Response:
        body = await req.json()
        return self._record("webhook", req, body) or web.json_response({"ok": True})

    async def sms(self, req: web.Request) -> web.Response:
        body = json.loads(await req.text())
        return self._record("sms", req, body) or web.json_response({"result": {"message_id": "1", "status": "ok"}})

    async def alertmanager(self, req: web.Request) -> web.Response:
        alerts = await req.json()
        return self._record("alertmanager", req, {"alerts": alerts}) or web.Response(status=200)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/robot/send", self.dingtalk)
        app.router.add_post("/cgi-bin/webhook/send", self.wecom)
        app.router.add_post("/open-apis/bot/v2/hook/{token}/", self.feishu)
        app.router.add_post("/open-apis/bot/v2/hook/{token}", self.feishu)
        app.router.add_post("/hook/{token}", self.webhook)
        app.router.add_post("/jsonrpc/sms", self.sms)
        app.router.add_post("/api/v2/alerts", self.alertmanager)
        return app


class TinySMTP:
    """Just enough ESMTP for smtplib: EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, QUIT."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.auth_ok = 0
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _session(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            w.write(line.encode() + b"\r\n")

        say("220 tiny ESMTP")
        sender, rcpts = "", []
        try:
            while line := (await asyncio.wait_for(r.readline(), 10)).decode().rstrip("\r\n"):
                cmd = line.split(" ", 1)[0].upper()
                if cmd in ("EHLO", "HELO"):
                    say("250-tiny")
                    say("250-AUTH PLAIN LOGIN")
                    say("250 8BITMIME")
                elif cmd == "AUTH":
                    parts = line.split()
                    if parts[1].upper() == "PLAIN":
                        blob = parts[2] if len(parts) > 2 else None
                        if blob is None:
                            say("334 ")
                            blob = (await r.readline()).decode().strip()
                        _, u, p = base64.b64decode(blob).decode().split("\0")
                    else:
                        say("334 VXNlcm5hbWU6")
                        u = base64.b64decode(await r.readline()).decode()
                        say("334 UGFzc3dvcmQ6")
                        p = base64.b64decode(await r.readline()).decode()
                    if (u, p) == (self.user, self.password):
                        self.auth_ok += 1
                        say("235 ok")
                    else:
                        say("535 bad credentials")
                elif cmd == "MAIL":
                    sender, rcpts = line[10:].strip("<> "), []
                    say("250 ok")
                elif cmd == "RCPT":
                    rcpts.append(line[8:].strip("<> "))
                    say("250 ok")
                elif cmd == "DATA":
                    say("354 go on")
                    data = b""
                    while (chunk := await r.readline()) not in (b".\r\n", b""):
                        data += chunk
                    self.messages.append((sender, rcpts, data))
                    say("250 queued")
                elif cmd == "QUIT":
                    say("221 bye")
                    await w.drain()
                    break
                elif cmd in ("RSET", "NOOP"):
                    say("250 ok")
                else:
                    say("502 not implemented")
                await w.drain()
        finally:
            w.close()


@dataclass
class Hit:
    method: str
    path_qs: str  # the request target as it arrived: path and query, percent-encoded as sent
    headers: dict[str, str]
    body: bytes


class HookReceiver:
    """A threaded plain-HTTP receiver for the CLI tests (which run their own event loop): records
    every request and answers ``answers[path]`` (status, body), else 200 ``{"ok": true}``."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.answers: dict[str, tuple[int, bytes]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.hits.append(Hit(self.command, self.path, dict(self.headers), body))
                status, reply = outer.answers.get(self.path.split("?", 1)[0], (200, b'{"ok": true}'))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])
