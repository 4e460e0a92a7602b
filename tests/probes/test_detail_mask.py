"""A password masked in a probe's detail without masking our own words: ``open`` leaves ``tcp 554
open`` whole, ``off`` ``clock offset``; a camera's words, a credential's place, URLs and encodings
are masked as everywhere (:mod:`probes.detail_mask`)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from probes.detail_mask import detail_mask


@pytest.mark.parametrize(("pw", "detail", "shown"), [
    ("open", "tcp 554 open; ping 0.4 ms", "tcp 554 open; ping 0.4 ms"),
    ("554", "tcp 554 open; ping 0.4 ms", "tcp *** open; ping 0.4 ms"),  # (a number is never kept: 123456 ...)
    ("123456", '"pwd": "123456" /live/123456 [123456] timeout 123456 ms', '"pwd": "***" /live/*** [***] timeout *** ms'),
    ("tcp", "tcp 554 open", "tcp 554 open"),
    ("off", "clock offset -0.150 s; Hikvision offcam", "clock offset -0.150 s; Hikvision ***cam"),
    ("ok", "picture ok", "picture ok"),
    # a camera's words (not ours), where a credential stands, in a URL, encoded: masked
    ("open", "credentials refused (401 Unauthorized admin:open)", "credentials refused (401 Unauthorized admin:***)"),
    ("open", "HTTP 500 fault Receiver: opener", "HTTP 500 fault Receiver: ***er"),
    ("554", "CSeq mismatch (sent 3, got x554)", "CSeq mismatch (sent 3, got x***)"),
    ("554", "tcp 8554 open; H264 1920x554 digest auth", "tcp 8*** open; H264 1920x*** digest auth"),
    ("264", "H264 1920x1080 digest auth", "H*** 1920x1080 digest auth"),
    ("open", "redirect to unsupported URL http://h/open", "redirect to unsupported URL http://h/***"),
    ("open", "redirected to open@h:1 (another host, not followed)", "redirected to ***@h:1 (another host, not followed)"),
    ("open", "unexpected status 404 /cgi?password=open", "unexpected status 404 /cgi?password=***"),
    ("open", "pwd=open", "pwd=***"),
    ("open", "bad reply: %6FPEN %6fpen %6F%70%65%6E", "bad reply: *** *** ***"),  # ("%6FPEN" is "oPEN": any case)
    # a camera's words in another case: masked (a camera upper-casing an echo); ours kept
    ("open", "unexpected status 500 OPEN Open; tcp 554 open", "unexpected status 500 *** ***; tcp 554 open"),
    ("Open", "tcp 554 open; 404 OPEN", "tcp 554 open; 404 ***"),
    ("554", "bad reply: %3554 %35%35%34 554%34", "bad reply: %3*** *** ***%34"),
    ("tcp", "rtsp://admin:tcp@h/tcp", "rtsp://admin:***@h/***"),
    # a password of at most 4 characters in another case inside a camera's word is not the password
    ("live", "server LIVE555 Streaming Media v2021.11.01; tcp 554 open", "server LIVE555 Streaming Media v2021.11.01; tcp 554 open"),
    ("live", "server live555; redirect to unsupported URL http://h/LIVE", "server ***555; redirect to unsupported URL http://h/***"),
    ("Open", "HTTP 500 fault Receiver: OPENER opener OPEN", "HTTP 500 fault Receiver: OPENER opener ***"),
    ("p/w", 'bad reply {"pw":"p\\/w"} {"pw":"P\\/W"}', 'bad reply {"pw":"***"} {"pw":"***"}'),  # JSON "\/"
    ("open", "bad reply: Authorization: Basic YWRtaW46b3Blbg==", "bad reply: Authorization: Basic ***"),
])
def test_detail_mask_keeps_our_words_and_masks_the_rest(pw: str, detail: str, shown: str) -> None:
    assert detail_mask(pw)(detail) == shown


@pytest.mark.parametrize("pw", ["p@ss:w/rd!9", "Zx9#secret/pw@1", "a b", "密码", "o\"k"])
def test_detail_mask_masks_a_password_no_word_of_ours_can_hold_everywhere(pw: str) -> None:
    lower = re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quote(pw, safe=""))  # (the escapes in lower case)
    detail = f"tcp 554 open; x{pw}y {quote(pw, safe='')} {lower} {json.dumps(pw)[1:-1]} rtsp://u:{pw}@h/"
    shown = detail_mask(pw)(detail)
    assert shown.startswith("tcp 554 open; x***y *** *** ***"), shown
    assert pw not in shown and quote(pw, safe="") not in shown, shown
