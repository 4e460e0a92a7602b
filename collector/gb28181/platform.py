"""camwatch as a GB/T 28181 SIP access platform: devices and lower platforms REGISTER (Digest),
send keepalives and answer queries; the :class:`~collector.gb28181.registry.Registry` keeps
what they told and emits verdict changes.

- REGISTER: no Authorization -> 401 with a challenge; a right answer -> 200 with the granted
  Expires and Date (devices set their clock from it); Expires: 0 -> unregistered; a wrong
  password -> 403 and a try less for the source address (none left: 403 + Retry-After at once).
- MESSAGE / NOTIFY with MANSCDP: Keepalive, and the answers to camwatch's Catalog, DeviceStatus
  and DeviceInfo queries (catalog notifications too) -> 200; from a device without a
  registration in force, or from another address than its registration's -> 403 (a device
  that gets 403 to its keepalive registers again).
- Queries: Catalog and DeviceInfo at each new registration and when a device registers anew
  after a restart (a new Call-ID, :mod:`collector.gb28181.registrations`), Catalog every
  ``catalog_interval_s``, DeviceStatus when a keepalive is late (see ``verdict.py``).
- Catalog SUBSCRIBE at each new registration (and restart), refreshed before it expires; a device that
  refuses it keeps the periodic Catalog queries (:mod:`collector.gb28181.subscribe`). Catalog
  notifications (NOTIFY, or MESSAGE from devices that send them unasked) change channels.

Credentials never reach a log: lines name the device ID and the source address only. What it
counts (:mod:`collector.gb28181.counters`) is on ``/metrics`` (:mod:`collector.metrics.gb28181`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import secrets
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from collector.alerting.delivery.config import SecretError, resolve_secret
from collector.gb28181.config import Gb28181Settings
from collector.gb28181.counters import PlatformCounts, PlatformStats
from collector.gb28181.guard import AuthThrottle
from collector.gb28181.outgoing import request_to
from collector.gb28181.refusals import Refusals
from collector.gb28181.registrations import BootCycles, Registration, accepted_headers, call_of, expires_of, is_gb_id
from collector.gb28181.registry import Registry
from collector.gb28181.state import DeviceState
from collector.gb28181.subscribe import CatalogSubscriptions
from collector.gb28181.verdict import catalog_due, offline_at, registered_now, status_query_due
from probes.gb28181 import bodies, manscdp
from probes.gb28181.digest import AuthResult, DigestServer, answer_of
from probes.gb28181.fields import new_tag, parse_address, required, response_to
from probes.gb28181.sip import SipError, SipMessage, SipRequest, SipResponse
from probes.gb28181.transport import Peer, SipEndpoint

log = logging.getLogger("camwatch.gb28181")

Passwords = Callable[[str], str | None] | Mapping[str, str]
ALLOW = "REGISTER, MESSAGE, NOTIFY, OPTIONS, ACK"
ANSWERS_KEPT_S = 32.0  # RFC 3261 Timer J (64 x T1): a retransmitted request gets the same answer
ANSWERS_KEPT = 50_000
QUERIES_PER_TICK = 200  # catalog queries sent per scan at most (no burst after a restart)


class Platform:
    def __init__(self, settings: Gb28181Settings, *, registry: Registry | None = None,
                 passwords: Passwords | None = None, listed: Callable[[str], bool] | None = None,
                 clock: Callable[[], float] = time.time, tick_s: float = 1.0, catalog_scan_s: float = 30.0,
                 udp_batch_s: float = 0.005) -> None:
        self.settings = settings
        self._passwords = passwords
        self.registry = registry or Registry(settings, listed=listed, sole=lambda d: self._own_password(d) is not None)
        self.clock = clock
        self.tick_s = tick_s
        self.catalog_scan_s = catalog_scan_s
        self._next_scan = 0.0
        self._late: list[tuple[float, str]] = []  # (when a keepalive is late, device); stale ones skipped
        self._answered: OrderedDict[tuple[str | None, ...], tuple[float, bytes]] = OrderedDict()
        self.stats = PlatformStats()
        self._digest = DigestServer(settings.domain, ttl_s=settings.nonce_ttl_s)
        self._throttle = AuthThrottle(settings.auth_failures, settings.auth_block_s)
        self.refusals = Refusals(settings, self.stats)  # why a device was refused, logged once a while (and counted)
        self.boots = BootCycles()  # each device's Call-ID: a restart told from a refresh
        self._endpoint = SipEndpoint(self.handle, on_error=self._malformed, max_connections=settings.max_tcp_connections,
                                     idle_timeout_s=settings.tcp_idle_s, batch_s=udp_batch_s,
                                     max_per_host=settings.max_tcp_per_address,
                                     first_message_s=settings.tcp_first_message_s)
        self._default_password: str | None = None
        self._sn = itertools.count(1)
        self._cseq = itertools.count(1)
        self._tag = new_tag()
        self._via_host = "127.0.0.1"
        self._task: asyncio.Task[None] | None = None
        self.addresses: dict[str, tuple[str, int]] = {}
        self.subscriptions = CatalogSubscriptions(settings, self._send_request, lambda: next(self._sn), "camwatch")

    # -- life -----------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        try:
            self._default_password = resolve_secret(s.password)
        except SecretError as exc:  # names the variable or file, never a value
            log.error("gb28181: default password unavailable (%s); devices without their own are refused", exc)
        for attempt in range(20):  # port 0: TCP on the port UDP got, which another program may hold
            port = s.port
            if "udp" in s.transports:
                self.addresses["udp"] = await self._endpoint.listen_udp(s.host, port)
                port = port or self.addresses["udp"][1]
            try:
                if "tcp" in s.transports:
                    self.addresses["tcp"] = await self._endpoint.listen_tcp(s.host, port)
                break
            except OSError:
                if s.port or "udp" not in s.transports or attempt == 19:
                    raise
                self._endpoint.close_udp()
        host = s.advertise_host or s.host
        if host in ("0.0.0.0", "::", ""):
            try:
                host = socket.gethostbyname(socket.gethostname())
            except OSError:
                host = "127.0.0.1"
        self._via_host = host
        self.subscriptions = CatalogSubscriptions(s, self._send_request, lambda: next(self._sn), host)
        self._task = asyncio.create_task(self._watch(), name="gb28181-watch")
        log.info("gb28181: SIP platform %s@%s listening on %s", s.server_id, s.domain,
                 ", ".join(f"{t} {h}:{p}" for t, (h, p) in self.addresses.items()))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._endpoint.close()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                self.tick(self.clock())
            except Exception:  # pragma: no cover - a bug must not stop the platform
                log.exception("gb28181: watch tick failed")

    def tick(self, now: float) -> None:
        """Verdicts that changed with time; late keepalives asked DeviceStatus; catalogs due.
        Late devices come off a heap (a keepalive costs one push); catalogs are looked for
        every ``catalog_scan_s``."""
        s = self.settings
        reg = self.registry
        reg.tick(now)
        late = self._late
        while late and late[0][0] <= now:
            _, dev_id = heapq.heappop(late)
            dev = reg.device(dev_id)
            if dev is None or not dev.registered or now >= offline_at(dev, s):
                continue
            if status_query_due(dev, now, s):
                self.query(dev, "DeviceStatus", now)
                heapq.heappush(late, (now + max(s.status_grace_s, 1.0), dev_id))
        subs = self.subscriptions
        for dev_id in subs.tick(now, reg.device):
            dev = reg.device(dev_id)
            if dev is not None and dev.registered and now < offline_at(dev, s):
                subs.start(dev, now)
        if now >= self._next_scan:
            self._next_scan = now + self.catalog_scan_s
            budget = QUERIES_PER_TICK
            for dev in [*reg.devices(), *reg.unlisted()]:
                if catalog_due(dev, now, s):
                    self.query(dev, "Catalog", now)
                    budget -= 1
                if subs.due(dev, now):  # none yet (e.g. restored after a restart) or unanswered
                    subs.start(dev, now)
                    budget -= 1
                if budget <= 0:
                    break

    def restore(self, states: list[DeviceState], now: float) -> int:
        """Registrations read back at a start (:mod:`collector.gb28181.persist`): honoured until
        they expire; a device silent for a keepalive interval from *now* is asked its status."""
        n = self.registry.restore(states, now)
        for st in states:
            if st.registered:
                self._alive(st.device_id, now)
        return n

    def counts(self) -> PlatformCounts:
        """The counters now, for ``/metrics`` (blocked addresses and devices alive counted at the call)."""
        now = self.clock()
        return self.stats.snapshot(blocked_addresses=self._throttle.blocked(now),
                                   registered_devices=registered_now(self.registry.devices(), now, self.settings))

    def _alive(self, device_id: str, now: float) -> None:
        """A sign of life: when the next keepalive is late, the device is looked at."""
        s = self.settings
        heapq.heappush(self._late, (now + s.keepalive_interval_s + s.status_grace_s, device_id))

    # -- receiving ------------------------------------------------------------------------
    def _malformed(self, peer: Peer, what: str) -> None:
        self.stats.malformed += 1
        log.debug("gb28181: malformed SIP from %s %s: %s", peer.transport, peer.host, what)

    def handle(self, msg: SipMessage, peer: Peer) -> None:
        if isinstance(msg, SipResponse):  # answers to queries: their content comes in a MESSAGE of its own
            self.subscriptions.on_response(msg, self.clock())
            return
        key = (msg.get("Call-ID"), msg.get("CSeq"), msg.get("Via"), peer.host)
        kept = self._answered.get(key)
        if kept is not None:  # a retransmission (its answer was lost): the same answer, not a new one
            self._endpoint.send(peer, kept[1])
            return
        try:
            method = msg.method
            if method == "MESSAGE" or method == "NOTIFY":
                self._on_manscdp(msg, peer)
            elif method == "REGISTER":
                self._on_register(msg, peer)
            elif method == "OPTIONS":
                self._reply(msg, peer, 200, extra=(("Allow", ALLOW),))
            elif method != "ACK":
                self._reply(msg, peer, 405, extra=(("Allow", ALLOW),))
        except SipError as exc:
            self._malformed(peer, str(exc))
            try:
                self._reply(msg, peer, 400)
            except SipError:
                pass  # no Via or From to answer to: dropped

    def _reply(self, req: SipRequest, peer: Peer, status: int, *, extra: tuple[tuple[str, str], ...] = ()) -> None:
        resp = response_to(req, status, source=(peer.host, peer.port), to_tag=self._tag,
                           extra=(*extra, ("User-Agent", "camwatch")))
        data = resp.encode()
        self._endpoint.send(peer, data)
        if peer.transport == "udp":  # TCP does not retransmit
            now = time.monotonic()
            answered = self._answered
            answered[(req.get("Call-ID"), req.get("CSeq"), req.get("Via"), peer.host)] = (now, data)
            while answered and (len(answered) > ANSWERS_KEPT or next(iter(answered.values()))[0] < now - ANSWERS_KEPT_S):
                answered.popitem(last=False)

    def _password(self, device_id: str) -> tuple[str | None, str]:
        """The password *device_id* must answer with, and where it comes from (for the log)."""
        own = self._own_password(device_id)
        if own is not None:
            return own, "the inventory password of the camera with this 国标编码"
        return self._default_password, "gb28181.password"

    def _own_password(self, device_id: str) -> str | None:
        """A camera's own inventory password (once it registered as itself, only it tells its state)."""
        p = self._passwords
        return p.get(device_id) if isinstance(p, Mapping) else (p(device_id) if p is not None else None)

    def _on_register(self, req: SipRequest, peer: Peer) -> None:
        now = self.clock()
        device_id = parse_address(required(req, "From")).user
        s = self.settings
        if not is_gb_id(device_id):
            self.refusals.bad_id(peer, device_id, now)
            self._reply(req, peer, 400)
            return
        wait = self._throttle.retry_after(peer.host, now)
        if wait > 0:
            self.stats.throttled += 1
            self.refusals.blocked(peer, device_id, wait, now, known=self.registry.device(device_id) is not None)
            self._reply(req, peer, 403, extra=(("Retry-After", str(int(wait) + 1)),))
            return
        auth = req.get("Authorization")
        if auth is None:
            self._reply(req, peer, 401, extra=(("WWW-Authenticate", self._digest.challenge(now)),))
            return
        password, source = self._password(device_id)
        if password is None:  # nothing to check its answer against: not the device's fault, not counted
            self.refusals.no_password(peer, device_id, now)
            self._reply(req, peer, 403)
            return
        result = self._digest.check(auth, method="REGISTER", password=password, now=now, username=device_id)
        call_id, cseq = call_of(req)
        granted = self.boots.repeated(device_id, call_id, cseq, answer_of(auth), peer.host) \
            if result is AuthResult.REPEATED else None  # its 200 lost: the same 200 (from elsewhere: a replay)
        if granted is not None:
            self._reply(req, peer, 200, extra=accepted_headers(req, granted, now))
            return
        if result is not AuthResult.OK and result is not AuthResult.WRONG:  # stale, repeated or malformed
            if result is AuthResult.MALFORMED:
                self.refusals.unchecked(peer, device_id, auth, s.domain, now)
            self._reply(req, peer, 401, extra=(("WWW-Authenticate", self._digest.challenge(
                now, stale=result is not AuthResult.MALFORMED)),))
            return
        if result is AuthResult.WRONG:
            self.stats.auth_failures += 1
            self._throttle.failed(peer.host, now)
            self.refusals.wrong_password(peer, device_id, source, self._throttle.retry_after(peer.host, now))
            self._reply(req, peer, 403)
            return
        self._throttle.succeeded(peer.host)
        expires = expires_of(req)
        old = self.registry.device(device_id)
        if expires == 0:
            self.registry.unregister(device_id, now)
            self.subscriptions.forget(device_id)
            self.boots.forget(device_id)
            self.stats.registered(Registration.UNREGISTER)
            log.info("gb28181: %s unregistered", device_id)
            self._reply(req, peer, 200, extra=(("Expires", "0"),))
            return
        if expires < s.min_expires_s:
            self.refusals.too_brief(peer, device_id, expires, s.min_expires_s, now)
            self._reply(req, peer, 423, extra=(("Min-Expires", str(s.min_expires_s)),))
            return
        expires = min(expires, s.max_expires_s)
        if self.boots.last(device_id) == (call_id, cseq) and old is not None and old.peer is not None \
                and old.peer.host != peer.host:  # an accepted REGISTER again, from elsewhere: a replay
            self.refusals.replayed(peer, device_id, now)
            self._reply(req, peer, 401, extra=(("WWW-Authenticate", self._digest.challenge(now)),))
            return
        fresh = self.registry.register(device_id, peer, expires, now)
        kind = self.boots.accepted(device_id, call_id, cseq, in_force=not fresh, answer=answer_of(auth),
                                   host=peer.host, expires=expires)
        self._alive(device_id, now)
        self.stats.registered(kind)
        self._reply(req, peer, 200, extra=accepted_headers(req, expires, now))
        if not fresh and old is not None:
            self.refusals.moved(peer, old, now)
        if kind is not Registration.REFRESH:  # new, or restarted: its channels may have changed meanwhile
            log.info("gb28181: %s %s from %s %s:%d for %d s%s", device_id, "registered" if fresh else
                     "restarted and registered again", peer.transport, peer.host, peer.port, expires, "" if fresh else
                     " (its REGISTER began a new Call-ID or CSeq): its catalog is asked again")
            dev = self.registry.device(device_id)
            if dev is not None:
                self.query(dev, "Catalog", now)
                self.query(dev, "DeviceInfo", now)
                self.subscriptions.start(dev, now)

    def _on_manscdp(self, req: SipRequest, peer: Peer) -> None:
        now = self.clock()
        device_id = parse_address(required(req, "From")).user
        reg = self.registry
        known = reg.device(device_id)
        there = known.peer if known is not None and known.registered and now < known.expires_at else None
        if there is None or there.host != peer.host:  # nothing read (nor logged) of a sender not registered there
            self.stats.refused += 1
            self.refusals.elsewhere(peer, device_id, known, now)
            self._reply(req, peer, 403)
            return
        try:
            doc = manscdp.read(req.body)
        except manscdp.ManscdpError as exc:
            self._malformed(peer, str(exc))
            self.refusals.body(peer, device_id, req.method, str(exc), req.body, now)
            self._reply(req, peer, 400)
            return
        keepalive = isinstance(doc, manscdp.Keepalive)
        dev = reg.seen(device_id, peer, now, keepalive_status=doc.status if isinstance(doc, manscdp.Keepalive) else None)
        if dev is None:
            self.stats.refused += 1
            self.refusals.elsewhere(peer, device_id, reg.device(device_id), now)
            self._reply(req, peer, 403)
            return
        self._reply(req, peer, 200)
        self._alive(device_id, now)
        if keepalive:
            self.stats.keepalives += 1
            return
        self.stats.answers += 1
        if req.method == "NOTIFY":
            self.subscriptions.on_notify(req, device_id, now)
        if isinstance(doc, manscdp.Catalog):
            reg.apply_catalog(doc, device_id, now)
            self.refusals.catalog(peer, doc, device_id, now)
        elif isinstance(doc, manscdp.DeviceInfo):
            reg.apply_info(doc, device_id, now)

    # -- sending --------------------------------------------------------------------------
    def query(self, dev: DeviceState, cmd_type: str, now: float | None = None) -> bool:
        """Send a Catalog, DeviceStatus or DeviceInfo query to *dev* (where it registered from)."""
        at = self.clock() if now is None else now
        body = bodies.query(cmd_type, next(self._sn), dev.device_id)
        sent = self._send_request(dev, "MESSAGE", body, (), f"{secrets.token_hex(8)}@{self._via_host}", new_tag(),
                                  None, next(self._cseq))
        if sent:
            self.stats.queried(cmd_type)
            self.registry.asked(dev.device_id, at, catalog=cmd_type == "Catalog", status=cmd_type == "DeviceStatus")
        return sent

    def _send_request(self, dev: DeviceState, method: str, body: bytes, extra: tuple[tuple[str, str], ...],
                      call_id: str, from_tag: str, to_tag: str | None, cseq: int) -> bool:
        """A request of ours (a query, a SUBSCRIBE) to *dev*, where it registered from."""
        peer = dev.peer
        if peer is None:
            return False
        via = (self._via_host, self.addresses.get(peer.transport, (self._via_host, self.settings.port))[1])
        data = request_to(dev, self.settings, method, body, extra, call_id, from_tag, to_tag, cseq, via)
        return data is not None and self._endpoint.send(peer, data)
