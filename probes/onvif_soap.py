"""ONVIF SOAP 1.2 messages of the hot path: pre-built requests, WS-UsernameToken and
reply parsing (with :mod:`probes.xmlsafe`).

Requests are byte templates: the body of an unauthenticated call is a constant, an
authenticated one is three constant pieces around the token. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from probes.redact import camera_text
from probes.xmlsafe import Node, XmlError, parse

NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
_BASE64 = ("http://docs.oasis-open.org/wss/2004/01/"
           "oasis-200401-wss-soap-message-security-1.0#Base64Binary")

GET_SYSTEM_DATE_AND_TIME = "GetSystemDateAndTime"
GET_DEVICE_INFORMATION = "GetDeviceInformation"

# Fault codes and subcodes (local names) that mean "who are you?" rather than "it broke".
_AUTH_CODES = frozenset({"NotAuthorized", "FailedAuthentication", "InvalidSecurityToken",
                         "InvalidSecurity", "SecurityTokenUnavailable", "Unauthorized"})
_AUTH_REASON = re.compile(r"not\s+authori[sz]ed|unauthori[sz]ed|authenticat", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class SoapError(Exception):
    """A reply that is not the SOAP answer we asked for (bad XML, wrong shape)."""


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """GetDeviceInformation: ``vendor`` is ONVIF's Manufacturer."""

    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    hardware_id: str | None = None


@dataclass(frozen=True, slots=True)
class SoapFault:
    """A SOAP 1.2 (or 1.1) fault: code, subcodes (local names, outermost first), reason."""

    code: str
    subcodes: tuple[str, ...] = ()
    reason: str = ""

    @property
    def is_auth(self) -> bool:
        """Does this fault say the credentials were missing or wrong?"""
        if self.code in _AUTH_CODES or any(s in _AUTH_CODES for s in self.subcodes):
            return True
        return bool(_AUTH_REASON.search(self.reason))

    def describe(self, secrets: Iterable[str | None] = ()) -> str:
        """The fault for a detail: the camera's words with *secrets* masked before the cut."""
        text = camera_text("/".join(p for p in (self.code, *self.subcodes) if p), secrets, 120)
        reason = camera_text(_CONTROL.sub(" ", self.reason).strip(), secrets, 120)
        return f"{text}: {reason}" if reason else text


# --- requests ----------------------------------------------------------------------------

_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope xmlns:s="' + NS_SOAP12.encode() + b'">'
_BODY_OPEN = b"<s:Body>"
_TAIL = b"</s:Body></s:Envelope>"


def _operation(action: str) -> bytes:
    return f'<{action} xmlns="{NS_DEVICE}"/>'.encode()


_BODIES = {a: _operation(a) for a in (GET_SYSTEM_DATE_AND_TIME, GET_DEVICE_INFORMATION)}
_PLAIN = {a: _HEAD + _BODY_OPEN + b + _TAIL for a, b in _BODIES.items()}
_TOKEN_OPEN = (f'<s:Header><wsse:Security xmlns:wsse="{_WSSE}" xmlns:wsu="{_WSU}">'
               "<wsse:UsernameToken><wsse:Username>")
_DIGEST_TYPE = f'</wsse:Username><wsse:Password Type="{_PROFILE}#PasswordDigest">'
_TEXT_TYPE = f'</wsse:Username><wsse:Password Type="{_PROFILE}#PasswordText">'
_NONCE_OPEN = f'</wsse:Password><wsse:Nonce EncodingType="{_BASE64}">'
_TOKEN_CLOSE = "</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>"


def plain_envelope(action: str) -> bytes:
    """The pre-built envelope of an operation without a security header."""
    return _PLAIN[action]


def format_created(epoch_s: float) -> str:
    """An xs:dateTime in UTC "Zulu" form with whole seconds (what cameras accept best)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security PasswordDigest: Base64(SHA1(nonce + created + password))."""
    raw = hashlib.sha1(nonce + created.encode() + password.encode(), usedforsecurity=False)
    return base64.b64encode(raw.digest()).decode("ascii")


def token_envelope(action: str, username: str, password: str, created: str, *,
                   digest: bool = True, nonce: bytes | None = None) -> bytes:
    """The envelope of *action* with a WS-UsernameToken: PasswordDigest over a random (or
    given) nonce and *created*, or PasswordText (then *created* is not sent)."""
    user = escape(username)
    if digest:
        if nonce is None:
            nonce = os.urandom(16)
        token = (_TOKEN_OPEN + user + _DIGEST_TYPE + password_digest(nonce, created, password)
                 + _NONCE_OPEN + base64.b64encode(nonce).decode("ascii")
                 + "</wsse:Nonce><wsu:Created>" + created + _TOKEN_CLOSE)
    else:
        # No Created: it is optional for PasswordText, and a camera that checks it
        # against an unknown clock would refuse an otherwise good password.
        token = (_TOKEN_OPEN + user + _TEXT_TYPE + escape(password)
                 + "</wsse:Password></wsse:UsernameToken></wsse:Security></s:Header>")
    return _HEAD + token.encode() + _BODY_OPEN + _BODIES[action] + _TAIL


def http_request(host: str, port: int, path: str, action: str, envelope: bytes,
                 user_agent: str = "camwatch") -> bytes:
    """An HTTP/1.1 POST (keep-alive) carrying a SOAP 1.2 envelope."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    head = (f"POST {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {user_agent}\r\n"
            f'Content-Type: application/soap+xml; charset=utf-8; action="{NS_DEVICE}/{action}"\r\n'
            f"Content-Length: {len(envelope)}\r\n\r\n")
    return head.encode("latin-1") + envelope


# --- replies -----------------------------------------------------------------------------

def parse_body(data: bytes, max_bytes: int) -> Node:
    """The SOAP Body of a reply; :class:`SoapError` for bad XML or a non-SOAP document."""
    try:
        root = parse(data, max_bytes=max_bytes)
    except XmlError as exc:
        raise SoapError(str(exc)) from None
    if root.name != "Envelope" or root.ns not in (NS_SOAP12, NS_SOAP11):
        raise SoapError(f"not a SOAP envelope (root element {root.name!r})")
    body = root.child("Body", root.ns)
    if body is None:
        raise SoapError("SOAP envelope without a Body")
    return body


def _local(qname: str) -> str:
    return qname.strip().rpartition(":")[2]


def find_fault(body: Node) -> SoapFault | None:
    """The fault in a SOAP Body, or None."""
    fault = body.child("Fault")
    if fault is None:
        return None
    code = fault.child("Code")
    if code is not None:  # SOAP 1.2
        subcodes: list[str] = []
        sub = code.child("Subcode")
        while sub is not None and len(subcodes) < 8:
            subcodes.append(_local(sub.text_of("Value") or ""))
            sub = sub.child("Subcode")
        reason = fault.child("Reason")
        text = reason.text_of("Text") if reason is not None else None
        return SoapFault(_local(code.text_of("Value") or ""), tuple(subcodes), text or "")
    return SoapFault(_local(fault.text_of("faultcode") or ""), (),  # SOAP 1.1
                     fault.text_of("faultstring") or "")


def _int(node: Node, *names: str) -> int:
    text = node.text_of(*names)
    if text is None or not text.isdigit():
        raise SoapError(f"missing or bad {'/'.join(names)} in the camera's date and time")
    return int(text)


def parse_system_time(body: Node) -> float:
    """Epoch seconds of the camera's UTC clock from a GetSystemDateAndTime reply."""
    reply = body.child("GetSystemDateAndTimeResponse")
    if reply is None:
        raise SoapError("no GetSystemDateAndTimeResponse in the reply")
    utc = reply.find("UTCDateTime")
    if utc is None:
        raise SoapError("the camera's date and time has no UTCDateTime")
    year, month, day = _int(utc, "Date", "Year"), _int(utc, "Date", "Month"), _int(utc, "Date", "Day")
    hour, minute, second = (_int(utc, "Time", "Hour"), _int(utc, "Time", "Minute"),
                            _int(utc, "Time", "Second"))
    if not (1970 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= 31 and hour <= 23
            and minute <= 59 and second <= 60):
        raise SoapError("the camera's UTCDateTime is out of range")
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))


def parse_device_information(body: Node) -> DeviceIdentity:
    """The identity in a GetDeviceInformation reply."""
    reply = body.child("GetDeviceInformationResponse")
    if reply is None:
        raise SoapError("no GetDeviceInformationResponse in the reply")

    def text(name: str) -> str | None:
        value = reply.text_of(name)
        return value or None

    return DeviceIdentity(text("Manufacturer"), text("Model"), text("FirmwareVersion"),
                          text("SerialNumber"), text("HardwareId"))


_UTC_BLOCK = re.compile(rb"<(?:[\w.-]+:)?UTCDateTime\b[^>]*>(.*?)</(?:[\w.-]+:)?UTCDateTime\s*>", re.S)
# The six fields in one pass (any order, any prefix); the first of each name counts.
_FIELD = re.compile(rb"<(?:[\w.-]+:)?(Year|Month|Day|Hour|Minute|Second)\b[^>]*>\s*(\d{1,4})\s*<")
_FIELD_NAMES = (b"Year", b"Month", b"Day", b"Hour", b"Minute", b"Second")


def fast_system_time(raw: bytes, max_bytes: int) -> float | None:
    """The hot path for the every-minute clock call: read UTCDateTime straight from the bytes.

    Only for a plain reply (no ``<!`` at all: no DTD, entity or CDATA; no Fault; within the size
    cap); anything else returns None and goes through the hardened parser.
    """
    if len(raw) > max_bytes or b"<!" in raw or b"Fault" in raw or b"GetSystemDateAndTimeResponse" not in raw:
        return None
    m = _UTC_BLOCK.search(raw)
    if m is None:
        return None
    found: dict[bytes, bytes] = {}
    for name, value in _FIELD.findall(m.group(1)):
        found.setdefault(name, value)
    if len(found) != 6:
        return None
    year, month, day, hour, minute, second = (int(found[n]) for n in _FIELD_NAMES)
    if not (1970 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= 31 and hour <= 23
            and minute <= 59 and second <= 60):
        return None
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
