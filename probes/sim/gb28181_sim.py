"""GB/T 28181 devices and lower platforms, simulated in one asyncio process: they REGISTER to a
platform (Digest), send keepalives, answer Catalog (channels ON/OFF, split over several
messages), DeviceStatus and DeviceInfo queries, and can be scripted: a channel switched OFF
(with or without a catalog notification), keepalives stopped (a dead device), a registration
left to expire or withdrawn, a restart (a new REGISTER Call-ID, maybe another channel list: a
refresh keeps its Call-ID and raises the CSeq, as devices do), malformed messages, GB18030 or
mislabelled bodies. A device takes
the platform's catalog SUBSCRIBE (or refuses it: ``subscribe_status=405``) and then tells its
changes (ON/OFF, ADD, DEL) by NOTIFY in that dialog.

    sim = GbSim(("127.0.0.1", 5060), domain="3402000000", server_id="34020000002000000001")
    await sim.start()
    dev = sim.add(SimDevice("34020000001180000001", "pw", channels=[SimChannel("34020000001310000001")]))
    assert await sim.register(dev.device_id) == 200
    sim.start_keepalives(dev.device_id)

UDP devices share one socket (the platform tells them apart by ID, as it does for devices
behind one NAT address); a TCP device has its own connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from probes.gb28181 import bodies, manscdp
from probes.gb28181.digest import authorization, parse_challenge
from probes.gb28181.fields import new_branch, new_tag, parse_address, parse_cseq, required, response_to
from probes.gb28181.manscdp import CatalogItem
from probes.gb28181.sip import SipMessage, SipRequest, SipResponse
from probes.gb28181.transport import Peer, SipEndpoint


@dataclass
class SimChannel:
    channel_id: str
    name: str = "通道"
    status: str = "ON"
    civil_code: str = "340200"
    address: str = "村口"
    manufacturer: str = "camwatch-sim"
    model: str = "IPC-GB"

    def item(self, parent: str, event: str = "") -> CatalogItem:
        return CatalogItem(self.channel_id, self.name, self.manufacturer, self.model, "", self.civil_code,
                           self.address, False, parent, self.status, event)


@dataclass
class SimSubscription:
    """The platform's catalog subscription, as the device keeps it (its dialog)."""

    call_id: str
    platform: str  # the platform's From (with its tag): our NOTIFYs' To
    tag: str  # our tag (the To tag of our 200)
    expires_at: float  # time.monotonic()
    refreshes: int = 0


@dataclass
class SimDevice:
    device_id: str
    password: str
    channels: list[SimChannel] = field(default_factory=list)
    name: str = "模拟设备"
    transport: str = "udp"
    keepalive_s: float = 60.0
    expires_s: int = 3600
    encoding: str = "GB2312"  # of its bodies: GB2312, GB18030, UTF-8
    declared: str | None = None  # the XML declaration's encoding when it lies (e.g. GB2312 over UTF-8 bytes)
    catalog_chunk: int = 2  # items per catalog message (SumNum tells the total)
    answers: bool = True  # answers queries (False: a dead or hung device)
    realm: str | None = None  # the Digest realm it answers with, when not the challenge's (its own SIP domain)
    sip_user: str | None = None  # its SIP user name, when not its device ID (a misconfigured device)
    # run-time
    peer: Peer | None = None
    registered: bool = False
    keepalive_sn: int = 0
    keepalive_replies: Counter[int] = field(default_factory=Counter)
    queries: Counter[str] = field(default_factory=Counter)  # queries received, by CmdType
    task: asyncio.Task[None] | None = None
    die_after_keepalive: bool = False  # dies right after its next keepalive (the worst case to detect)
    died_at: float | None = None  # time.time() when it died that way
    subscribe_status: int = 200  # the answer to a catalog SUBSCRIBE (405: not supported)
    subscribe_max_s: int | None = None  # the longest subscription it grants
    subscription: SimSubscription | None = None
    notify_cseq: int = 0
    call_id: str = ""  # its REGISTERs' Call-ID during this boot cycle ("" until its first REGISTER)
    register_cseq: int = 0  # its REGISTERs' last CSeq in that Call-ID
    restarts: int = 0


class GbSim:
    def __init__(self, server: tuple[str, int], *, domain: str, server_id: str, local_host: str = "127.0.0.1",
                 timeout_s: float = 5.0, batch_s: float = 0.0) -> None:
        self.server = server
        self.domain = domain
        self.server_id = server_id
        self.local_host = local_host
        self.timeout_s = timeout_s
        self.devices: dict[str, SimDevice] = {}
        self.endpoint = SipEndpoint(self._on_message, batch_s=batch_s)
        self._local: tuple[str, int] = (local_host, 0)
        self._pending: dict[tuple[str, int], asyncio.Future[SipResponse]] = {}
        self._cseq = itertools.count(1)
        self._sn = itertools.count(1)
        self.unmatched = 0

    async def start(self) -> None:
        self._local = await self.endpoint.listen_udp(self.local_host, 0)

    async def close(self) -> None:
        for dev in self.devices.values():
            self.stop_keepalives(dev.device_id)
        await self.endpoint.close()

    def add(self, dev: SimDevice) -> SimDevice:
        self.devices[dev.device_id] = dev
        return dev

    # -- sending ----------------------------------------------------------------------------
    async def _peer(self, dev: SimDevice) -> Peer:
        if dev.peer is None:
            if dev.transport == "tcp":
                dev.peer = await self.endpoint.connect_tcp(*self.server, local_host=self.local_host)
            else:
                dev.peer = Peer("udp", *self.server)
        return dev.peer

    def _request(self, dev: SimDevice, method: str, body: bytes = b"", extra: tuple[tuple[str, str], ...] = (),
                 call_id: str | None = None, cseq: int | None = None) -> SipRequest:
        host, port = self._local
        proto = "TCP" if dev.transport == "tcp" else "UDP"
        uri = f"sip:{self.server_id}@{self.domain}"
        headers = [
            ("Via", f"SIP/2.0/{proto} {host}:{port};rport;branch={new_branch()}"),
            ("From", f"<sip:{dev.device_id}@{self.domain}>;tag={new_tag()}"),
            ("To", f"<sip:{(dev.device_id if method == 'REGISTER' else self.server_id)}@{self.domain}>"),
            ("Call-ID", call_id or f"{secrets.token_hex(8)}@{host}"),
            ("CSeq", f"{cseq or next(self._cseq)} {method}"),
            ("Max-Forwards", "70"), ("User-Agent", "camwatch-gb28181-sim"), *extra,
        ]
        if body:
            headers.append(("Content-Type", bodies.CONTENT_TYPE))
        if method == "REGISTER":
            uri = f"sip:{self.server_id}@{self.domain}"
            headers.append(("Contact", f"<sip:{dev.device_id}@{host}:{port}>"))
        return SipRequest(method, uri, tuple(headers), body)

    async def _transact(self, dev: SimDevice, req: SipRequest) -> SipResponse:
        peer = await self._peer(dev)
        key = (required(req, "Call-ID"), parse_cseq(required(req, "CSeq"))[0])
        fut: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        data = req.encode()
        try:
            deadline = asyncio.get_running_loop().time() + self.timeout_s
            wait = 0.5
            while True:
                self.endpoint.send(peer, data)
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    raise TimeoutError("no answer")
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(fut), min(wait, left))
                if peer.transport == "tcp":
                    wait = left  # TCP: no retransmission
                wait = min(wait * 2, 4.0)
        finally:
            self._pending.pop(key, None)

    def send(self, dev: SimDevice, req: SipRequest) -> None:
        """Fire and forget (the answer is counted when it comes)."""
        if dev.peer is not None:
            self.endpoint.send(dev.peer, req.encode())

    async def register(self, device_id: str, *, expires: int | None = None, password: str | None = None) -> int:
        """REGISTER, answering the challenge; the final status (200 registered)."""
        dev = self.devices[device_id]
        exp = dev.expires_s if expires is None else expires
        if not dev.call_id:  # one Call-ID a boot cycle, the CSeq raised at each REGISTER (RFC 3261 §10.2.4)
            dev.call_id = f"{secrets.token_hex(8)}@{self.local_host}"
        call_id = dev.call_id
        dev.register_cseq += 1
        cseq = dev.register_cseq
        resp = await self._transact(dev, self._request(dev, "REGISTER", extra=(("Expires", str(exp)),),
                                                       call_id=call_id, cseq=cseq))
        if resp.status == 401:
            ch = parse_challenge(required(resp, "WWW-Authenticate"))
            if dev.realm is not None:
                ch = replace(ch, realm=dev.realm)
            uri = f"sip:{self.server_id}@{self.domain}"
            auth = authorization(ch, username=dev.sip_user or device_id, password=dev.password if password is None else password,
                                 method="REGISTER", uri=uri)
            dev.register_cseq += 1
            resp = await self._transact(dev, self._request(
                dev, "REGISTER", extra=(("Expires", str(exp)), ("Authorization", auth)),
                call_id=call_id, cseq=dev.register_cseq))
        if resp.status == 200:
            dev.registered = exp > 0
        return resp.status

    async def unregister(self, device_id: str) -> int:
        return await self.register(device_id, expires=0)

    def keepalive_request(self, dev: SimDevice) -> SipRequest:
        dev.keepalive_sn += 1
        body = bodies.keepalive(dev.device_id, dev.keepalive_sn, encoding=dev.encoding)
        return self._request(dev, "MESSAGE", body)

    async def keepalive(self, device_id: str) -> int:
        """One keepalive, waiting for its answer's status."""
        dev = self.devices[device_id]
        resp = await self._transact(dev, self.keepalive_request(dev))
        return resp.status

    def start_keepalives(self, device_id: str, *, first_after: float | None = None) -> None:
        dev = self.devices[device_id]
        if dev.task is None or dev.task.done():
            dev.task = asyncio.create_task(self._keepalive_loop(dev, first_after), name=f"keepalive-{device_id}")

    async def _keepalive_loop(self, dev: SimDevice, first_after: float | None) -> None:
        await asyncio.sleep(dev.keepalive_s if first_after is None else first_after)
        while True:
            self.send(dev, self.keepalive_request(dev))
            if dev.die_after_keepalive:
                dev.died_at = time.time()
                dev.answers = False
                dev.task = None
                return
            await asyncio.sleep(dev.keepalive_s)

    def stop_keepalives(self, device_id: str) -> None:
        dev = self.devices[device_id]
        if dev.task is not None:
            dev.task.cancel()
            dev.task = None

    def restart(self, device_id: str, channels: list[SimChannel] | None = None) -> None:
        """The device reboots: it stops its keepalives and forgets its subscription, its TCP
        connection and its REGISTER's Call-ID (the next REGISTER begins a new one, CSeq from 1);
        with *channels*, it comes back with that channel list. Register it again to bring it up."""
        dev = self.devices[device_id]
        self.stop_keepalives(device_id)
        if dev.peer is not None and dev.peer.transport == "tcp":
            self.endpoint.drop(dev.peer)
            dev.peer = None
        dev.subscription, dev.notify_cseq, dev.keepalive_sn = None, 0, 0
        dev.call_id, dev.register_cseq, dev.registered = "", 0, False
        dev.restarts += 1
        if channels is not None:
            dev.channels = channels

    def kill(self, device_id: str) -> None:
        """A dead device: no keepalive, no answer."""
        self.stop_keepalives(device_id)
        self.devices[device_id].answers = False

    def set_status(self, device_id: str, channel_id: str, status: str, *, notify: bool = False) -> None:
        """Switch a channel ON/OFF; with *notify* the device tells the platform at once
        (a catalog notification: a NOTIFY in its subscription's dialog when subscribed, else
        unasked), else the platform learns it at its next Catalog query."""
        dev = self.devices[device_id]
        ch = next(c for c in dev.channels if c.channel_id == channel_id)
        ch.status = status
        if notify:
            self.notify_catalog(device_id, [ch.item(device_id, status)])

    def add_channel(self, device_id: str, ch: SimChannel, *, notify: bool = True) -> None:
        dev = self.devices[device_id]
        dev.channels.append(ch)
        if notify:
            self.notify_catalog(device_id, [ch.item(device_id, "ADD")])

    def remove_channel(self, device_id: str, channel_id: str, *, notify: bool = True) -> None:
        dev = self.devices[device_id]
        ch = next(c for c in dev.channels if c.channel_id == channel_id)
        dev.channels.remove(ch)
        if notify:
            self.notify_catalog(device_id, [ch.item(device_id, "DEL")])

    def notify_catalog(self, device_id: str, items: list[CatalogItem], *, terminated: bool = False) -> bool:
        """A catalog notification; True when it went in a subscription's dialog."""
        dev = self.devices[device_id]
        body = bodies.catalog(device_id, next(self._sn), len(items), items, notify=True,
                              encoding=dev.encoding, declared=dev.declared)
        sub = dev.subscription
        if sub is None or time.monotonic() >= sub.expires_at:
            self.send(dev, self._request(dev, "NOTIFY" if dev.transport == "tcp" else "MESSAGE", body))
            return False
        left = max(0, int(sub.expires_at - time.monotonic()))
        state = "terminated;reason=noresource" if terminated else f"active;expires={left}"
        dev.notify_cseq += 1
        req = self._request(dev, "NOTIFY", body, extra=(("Event", "Catalog"), ("Subscription-State", state)),
                            call_id=sub.call_id, cseq=dev.notify_cseq)
        headers = tuple((k, f"<sip:{device_id}@{self.domain}>;tag={sub.tag}" if k == "From" else
                         (sub.platform if k == "To" else v)) for k, v in req.headers)
        self.send(dev, SipRequest(req.method, req.uri, headers, req.body))
        if terminated:
            dev.subscription = None
        return True

    async def send_raw(self, data: bytes, device_id: str | None = None) -> None:
        """Raw bytes to the platform (malformed messages), on a device's transport or UDP."""
        dev = self.devices.get(device_id or "")
        peer = await self._peer(dev) if dev is not None else Peer("udp", *self.server)
        self.endpoint.send(peer, data)

    # -- receiving --------------------------------------------------------------------------
    def _on_message(self, msg: SipMessage, peer: Peer) -> None:
        if isinstance(msg, SipResponse):
            try:
                key = (required(msg, "Call-ID"), parse_cseq(required(msg, "CSeq"))[0])
            except ValueError:
                return
            fut = self._pending.get(key)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            elif "MESSAGE" in (msg.get("CSeq") or ""):
                self._count_keepalive_reply(msg)
            else:
                self.unmatched += 1
            return
        try:
            device_id = msg.uri.partition(":")[2].partition("@")[0]
            dev = self.devices.get(device_id)
            if dev is None or msg.method not in ("MESSAGE", "SUBSCRIBE"):
                return
            doc = manscdp.read(msg.body)
        except ValueError:
            return
        if msg.method == "SUBSCRIBE":
            self._on_subscribe(dev, msg, peer)
            return
        dev.queries[getattr(doc, "cmd_type", "")] += 1  # received (a dead device does not answer)
        if not dev.answers:
            return
        self.endpoint.send(peer, response_to(msg, 200, to_tag=new_tag()).encode())
        for body in self._answers(dev, doc):
            self.send(dev, self._request(dev, "MESSAGE", body))

    def _on_subscribe(self, dev: SimDevice, msg: SipRequest, peer: Peer) -> None:
        dev.queries["SUBSCRIBE"] += 1
        if not dev.answers:
            return
        if dev.subscribe_status != 200:
            self.endpoint.send(peer, response_to(msg, dev.subscribe_status, to_tag=new_tag()).encode())
            return
        raw = (msg.get("Expires") or "3600").strip()
        granted = int(raw) if raw.isdigit() else 3600
        if dev.subscribe_max_s is not None:
            granted = min(granted, dev.subscribe_max_s)
        call_id = required(msg, "Call-ID")
        sub = dev.subscription
        to_tag = parse_address(required(msg, "To")).tag
        if sub is not None and sub.call_id == call_id and to_tag == sub.tag:
            sub.refreshes += 1
            sub.expires_at = time.monotonic() + granted
        elif to_tag is not None:  # a refresh of a dialog it does not know (e.g. it restarted)
            self.endpoint.send(peer, response_to(msg, 481).encode())
            return
        else:
            sub = dev.subscription = SimSubscription(call_id, required(msg, "From"), new_tag(),
                                                     time.monotonic() + granted)
        self.endpoint.send(peer, response_to(msg, 200, to_tag=sub.tag, extra=(("Expires", str(granted)),)).encode())

    def _count_keepalive_reply(self, msg: SipResponse) -> None:
        with contextlib.suppress(ValueError):
            dev = self.devices.get(parse_address(required(msg, "From")).user)
            if dev is not None:
                dev.keepalive_replies[msg.status] += 1

    def _answers(self, dev: SimDevice, doc: manscdp.Manscdp) -> list[bytes]:
        if not isinstance(doc, manscdp.Other) or doc.root != "Query":
            return []
        sn, enc = doc.sn, dev.encoding
        if doc.cmd_type == "Catalog":
            items = [c.item(dev.device_id) for c in dev.channels]
            chunks = [items[i:i + dev.catalog_chunk] for i in range(0, len(items), dev.catalog_chunk)] or [[]]
            return [bodies.catalog(dev.device_id, sn, len(items), chunk, encoding=enc, declared=dev.declared)
                    for chunk in chunks]
        if doc.cmd_type == "DeviceStatus":
            return [bodies.device_status(dev.device_id, sn, encoding=enc)]
        if doc.cmd_type == "DeviceInfo":
            return [bodies.device_info(dev.device_id, sn, name=dev.name, manufacturer="camwatch-sim", model="NVR-GB",
                                       firmware="V1.0", channels=len(dev.channels), encoding=enc)]
        return []
