"""The one redaction of credentials: passwords in URLs (any length), secret query parameters, known secrets."""

from __future__ import annotations

import pytest

from probes.base import ProbeTarget
from probes.redact import camera_text, masked_secret, redact_secrets, redact_url


@pytest.mark.parametrize(("text", "want"), [
    ("rtsp://admin:hunter2@10.0.0.1:554/x", "rtsp://admin:***@10.0.0.1:554/x"),
    ("rtsp://admin:a@10.0.0.1/x", "rtsp://admin:***@10.0.0.1/x"),  # 1-character password
    ("rtsp://admin:abc@10.0.0.1/x", "rtsp://admin:***@10.0.0.1/x"),  # 3-character password
    ("rtsp://:s3cret@cam.local/x", "rtsp://:***@cam.local/x"),  # password without a user
    ("rtsp://admin:p@ss:w0rd@cam.local/x", "rtsp://admin:***@cam.local/x"),  # ":" and "@" in the password
    ("rtsp://admin:pw@[fe80::1%25eth0]:554/ch1", "rtsp://admin:***@[fe80::1%25eth0]:554/ch1"),  # IPv6 host
    ("rtsp://admin:pw@[::1]/x", "rtsp://admin:***@[::1]/x"),
    ("rtsp://[::1]:554/x", "rtsp://[::1]:554/x"),  # IPv6, no credentials
    ("rtsp://user@host/x", "rtsp://user@host/x"),  # a user, no password: nothing secret
    ("rtsp://host/x", "rtsp://host/x"),
    ("no url here: a:b@c", "no url here: a:b@c"),
    ("two: rtsp://a:x@h1/p and http://b:yy@h2:80/q", "two: rtsp://a:***@h1/p and http://b:***@h2:80/q"),
    ('["rtsp://u:p@h","rtsp://x:y@z/"]', '["rtsp://u:***@h","rtsp://x:***@z/"]'),  # JSON, no blanks
    ("http://cam/cgi?user=admin&pwd=s3&ch=1", "http://cam/cgi?user=admin&pwd=***&ch=1"),
    ('"rtsp://cam/live?Password=x"', '"rtsp://cam/live?Password=***"'),
    ("https://oapi.example/robot/send?access_token=abc123", "https://oapi.example/robot/send?access_token=***"),
    ("https://hook.example/send?key=k3y#top", "https://hook.example/send?key=***#top"),
    # a signed robot URL (DingTalk): its signature is as good as the secret for the next hour
    ("https://oapi.example/robot/send?access_token=a1&timestamp=17&sign=s1gn%3D",
     "https://oapi.example/robot/send?access_token=***&timestamp=17&sign=***"),
    ("http://cam/x?signal=1&signs=2", "http://cam/x?signal=1&signs=2"),
    ("http://cam/x?keyframe=1&passes=2", "http://cam/x?keyframe=1&passes=2"),  # names that only start alike
    # a password in a camera's path: XiongMai with "&", and with "_" (the value then runs to the end:
    # a password may hold a "_"), a path that starts with it
    ("rtsp://10.0.0.1:554/user=admin&password=xm1&channel=1&stream=0.sdp",
     "rtsp://10.0.0.1:554/user=admin&password=***&channel=1&stream=0.sdp"),
    ("rtsp://10.0.0.1/user=admin_password=a_b7_channel=1_stream=0.sdp?real_stream", "rtsp://10.0.0.1/user=admin_password=***"),
    ("10.0.0.1:554/password=xm1&channel=1", "10.0.0.1:554/password=***&channel=1"),
    ("/h264/ch1/main/av_stream", "/h264/ch1/main/av_stream"),
])
def test_redact_url(text: str, want: str) -> None:
    assert redact_url(text) == want


@pytest.mark.parametrize(("text", "secrets", "want"), [
    ("401 for hunter2 at rtsp://admin:hunter2@h/x", ("hunter2",), "401 for *** at rtsp://admin:***@h/x"),
    ("echo p@ss and p%40ss", ("p@ss",), "echo *** and ***"),  # percent-encoded form too
    ("pw is 7", ("7",), "pw is ***"),  # a 1-character password is masked too
    ("pw is abc", ("abc",), "pw is ***"),  # and a 3-character one
    ("tok-long and tok", ("tok", "tok-long"), "*** and ***"),  # longest first
    ("nothing secret", (None, ""), "nothing secret"),
    # percent-encoded in lower case, or characters quote() keeps as they are encoded all the same
    ("echo Zx9%2dsecret, Zx9%2Dsecret, %5a%78%39-secret", ("Zx9-secret",), "echo ***, ***, ***"),
    ("pass %E5%AF%86%e7%a0%81 密码", ("密码",), "pass *** ***"),
    # in any case: a camera that upper-cases what it echoes (an SDP encoding name, a reason phrase)
    # once got "H264-ADMIN:S3CRET-PW" past the mask
    ("Secret and secret and SECRET", ("Secret",), "*** and *** and ***"),
    ("H264-ADMIN:S3CRET-PW/90000", ("S3cret-pw",), "H264-ADMIN:***/90000"),
    ("x S3CRET%2DPW s3cret%2dpw", ("S3cret-pw",), "x *** ***"),  # percent-encoded, upper-cased
    ("Basic YWRTAW46UZNJCMV0LXB3", ("YWRtaW46UzNjcmV0LXB3",), "Basic ***"),  # the Basic token upper-cased
    ("STRASSE, strasse", ("straße",), "***, ***"),  # a letter whose upper case is two
    ("%E5%AF%86%C3%89 密É 密é", ("密é",), "*** *** ***"),  # upper-cased beyond ASCII, and percent-encoded so
    # JSON-escaped (a camera echoing a login in a JSON body): quotes and backslashes, \uXXXX
    ('{"pw":"Zx\\"9\\\\secret"}', ('Zx"9\\secret',), '{"pw":"***"}'),
    ('{"pw":"\\u5bc6\\u7801"}', ("密码",), '{"pw":"***"}'),
    # "/" escaped as "\/" (many camera JSON encoders), in any case, and with other escapes
    ('{"pw":"Ab\\/cd9"}', ("Ab/cd9",), '{"pw":"***"}'),
    ('{"PW":"AB\\/CD9"}', ("Ab/cd9",), '{"PW":"***"}'),
    ('{"pw":"a\\/\\"\\u5bc6"}', ('a/"密',), '{"pw":"***"}'),
    # a password of at most 4 characters: in its own case everywhere, in another case only as a whole word
    ("LIVE555 Streaming Media/2021.11.01", ("live",), "LIVE555 Streaming Media/2021.11.01"),
    ("live555, LIVE, Live; rtsp://h/LIVE/ch1", ("live",), "***555, ***, ***; rtsp://h/***/ch1"),
    ("xLiVe LiVeX 2LIVE", ("live",), "xLiVe LiVeX 2LIVE"),
    ("%4CIVE555 %4cive", ("live",), "%4CIVE555 ***"),  # percent-encoded, another case: the same rule
    ("Ab1X ab1x AB1 Ab1", ("Ab1",), "***X ab1x *** ***"),  # ("Ab1X": its own case, masked)
    ("Stream1x STREAM1x", ("stream",), "***1x ***1x"),  # (5 characters and more: in any case, everywhere)
    # an Authorization value a camera echoes: the Basic token, the Digest response, whoever's they are
    ("401 echo Authorization: Basic YWRtaW46c2VjcmV0MTIz", (), "401 echo Authorization: Basic ***"),
    ("basic YWRtaW46UHc5, Basic YWRtaW46cGFzcw==", ("Pw9",), "basic ***, Basic ***"),
    ('Authorization: Digest username="admin", realm="IP Camera", nonce="4d2f", uri="rtsp://h/ch1", '
     'response="6629fae49393a05397450978507c4ef1", Digest response=0a1b2c',
     ('x',), 'Authorization: Digest username="admin", realm="IP Camera", nonce="4d2f", uri="rtsp://h/ch1", '
     'response="***", Digest response=***'),
    ("H264 1920x1080 basic auth; Basic authentication; Basic Realm", (), "H264 1920x1080 basic auth; Basic authentication; Basic Realm"),
])
def test_redact_secrets(text: str, secrets: tuple[str | None, ...], want: str) -> None:
    assert redact_secrets(text, secrets) == want


@pytest.mark.parametrize(("text", "masked"), [
    ("/user=admin&password=***&channel=1", True),
    ("/user=admin_password=***", True),
    ("/user=admin_password=***_channel=2", True),  # edited after the mask: still no password to keep
    ("/cam?user=admin&pwd=***", True),
    ("/user=admin&password=a***b&channel=1", True),
    ("/user=admin&password=xm1&channel=1", False),
    ("/name=***&channel=1", False),  # a mask, but not in a secret's value
    ("/Streaming/Channels/101", False),
])
def test_masked_secret(text: str, masked: bool) -> None:
    assert masked_secret(text) is masked


def test_what_redact_url_masks_is_masked() -> None:
    for path in ("/user=admin&password=xm1&channel=1", "/user=admin_password=a_b", "/live?token=t0k"):
        assert masked_secret(redact_url(path)), path


def test_a_probe_targets_repr_shows_no_password_not_even_one_in_its_path() -> None:
    target = ProbeTarget("10.0.0.1", 554, "/user=admin&password=Path-Pw-1&channel=1", 80, "admin", "Cred-Pw-2", 7)
    text = repr(target)
    assert "Path-Pw-1" not in text and "Cred-Pw-2" not in text
    assert "rtsp_path='/user=admin&password=***&channel=1'" in text and "camera_id=7" in text
    assert "Path-Pw-1" in target.rtsp_url(redact=False) and "Path-Pw-1" not in target.rtsp_url()


def test_a_url_with_nothing_to_mask_allocates_nothing() -> None:
    """Every RTSP probe shows its URL through redact_url: one with nothing to mask is returned as it
    is, with no object made on the way (a probe worker's per-probe temporaries, made by the
    thousand while its cameras' long-lived state is allocated, fragmented its heap: ~0.5 KB a
    camera at 20k cameras, bench/memory_census.py)."""
    import tracemalloc

    from probes.redact import redact_url

    plain = "rtsp://10.0.0.1:554/Streaming/Channels/101"
    assert redact_url(plain) is plain
    redact_url(plain)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(100):
            redact_url(plain)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak - base < 400, peak - base  # (the loop itself: ~0.1 KB; two closures a call were ~1.4 KB)
    assert redact_url("rtsp://admin:pw@h/x?password=1") == "rtsp://admin:***@h/x?password=***"


@pytest.mark.parametrize(("text", "secret"), [
    ('400 {"pw":"Zx\\"9\\\\secret"}', 'Zx"9\\secret'),  # JSON-escaped, short: not the quick path
    ("400 bad Zx9%2dsecret", "Zx9-secret"),
    ("401 Basic YWRtaW46c2VjcmV0MTIz", "secret123"),  # (the Basic token of admin:secret123, no "=" in it)
])
def test_camera_text_masks_every_form(text: str, secret: str) -> None:
    shown = camera_text(text, (secret,))
    assert "***" in shown and "secret" not in shown and "YWRtaW46" not in shown, shown
