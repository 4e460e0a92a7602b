"""A request of camwatch's own (a MANSCDP query, a SUBSCRIBE) to a device, where it registered
from: its SIP headers (camwatch's server ID and domain, Via with rport) and body."""

from __future__ import annotations

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.state import DeviceState
from probes.gb28181 import bodies
from probes.gb28181.fields import new_branch
from probes.gb28181.sip import SipRequest


def request_to(dev: DeviceState, s: Gb28181Settings, method: str, body: bytes, extra: tuple[tuple[str, str], ...],
               call_id: str, from_tag: str, to_tag: str | None, cseq: int, via: tuple[str, int]) -> bytes | None:
    """The encoded request to *dev* (None: no address to send it to); *via*: camwatch's host and port."""
    peer = dev.peer
    if peer is None:
        return None
    host, port = via
    to = f"<sip:{dev.device_id}@{s.domain}>" + (f";tag={to_tag}" if to_tag else "")
    headers = (
        ("Via", f"SIP/2.0/{peer.transport.upper()} {host}:{port};rport;branch={new_branch()}"),
        ("From", f"<sip:{s.server_id}@{s.domain}>;tag={from_tag}"),
        ("To", to),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
        ("Max-Forwards", "70"),
        *((("Contact", f"<sip:{s.server_id}@{host}:{port}>"),) if method == "SUBSCRIBE" else ()),
        *extra,
        ("Content-Type", bodies.CONTENT_TYPE),
        ("User-Agent", "camwatch"),
    )
    return SipRequest(method, f"sip:{dev.device_id}@{peer.host}:{peer.port}", headers, body).encode()
