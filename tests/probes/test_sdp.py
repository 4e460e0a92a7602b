"""SDP reader and SPS picture-size table tests (SPS values made by ffmpeg with libx264/libx265)."""

from __future__ import annotations

import pytest

from probes.rtsp_sps import h264_size, h265_size
from probes.sdp import SdpInfo, parse_sdp

HEAD = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=Media Presentation\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"

# (sprop-parameter-sets SPS, size): from `ffmpeg -f lavfi -i testsrc=size=WxH -c:v libx264 -profile:v P`
H264_SPS = [
    ("Z01AH+ygKALdgIgAAAMACAAAAwAQeMGMsA==", (1280, 720)),  # main
    ("Z2QAKKzZQHgCJ+XARAAAAwAEAAADAAg8YMZY", (1920, 1080)),  # high, cropped 1088 -> 1080
    ("Z0LADNkBYJbARAAAAwAEAAADAAg8UKkg", (352, 288)),  # constrained baseline
    ("Z/QAFpGbKBQF/xOAiAAAAwAIAAADABB4sWyw", (640, 360)),  # high 4:4:4, cropped
    ("Z/QAHpGbKBaEmwEQAAADABAAAAMDIfFCmWA=", (720, 576)),  # interlaced (field coding)
    ("Z01AKNwHgCJ+XARAAAADAEAAAAyDxgzg", (1920, 1080)),  # the fleet simulator's SPS
]
H265_SPS = [
    ("QgEBBAgAAAMAnggAAAMAAF2QAFAQBaLLKzSSZXgLcCAgAEAAAAMAQAAAAwBC", (1280, 720)),
    ("QgEBBAgAAAMAnggAAAMAAHiQAHgQAhyyys0kmV4C3AgIABAAAAMAEAAAAwAQgA==", (1920, 1080)),
    ("QgEBAiAAAAMAkAAAAwAAAwCWoAFAIAWhNllZpJMrwFoCAAADAAIAAAMAMhA=", (2560, 1440)),  # Main 10
]


@pytest.mark.parametrize(("sps", "size"), H264_SPS)
def test_h264_sps_size(sps: str, size: tuple[int, int]) -> None:
    assert h264_size(sps + ",aOvjyyLA") == size
    assert h264_size("aOvjyyLA," + sps) == size  # PPS first


@pytest.mark.parametrize(("sps", "size"), H265_SPS)
def test_h265_sps_size(sps: str, size: tuple[int, int]) -> None:
    assert h265_size(sps) == size


@pytest.mark.parametrize("bad", ["", "!!!", "Z2QA", "aOvjyyLA", "Z2QAKKzZ", "QgEB", "////"])
def test_bad_sps_is_none(bad: str) -> None:
    assert h264_size(bad) is None
    assert h265_size(bad) is None


def video(rtpmap: str, pt: str = "96", extra: str = "") -> str:
    return HEAD + f"m=video 0 RTP/AVP {pt}\r\n" + (f"a=rtpmap:{pt} {rtpmap}\r\n" if rtpmap else "") + extra


SDP_TABLE: list[tuple[str, str, SdpInfo]] = [
    (
        "hikvision-like h264 with sprop",
        video("H264/90000", extra="a=fmtp:96 profile-level-id=420029; packetization-mode=1; "
              "sprop-parameter-sets=Z01AH+ygKALdgIgAAAMACAAAAwAQeMGMsA==,aO48gA==\r\na=control:trackID=1\r\n")
        + "m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n",
        SdpInfo(True, "H264", 1280, 720, "trackID=1"),
    ),
    (
        "framesize wins over sprop",
        video("H264/90000", extra="a=framesize:96 704-576\r\na=fmtp:96 sprop-parameter-sets=Z01AH+ygKALdgIgAAAMACAAAAwAQeMGMsA==\r\n"),
        SdpInfo(True, "H264", 704, 576),
    ),
    ("x-dimensions", video("H265/90000", extra="a=x-dimensions:2560,1440\r\n"), SdpInfo(True, "H265", 2560, 1440)),
    ("cliprect is top,left,bottom,right", video("H264/90000", extra="a=cliprect:0,0,480,640\r\n"), SdpInfo(True, "H264", 640, 480)),
    (
        "h265 sprop-sps",
        video("H265/90000", extra="a=fmtp:96 sprop-vps=QAEMAf//;sprop-sps=QgEBBAgAAAMAnggAAAMAAHiQAHgQAhyyys0kmV4C3AgIABAAAAMAEAAAAwAQgA==;sprop-pps=RAHA\r\n"),
        SdpInfo(True, "H265", 1920, 1080),
    ),
    ("HEVC spelling", video("HEVC/90000"), SdpInfo(True, "H265")),
    ("static MJPEG payload 26, no rtpmap", video("", pt="26"), SdpInfo(True, "MJPEG")),
    ("JPEG rtpmap", video("JPEG/90000", pt="26"), SdpInfo(True, "MJPEG")),
    ("lower-case encoding name", video("h264/90000"), SdpInfo(True, "H264")),
    ("unknown codec kept by name", video("XVID/90000"), SdpInfo(True, "XVID")),
    ("audio only", HEAD + "m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", SdpInfo(False)),
    ("empty", "", SdpInfo(False)),
    ("garbage", "\x00\xff not sdp at all\n===\n", SdpInfo(False)),
    ("bare LF line ends", video("H264/90000").replace("\r\n", "\n"), SdpInfo(True, "H264")),
    ("rtpmap of another payload ignored", video("H264/90000", pt="97").replace("a=rtpmap:97", "a=rtpmap:96"), SdpInfo(True, None)),
    ("absurd framesize ignored", video("H264/90000", extra="a=framesize:96 0-99999999\r\n"), SdpInfo(True, "H264")),
    (
        "second video track ignored",
        video("H264/90000") + "m=video 0 RTP/AVP 97\r\na=rtpmap:97 H265/90000\r\na=x-dimensions:1,1\r\n",
        SdpInfo(True, "H264"),
    ),
]


@pytest.mark.parametrize(("name", "text", "want"), SDP_TABLE, ids=[t[0] for t in SDP_TABLE])
def test_parse_sdp(name: str, text: str, want: SdpInfo) -> None:
    assert parse_sdp(text) == want
