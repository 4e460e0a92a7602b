"""A small SDP (RFC 4566) reader for what a probe needs: is there a video track,
its codec, and its picture size when the camera states it.

Picture size comes from, in order: ``a=framesize:<pt> W-H``, ``a=x-dimensions:W,H``,
``a=cliprect:0,0,H,W``, then the SPS in ``sprop-parameter-sets`` (H.264) or
``sprop-sps`` (H.265). No regexes; never raises on malformed input. Bounded: at most
:data:`MAX_SDP_BYTES` characters and :data:`MAX_SDP_LINES` lines are read (a real
description is a few hundred bytes; the rtsp prober refuses a larger body outright).
"""

from __future__ import annotations

from dataclasses import dataclass

from probes.rtsp_sps import h264_size, h265_size

MAX_SDP_BYTES = 32768
MAX_SDP_LINES = 512

# rtpmap encoding name (upper-cased to look it up) -> our codec name
_CODECS = {
    "H264": "H264",
    "H265": "H265",
    "HEVC": "H265",
    "JPEG": "MJPEG",
    "MJPEG": "MJPEG",
    "MP4V-ES": "MPEG4",
    "MPV": "MPEG2",
    "VP8": "VP8",
    "VP9": "VP9",
    "AV1": "AV1",
}
# static RTP payload types of RFC 3551 for video
_STATIC = {"26": "MJPEG", "31": "H261", "32": "MPEG2", "34": "H263"}


@dataclass(frozen=True, slots=True)
class SdpInfo:
    has_video: bool
    codec: str | None = None  # "H264" | "H265" | "MJPEG" | another encoding name | None
    width: int | None = None
    height: int | None = None
    control: str | None = None  # a=control of the video track, if any


def _dims(text: str, sep: str) -> tuple[int, int] | None:
    a, _, b = text.strip().partition(sep)
    if not a.strip().isdigit() or not b.strip().isdigit():
        return None
    w, h = int(a), int(b)
    if 0 < w <= 65535 and 0 < h <= 65535:
        return w, h
    return None


def parse_sdp(text: str) -> SdpInfo:
    """Read the first video track of an SDP description."""
    in_video = False
    seen_video = False
    pt = ""
    rtpmap: str | None = None
    fmtp = ""
    size: tuple[int, int] | None = None
    control: str | None = None
    for raw in text[:MAX_SDP_BYTES].splitlines()[:MAX_SDP_LINES]:
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind = line[0]
        if kind == "m":
            if seen_video:
                break  # only the first video track counts
            fields = line[2:].split()
            in_video = bool(fields) and fields[0].lower() == "video"
            if in_video:
                seen_video = True
                pt = fields[3] if len(fields) > 3 else ""
            continue
        if not in_video or kind != "a":
            continue
        attr, _, value = line[2:].partition(":")
        attr = attr.lower()
        if attr == "rtpmap":
            p, _, enc = value.partition(" ")
            if p.strip() == pt:
                rtpmap = enc.strip().partition("/")[0]  # (as the camera spelled it: it may echo a password)
        elif attr == "fmtp":
            p, _, params = value.partition(" ")
            if p.strip() == pt:
                fmtp = params
        elif attr == "framesize":
            p, _, dims = value.strip().partition(" ")
            if p.strip() == pt and size is None:
                size = _dims(dims, "-")
        elif attr == "x-dimensions" and size is None:
            size = _dims(value, ",")
        elif attr == "cliprect" and size is None:
            parts = value.split(",")
            if len(parts) == 4:
                hw = _dims(f"{parts[3]},{parts[2]}", ",")
                size = hw
        elif attr == "control" and control is None:
            control = value.strip()
    if not seen_video:
        return SdpInfo(has_video=False)
    codec: str | None
    if rtpmap is not None:
        # (an unknown name as the camera sent it, its case unchanged: the prober masks and cuts it,
        # probes.redact.camera_text, and a mask cannot find a password in a text changed after it)
        codec = _CODECS.get(rtpmap.upper(), rtpmap or None)
    else:
        codec = _STATIC.get(pt)
    if size is None and fmtp:
        if codec == "H264":
            sets = _fmtp_param(fmtp, "sprop-parameter-sets")
            if sets:
                size = h264_size(sets)
        elif codec == "H265":
            sps = _fmtp_param(fmtp, "sprop-sps")
            if sps:
                size = h265_size(sps)
    width, height = size if size is not None else (None, None)
    return SdpInfo(has_video=True, codec=codec, width=width, height=height, control=control)


def is_sdp(text: str) -> bool:
    """Whether *text* is a session description at all: it has a ``v=`` (protocol version) or an
    ``m=`` (media) line. An empty body or an HTML page is not; an audio-only description is (it is
    :func:`parse_sdp` that finds no video track in it)."""
    return any(raw.strip()[:2] in ("v=", "m=") for raw in text[:MAX_SDP_BYTES].splitlines()[:MAX_SDP_LINES])


def _fmtp_param(fmtp: str, name: str) -> str | None:
    for item in fmtp.split(";"):
        key, _, value = item.partition("=")
        if key.strip().lower() == name:
            return value.strip()
    return None
