"""The clock hot path reads the same time as the hardened parser, and refuses anything unusual."""

from __future__ import annotations

import pytest

from probes.onvif_soap import fast_system_time, parse_body, parse_system_time

REPLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema">
<env:Body><tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>
<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>
<tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone>
<tt:UTCDateTime><tt:Time><tt:Hour>7</tt:Hour><tt:Minute>59</tt:Minute><tt:Second>3</tt:Second></tt:Time>
<tt:Date><tt:Year>2026</tt:Year><tt:Month>11</tt:Month><tt:Day>23</tt:Day></tt:Date></tt:UTCDateTime>
<tt:LocalDateTime><tt:Time><tt:Hour>15</tt:Hour><tt:Minute>59</tt:Minute><tt:Second>3</tt:Second></tt:Time>
<tt:Date><tt:Year>2026</tt:Year><tt:Month>11</tt:Month><tt:Day>23</tt:Day></tt:Date></tt:LocalDateTime>
</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></env:Body></env:Envelope>"""


def test_fast_path_agrees_with_the_parser() -> None:
    fast = fast_system_time(REPLY, 1 << 18)
    assert fast is not None and fast == parse_system_time(parse_body(REPLY, 1 << 18))


@pytest.mark.parametrize(
    "raw",
    [
        REPLY.replace(b"<?xml", b'<!DOCTYPE x [<!ENTITY a "1">]><?xml'),
        REPLY.replace(b"<tt:Hour>7</tt:Hour>", b"<tt:Hour>&a;</tt:Hour>"),
        REPLY.replace(b"GetSystemDateAndTimeResponse", b"Fault"),
        REPLY.replace(b"<tt:Month>11</tt:Month>", b"<tt:Month>13</tt:Month>"),
        REPLY.replace(b"UTCDateTime", b"Other"),
        REPLY + b" " * (1 << 18),
    ],
)
def test_fast_path_declines_the_unusual(raw: bytes) -> None:
    assert fast_system_time(raw, 1 << 18) is None
