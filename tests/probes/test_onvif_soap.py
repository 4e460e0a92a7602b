"""WS-UsernameToken and the SOAP messages of the onvif hot path."""

from __future__ import annotations

import base64
import calendar
import hashlib

import pytest

from probes.onvif_soap import (
    NS_SOAP12,
    SoapError,
    find_fault,
    format_created,
    http_request,
    parse_body,
    parse_device_information,
    parse_system_time,
    password_digest,
    plain_envelope,
    token_envelope,
)
from probes.xmlsafe import parse

NONCE = bytes(range(16))
CREATED = "2024-01-02T03:04:05Z"


def test_password_digest_known_vector() -> None:
    # Computed outside Python: printf nonce+created+password | openssl sha1 -binary | base64
    assert password_digest(NONCE, CREATED, "passéword") == "jQgoo9Pake5rtjIRJYZD0Kc8aB4="
    # ... and independently here: Base64(SHA1(nonce + created + password)).
    expected = base64.b64encode(hashlib.sha1(NONCE + CREATED.encode() + b"p").digest())
    assert password_digest(NONCE, CREATED, "p") == expected.decode()
    assert password_digest(NONCE, CREATED, "p") != password_digest(NONCE, CREATED, "q")


def test_format_created() -> None:
    stamp = calendar.timegm((2024, 1, 2, 3, 4, 5, 0, 0, 0))
    assert format_created(stamp + 0.9) == CREATED


def test_digest_token_envelope() -> None:
    env = token_envelope("GetDeviceInformation", "ad<min", "pw", CREATED, nonce=NONCE)
    root = parse(env)
    token = root.find("UsernameToken")
    assert token is not None and root.ns == NS_SOAP12
    assert token.text_of("Username") == "ad<min"
    password = token.child("Password")
    assert password is not None and password.attrs["Type"].endswith("#PasswordDigest")
    assert password.text == password_digest(NONCE, CREATED, "pw")
    assert base64.b64decode(token.text_of("Nonce") or "") == NONCE
    assert token.text_of("Created") == CREATED
    assert root.path("Body", "GetDeviceInformation") is not None
    assert b"pw<" not in env  # the password itself is not sent


def test_random_nonce_differs() -> None:
    a = token_envelope("GetDeviceInformation", "u", "pw", CREATED)
    b = token_envelope("GetDeviceInformation", "u", "pw", CREATED)
    assert a != b


def test_text_token_envelope() -> None:
    env = token_envelope("GetSystemDateAndTime", "u", "a&b", CREATED, digest=False)
    token = parse(env).find("UsernameToken")
    assert token is not None and token.text_of("Password") == "a&b"
    assert token.child("Password").attrs["Type"].endswith("#PasswordText")  # type: ignore[union-attr]
    assert token.child("Created") is None and token.child("Nonce") is None


def test_plain_envelope_and_http_request() -> None:
    env = plain_envelope("GetSystemDateAndTime")
    assert parse(env).find("Header") is None
    req = http_request("::1", 8000, "/onvif/device_service", "GetSystemDateAndTime", env)
    head, _, body = req.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /onvif/device_service HTTP/1.1\r\nHost: [::1]:8000\r\n")
    assert f"Content-Length: {len(env)}".encode() in head and body == env
    assert b'action="http://www.onvif.org/ver10/device/wsdl/GetSystemDateAndTime"' in head


def _env(inner: str, ns: str = NS_SOAP12) -> bytes:
    return f'<e:Envelope xmlns:e="{ns}"><e:Body>{inner}</e:Body></e:Envelope>'.encode()


def test_faults() -> None:
    f12 = find_fault(parse_body(_env(
        "<e:Fault><e:Code><e:Value>e:Sender</e:Value><e:Subcode><e:Value>ter:NotAuthorized"
        "</e:Value></e:Subcode></e:Code><e:Reason><e:Text>no</e:Text></e:Reason></e:Fault>"),
        4096))
    assert f12 is not None and f12.code == "Sender" and f12.subcodes == ("NotAuthorized",)
    assert f12.is_auth and f12.describe() == "Sender/NotAuthorized: no"
    other = find_fault(parse_body(_env(
        "<e:Fault><e:Code><e:Value>e:Receiver</e:Value></e:Code>"
        "<e:Reason><e:Text>busy</e:Text></e:Reason></e:Fault>"), 4096))
    assert other is not None and not other.is_auth
    by_reason = find_fault(parse_body(_env(
        "<e:Fault><e:Code><e:Value>e:Receiver</e:Value></e:Code>"
        "<e:Reason><e:Text>Sender not authorized</e:Text></e:Reason></e:Fault>"), 4096))
    assert by_reason is not None and by_reason.is_auth
    f11 = find_fault(parse_body(_env(
        "<e:Fault><faultcode>e:Client</faultcode><faultstring>Unauthorized</faultstring></e:Fault>",
        "http://schemas.xmlsoap.org/soap/envelope/"), 4096))
    assert f11 is not None and f11.code == "Client" and f11.is_auth
    assert find_fault(parse_body(_env("<x/>"), 4096)) is None


def test_not_soap() -> None:
    with pytest.raises(SoapError, match="not a SOAP envelope"):
        parse_body(b"<html/>", 4096)
    with pytest.raises(SoapError, match="without a Body"):
        parse_body(f'<e:Envelope xmlns:e="{NS_SOAP12}"/>'.encode(), 4096)
    with pytest.raises(SoapError, match="exceeds the cap"):
        parse_body(_env("<x/>"), 10)


def _time(y: int, mo: int, d: int, h: int, mi: int, s: int) -> bytes:
    return _env('<r:GetSystemDateAndTimeResponse xmlns:r="urn:r" xmlns:t="urn:t"><r:SystemDateAndTime>'
                f"<t:UTCDateTime><t:Time><t:Hour>{h}</t:Hour><t:Minute>{mi}</t:Minute>"
                f"<t:Second>{s}</t:Second></t:Time><t:Date><t:Year>{y}</t:Year>"
                f"<t:Month>{mo}</t:Month><t:Day>{d}</t:Day></t:Date></t:UTCDateTime>"
                "</r:SystemDateAndTime></r:GetSystemDateAndTimeResponse>")


def test_system_time() -> None:
    body = parse_body(_time(2024, 1, 2, 3, 4, 5), 4096)
    assert parse_system_time(body) == calendar.timegm((2024, 1, 2, 3, 4, 5, 0, 0, 0))
    with pytest.raises(SoapError, match="out of range"):
        parse_system_time(parse_body(_time(2024, 13, 2, 3, 4, 5), 4096))
    with pytest.raises(SoapError, match="bad Time/Hour"):
        parse_system_time(parse_body(_time(2024, 1, 2, -3, 4, 5), 4096))
    with pytest.raises(SoapError, match="no GetSystemDateAndTimeResponse"):
        parse_system_time(parse_body(_env("<x/>"), 4096))


def test_device_information_missing_fields_are_none() -> None:
    body = parse_body(_env('<r:GetDeviceInformationResponse xmlns:r="urn:r">'
                           "<r:Manufacturer>M</r:Manufacturer><r:Model> </r:Model>"
                           "</r:GetDeviceInformationResponse>"), 4096)
    dev = parse_device_information(body)
    assert (dev.vendor, dev.model, dev.firmware, dev.serial) == ("M", None, None, None)
