"""Picture size from H.264 and H.265 sequence parameter sets (``sprop-*`` in SDP).

Only the fields up to the picture size are decoded. Any malformed input returns
``None``; these functions never raise.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import lru_cache


class _Bits:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data) * 8

    def u(self, n: int) -> int:
        if self.pos + n > self.end:
            raise IndexError("SPS truncated")
        v = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]
            v = (v << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def skip(self, n: int) -> None:
        if self.pos + n > self.end:
            raise IndexError("SPS truncated")
        self.pos += n

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        return (1 << zeros) - 1 + (self.u(zeros) if zeros else 0)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def _unescape(nal: bytes) -> bytes:
    """Remove emulation-prevention bytes (00 00 03 -> 00 00)."""
    if b"\x00\x00\x03" not in nal:
        return nal
    out = bytearray()
    zeros = 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _b64(text: str) -> bytes | None:
    text = text.strip()
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


def _skip_scaling_list(r: _Bits, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt != 0:
            nxt = (last + r.se() + 256) % 256
        last = nxt if nxt != 0 else last


Size = tuple[int, int]
MAX_SPS_B64 = 512  # characters of one base64 parameter set read (the parse is bit by bit)


def _size_from(sets: str, is_sps: Callable[[bytes], bool], header: int, parse: Callable[[bytes], Size | None]) -> Size | None:
    """(width, height) from the first SPS NAL unit (*is_sps*, a *header* bytes long NAL header)
    among the comma-separated base64 parameter *sets*, or None when there is none or it is bad."""
    for part in sets.split(",", 8)[:8]:
        if len(part) > MAX_SPS_B64:  # a real SPS is well under 100 bytes; a huge one is hostile
            continue
        nal = _b64(part)
        if not nal or not is_sps(nal):
            continue
        try:
            return parse(_unescape(nal[header:]))
        except (IndexError, ValueError):
            return None
    return None


def _is_h264_sps(nal: bytes) -> bool:
    return (nal[0] & 0x1F) == 7


def _is_h265_sps(nal: bytes) -> bool:
    return len(nal) >= 3 and ((nal[0] >> 1) & 0x3F) == 33


@lru_cache(maxsize=512)
def h264_size(sprop_parameter_sets: str) -> Size | None:
    """(width, height) from an H.264 ``sprop-parameter-sets`` value, or None."""
    return _size_from(sprop_parameter_sets, _is_h264_sps, 1, _h264_sps)


def _h264_sps(data: bytes) -> tuple[int, int] | None:
    r = _Bits(data)
    profile_idc = r.u(8)
    r.skip(16)  # constraint flags, level_idc
    r.ue()  # seq_parameter_set_id
    chroma_format_idc = 1
    separate_colour_plane = 0
    if profile_idc in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        chroma_format_idc = r.ue()
        if chroma_format_idc == 3:
            separate_colour_plane = r.u(1)
        r.ue()  # bit_depth_luma_minus8
        r.ue()  # bit_depth_chroma_minus8
        r.skip(1)  # qpprime_y_zero_transform_bypass_flag
        if r.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format_idc != 3 else 12):
                if r.u(1):
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.skip(1)
        r.se()
        r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue()  # max_num_ref_frames
    r.skip(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = r.ue() + 1
    height_map_units = r.ue() + 1
    frame_mbs_only = r.u(1)
    if not frame_mbs_only:
        r.skip(1)  # mb_adaptive_frame_field_flag
    r.skip(1)  # direct_8x8_inference_flag
    width = width_mbs * 16
    height = (2 - frame_mbs_only) * height_map_units * 16
    if r.u(1):  # frame_cropping_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        array_type = 0 if separate_colour_plane else chroma_format_idc
        if array_type == 0:
            cx, cy = 1, 2 - frame_mbs_only
        else:
            sub_w = 1 if array_type == 3 else 2
            sub_h = 2 if array_type == 1 else 1
            cx, cy = sub_w, sub_h * (2 - frame_mbs_only)
        width -= cx * (left + right)
        height -= cy * (top + bottom)
    if width <= 0 or height <= 0:
        return None
    return width, height


@lru_cache(maxsize=512)
def h265_size(sprop_sps: str) -> Size | None:
    """(width, height) from an H.265 ``sprop-sps`` value, or None."""
    return _size_from(sprop_sps, _is_h265_sps, 2, _h265_sps)


def _h265_sps(data: bytes) -> tuple[int, int] | None:
    r = _Bits(data)
    r.skip(4)  # sps_video_parameter_set_id
    max_sub_layers_minus1 = r.u(3)
    r.skip(1)  # temporal_id_nesting
    # profile_tier_level(1, max_sub_layers_minus1)
    r.skip(2 + 1 + 5 + 32 + 48 + 8)
    profile_present = []
    level_present = []
    for _ in range(max_sub_layers_minus1):
        profile_present.append(r.u(1))
        level_present.append(r.u(1))
    if max_sub_layers_minus1 > 0:
        r.skip(2 * (8 - max_sub_layers_minus1))
    for i in range(max_sub_layers_minus1):
        if profile_present[i]:
            r.skip(88)
        if level_present[i]:
            r.skip(8)
    r.ue()  # sps_seq_parameter_set_id
    chroma_format_idc = r.ue()
    separate_colour_plane = 0
    if chroma_format_idc == 3:
        separate_colour_plane = r.u(1)
    width = r.ue()
    height = r.ue()
    if r.u(1):  # conformance_window_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        array_type = 0 if separate_colour_plane else chroma_format_idc
        sub_w = 2 if array_type in (1, 2) else 1
        sub_h = 2 if array_type == 1 else 1
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    if width <= 0 or height <= 0:
        return None
    return width, height
