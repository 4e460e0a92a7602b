"""A detail that holds the password is withheld whole, never masked where the password stood (the
place of a ``***`` in text the reader can guess spells the password out); a long clock offset in
days; a reply that started at once; a short channel secret not masked in every count of a message."""

from __future__ import annotations

import pytest

from collector.alerting.delivery.redact import Redactor
from probes.detail_words import detail_words, offset_words, safe_detail
from probes.redact import WITHHELD, shown_detail


@pytest.mark.parametrize(("text", "pw"), [
    ("H264 640x360 digest auth", "360"), ("H264 640x360 digest auth", "x"), ("H264 640x360 digest auth", "H264"),
    ("tcp 8554 open; ping 0.3 ms", "8554"),
    ("credentials refused (401 Unauthorized admin:Zx9-pass)", "Zx9-pass"),
    ("404 Not Found ADMIN:S3CRET-PW", "S3cret-pw"),  # upper-cased
    ('HTTP 400 fault {"pw":"Ab\\/cd9"}', "Ab/cd9"),  # JSON's \/ escape
    ("redirect to unsupported URL http://h/x?a=Zx9%2Dpass", "Zx9-pass"),  # percent-encoded
    ("404 Not Found ***", "anything"),  # a layer before masked one where it stood: withheld all the same
    ("H264-admin:*** basic auth", "S3cret-pw"),
])
def test_a_detail_holding_the_password_is_withheld_whole(text: str, pw: str) -> None:
    assert shown_detail(text, (pw,)) == WITHHELD
    assert safe_detail(text, (pw,)) == WITHHELD


@pytest.mark.parametrize(("text", "pw", "shown"), [
    ("tcp 8554 open", "open", "tcp 8554 open"),  # a word of ours: not looked at
    ("clock offset +0.2 s; Hikvision DS-2CD", "off", "clock offset +0.2 s; Hikvision DS-2CD"),
    ("no answer to DESCRIBE within 5 s", "answer", "no answer to DESCRIBE within 5 s"),
    ("LIVE555 Streaming Media", "live", "LIVE555 Streaming Media"),  # another case inside a word: the matcher's rule
    # where a credential stands the password is redacted whatever it is (no oracle: any password reads so)
    ("401 echo Authorization: Basic YWRtaW46c2VjcmV0MTIz", "pw", "401 echo Authorization: Basic ***"),
    ("redirected to rtsp://u:pw9@h/x?password=p (another host, not followed)", "zz",
     "redirected to rtsp://u:***@h/x?password=*** (another host, not followed)"),
])
def test_our_words_and_structural_masks_are_kept(text: str, pw: str, shown: str) -> None:
    assert safe_detail(text, (pw,)) == shown


def test_a_word_of_ours_where_a_credential_stands_is_not_ours() -> None:
    assert safe_detail("login rejected admin:open", ("open",)) == WITHHELD
    assert safe_detail("login rejected open@cam", ("open",)) == WITHHELD
    assert shown_detail("tcp 8554 open", ("open",)) == WITHHELD  # (without our words: withheld, never "tcp 8554 ***")


def test_the_withheld_phrase_reads_in_chinese() -> None:
    assert detail_words(WITHHELD, "zh") == "（摄像机应答中含其密码，详情不显示）"
    assert detail_words(WITHHELD, "en") == WITHHELD


@pytest.mark.parametrize(("offset", "zh", "en"), [
    ("+0.2", "+0.2 秒", "+0.2 s"), ("-59.9", "-59.9 秒", "-59.9 s"), ("+600", "+600 秒", "+600 s"),
    ("-34561234", "-400 天", "-400 days"), ("+86400", "+1 天", "+1 day"), ("+90061", "+1 天 1 小时", "+1 day 1 h"),
    ("+7260", "+2 小时 1 分钟", "+2 h 1 min"), ("-3600", "-1 小时", "-1 h"),
])
def test_a_long_clock_offset_reads_in_days_hours_minutes(offset: str, zh: str, en: str) -> None:
    assert offset_words(offset, "zh") == zh and offset_words(offset, "en") == en


def test_a_long_clock_offset_in_a_detail() -> None:
    assert detail_words("clock offset -34561234.000 s", "zh") == "时钟偏差 -400 天（-34561234.000 秒）"
    assert detail_words("clock offset +0.003 s", "zh") == "时钟偏差 +0.003 秒"


@pytest.mark.parametrize(("detail", "en", "zh"), [
    ("reply too slow: first reply after 0.0 s, not finished within 5 s",
     "reply too slow: started at once, not finished within 5 s", "应答过慢：立即开始应答，但 5 秒内未完成"),
    ("reply to DESCRIBE too slow: started 0.0 s after it was sent, not finished within 5 s",
     "reply to DESCRIBE too slow: started at once, not finished within 5 s", "DESCRIBE 请求应答过慢：发出后立即开始应答，但 5 秒内未完成"),
    ("reply too slow: first reply after 0.6 s, not finished within 5 s",
     "reply too slow: first reply after 0.6 s, not finished within 5 s", "应答过慢：0.6 秒后才开始应答，5 秒内未完成"),
])
def test_a_reply_that_started_at_once_says_so(detail: str, en: str, zh: str) -> None:
    assert detail_words(detail, "en") == en and detail_words(detail, "zh") == zh


def test_a_short_channel_secret_is_masked_where_it_stands_not_in_every_count() -> None:
    r = Redactor(["2"])
    r.add_url("mailto://alerts:2@smtp.example.cn")
    text = "城关镇 张村：2/8 台摄像机离线 2 小时 smtp://alerts:2@smtp.example.cn/?password=2"
    assert r(text) == "城关镇 张村：2/8 台摄像机离线 2 小时 smtp://alerts:***@smtp.example.cn/?password=***"
    assert r("token s3cr3t-token echoed") == "token s3cr3t-token echoed"
    r.add("s3cr3t-token")
    assert r("token s3cr3t-token echoed") == "token *** echoed"
