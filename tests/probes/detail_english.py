"""What of a probe detail's Chinese form is still English: the tests' one measure of "translated".

A Chinese detail may quote, as they are: numbers and status codes, protocol and field names
(:data:`TECH`), and what the caller says the detail quotes (*kept*: a camera's words, an operating
system's error text, an exception's class name). Any other word of two letters or more is English
the reader did not get in Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Names a Chinese detail keeps: protocols, RTSP methods, header and XML element names, units.
TECH = frozenset({
    "TCP", "RTSP", "RTSPS", "HTTP", "HTTPS", "TLS", "SDP", "ONVIF", "SOAP", "XML", "DTD", "CDATA", "CRLF", "CSeq",
    "Content-Length", "Location", "Body", "UTCDateTime", "GetSystemDateAndTimeResponse",
    "GetDeviceInformationResponse", "GetSystemDateAndTime", "GetDeviceInformation", "WWW-Authenticate", "Date/Year", "Date/Month", "Date/Day", "Time/Hour", "Time/Minute", "Time/Second",
    "DESCRIBE", "SETUP", "PLAY", "OPTIONS", "TEARDOWN", "ping", "1xx", "4XX", "5XX",
})
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./+-]*")
_LETTERS = re.compile(r"[A-Za-z]{2}")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def english_left(zh: str, kept: Iterable[str] = ()) -> list[str]:
    """The English words of *zh* that are neither :data:`TECH` nor inside a *kept* text."""
    for piece in sorted(kept, key=len, reverse=True):
        zh = zh.replace(piece, " ")
    return [w for w in _WORD.findall(zh) if _LETTERS.search(w) and w.rstrip(".") not in TECH]


def numbers_lost(en: str, zh: str) -> list[str]:
    """The numbers of *en* (offsets, ports, seconds, status codes) that *zh* does not show."""
    return [n for n in _NUMBER.findall(en) if n not in zh]
