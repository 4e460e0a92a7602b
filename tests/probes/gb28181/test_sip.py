"""The SIP parser and serializer: start lines, compact forms, folding, Content-Length framing
over UDP and TCP, the caps, and what a GB/T 28181 device really sends."""

from __future__ import annotations

import pytest

from probes.gb28181.fields import (
    parse_address,
    parse_cseq,
    parse_via,
    response_to,
    split_outside_quotes,
    uri_hostport,
    uri_user,
)
from probes.gb28181.sip import Limits, SipError, SipRequest, SipResponse, StreamFramer, canonical, parse_datagram

BODY = (b'<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\r\n<CmdType>Keepalive</CmdType>\r\n'
        b"<SN>43</SN>\r\n<DeviceID>34020000001320000001</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>\r\n")
KEEPALIVE = (b"MESSAGE sip:34020000002000000001@3402000000 SIP/2.0\r\n"
             b"Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1491280923\r\n"
             b"From: <sip:34020000001320000001@3402000000>;tag=1144502443\r\n"
             b"To: <sip:34020000002000000001@3402000000>\r\n"
             b"Call-ID: 1006651385\r\nCSeq: 20 MESSAGE\r\nContent-Type: Application/MANSCDP+xml\r\n"
             b"Max-Forwards: 70\r\nUser-Agent: IP Camera\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY


def test_a_camera_keepalive() -> None:
    m = parse_datagram(KEEPALIVE)
    assert isinstance(m, SipRequest) and m.method == "MESSAGE" and m.body == BODY
    assert m.uri == "sip:34020000002000000001@3402000000"  # a numeric domain (other parsers refuse it)
    assert uri_user(m.uri) == "34020000002000000001" and uri_hostport(m.uri) == ("3402000000", None)
    assert m.get("call-id") == m.get("i") == "1006651385" and m.get("content-length") == str(len(BODY))
    assert parse_cseq(m.get("CSeq") or "") == (20, "MESSAGE")
    frm = parse_address(m.get("From") or "")
    assert (frm.user, frm.tag) == ("34020000001320000001", "1144502443")
    via = parse_via(m.get("Via") or "")
    assert (via.transport, via.host, via.port, via.branch, via.params["rport"]) == (
        "UDP", "192.168.1.64", 5060, "z9hG4bK1491280923", "")


def test_compact_forms_folding_and_bare_lf() -> None:
    raw = (b"REGISTER sip:34020000002000000001@3402000000 SIP/2.0\n"
           b"v: SIP/2.0/TCP 10.0.0.2:5060;branch=z9hG4bKa\n"
           b"f: \"cam\" <sip:34020000001320000001@3402000000>;tag=x\n"
           b"t: <sip:34020000001320000001@3402000000>\n"
           b"i: abc\nCSeq: 1 REGISTER\nm: <sip:34020000001320000001@10.0.0.2:5060>;expires=600\n"
           b"User-Agent: a\n  folded b\nl: 0\n\n")
    m = parse_datagram(raw)
    assert isinstance(m, SipRequest)
    assert [k for k, _ in m.headers] == ["Via", "From", "To", "Call-ID", "CSeq", "Contact", "User-Agent",
                                         "Content-Length"]
    assert m.get("User-Agent") == "a folded b"
    assert parse_address(m.get("From") or "").display == "cam"
    assert parse_address(m.get("Contact") or "").params["expires"] == "600"
    assert canonical("X-Custom") == "x-custom" and canonical("WWW-authenticate") == "WWW-Authenticate"


def test_responses_and_the_response_to_a_request() -> None:
    m = parse_datagram(b"SIP/2.0 401 Unauthorized\r\nCall-ID: a\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(m, SipResponse) and (m.status, m.reason) == (401, "Unauthorized")
    req = parse_datagram(KEEPALIVE)
    assert isinstance(req, SipRequest)
    resp = response_to(req, 200, source=("203.0.113.9", 40000), to_tag="t1")
    again = parse_datagram(resp.encode())
    assert isinstance(again, SipResponse) and again.status == 200 and again.body == b""
    via = parse_via(again.get("Via") or "")
    assert via.params["rport"] == "40000" and via.params["received"] == "203.0.113.9"  # RFC 3581 (NAT)
    assert parse_address(again.get("To") or "").tag == "t1" and again.get("CSeq") == "20 MESSAGE"
    assert again.get("Content-Length") == "0"


def test_encode_round_trip_and_no_header_injection() -> None:
    req = SipRequest("MESSAGE", "sip:a@b", (("Call-ID", "x"), ("Content-Length", "999")), "中文".encode())
    back = parse_datagram(req.encode())
    assert back == SipRequest("MESSAGE", "sip:a@b", (("Call-ID", "x"), ("Content-Length", "6")), "中文".encode())
    with pytest.raises(SipError):
        SipRequest("MESSAGE", "sip:a@b", (("Subject", "x\r\nVia: evil"),)).encode()


def test_udp_body_is_cut_at_content_length_and_a_short_body_is_refused() -> None:
    m = parse_datagram(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 3\r\n\r\nabcdef")
    assert m.body == b"abc"
    assert parse_datagram(b"MESSAGE sip:a@b SIP/2.0\r\n\r\nxyz").body == b"xyz"  # UDP: no length, the rest
    with pytest.raises(SipError, match="shorter"):
        parse_datagram(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nab")


@pytest.mark.parametrize("raw", [
    b"",
    b"garbage",
    b"\x00\x01\x02\r\n\r\n",
    b"MESSAGE sip:a@b SIP/3.0\r\n\r\n",
    b"MESSAGE sip:a@b\r\n\r\n",
    b"MESS AGE sip:a@b SIP/2.0\r\n\r\n",
    b"MESSAGE nouri SIP/2.0\r\n\r\n",
    b"SIP/2.0 99 Low\r\n\r\n",
    b"SIP/2.0 2000 OK\r\n\r\n",
    b"MESSAGE sip:a@b SIP/2.0\r\nno colon here\r\n\r\n",
    b"MESSAGE sip:a@b SIP/2.0\r\n folded first\r\n\r\n",
    b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n",
    b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"MESSAGE sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
    b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 99999999999\r\n\r\n",
])
def test_malformed_is_refused(raw: bytes) -> None:
    with pytest.raises(SipError):
        parse_datagram(raw)


def test_caps() -> None:
    small = Limits(max_message=512, max_line=100, max_headers=5)
    with pytest.raises(SipError, match="more than 512 bytes"):
        parse_datagram(b"MESSAGE sip:a@b SIP/2.0\r\n\r\n" + b"x" * 600, small)
    with pytest.raises(SipError, match="longer than 100"):
        parse_datagram(b"MESSAGE sip:a@b SIP/2.0\r\nSubject: " + b"y" * 150 + b"\r\n\r\n", small)
    with pytest.raises(SipError, match="start line longer"):
        parse_datagram(b"MESSAGE sip:" + b"a" * 200 + b" SIP/2.0\r\n\r\n", small)
    with pytest.raises(SipError, match="more than 5 header lines"):
        parse_datagram(b"MESSAGE sip:a@b SIP/2.0\r\n" + b"X: 1\r\n" * 6 + b"\r\n", small)
    assert parse_datagram(b"MESSAGE sip:a@b SIP/2.0\r\n" + b"X: 1\r\n" * 5 + b"\r\n", small).get_all("x") == ["1"] * 5


def test_stream_framer_cuts_at_every_byte_boundary() -> None:
    two = KEEPALIVE + b"\r\n\r\n" + KEEPALIVE  # with a CRLF keep-alive ping between them
    for cut in range(1, len(two)):
        f = StreamFramer()
        got = f.feed(two[:cut]) + f.feed(two[cut:])
        assert [m.body for m in got] == [BODY, BODY], cut
        assert f.pending == 0
    f = StreamFramer()
    assert len(f.feed(two + KEEPALIVE)) == 3


def test_stream_framer_refuses_what_it_cannot_frame() -> None:
    with pytest.raises(SipError, match="no Content-Length"):
        StreamFramer().feed(b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n")
    with pytest.raises(SipError, match="more than"):
        StreamFramer(Limits(max_message=1000)).feed(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n")
    f = StreamFramer(Limits(max_message=2000, max_line=100))
    with pytest.raises(SipError, match="head too long"):  # a first line that never ends
        f.feed(b"M" * 150)
    f = StreamFramer(Limits(max_message=2000, max_line=100))
    with pytest.raises(SipError, match="head too long"):  # header lines that never end the head
        for _ in range(66):  # more lines than max_headers (64), well under max_message
            f.feed(b"X-Pad: 1234567890\r\n")


def test_gbk_in_a_header_is_read() -> None:
    raw = "MESSAGE sip:a@b SIP/2.0\r\nSubject: 村口摄像机\r\nContent-Length: 0\r\n\r\n".encode("gb18030")
    assert parse_datagram(raw).get("Subject") == "村口摄像机"


def test_split_outside_quotes() -> None:
    assert split_outside_quotes('a="x,y", b=<sip:c,d>, e', ",") == ['a="x,y"', " b=<sip:c,d>", " e"]
    with pytest.raises(SipError):
        split_outside_quotes('a="x', ",")
