"""GB/T 28181 device IDs: 20 digits.

Layout (GB/T 28181-2016 Appendix D): 8 centre code (2 province, 2 city, 2 county, 2 base
unit) + 2 industry + 3 type + 1 network + 6 serial. Types 111-199 are front-end devices
(111 DVR, 112 video server, 113 encoder, 118 NVR, 131 camera, 132 IPC ...); 200-299 are
platform servers, 300-399 centre users, 400-499 terminal users.
"""

from __future__ import annotations

from dataclasses import dataclass

from inventory.messages import CodedError

PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)

TYPE_NAMES = {
    111: "DVR", 112: "视频服务器", 113: "编码器", 114: "解码器", 115: "视频切换矩阵",
    116: "音频切换矩阵", 117: "报警控制器", 118: "NVR", 119: "HVR", 131: "摄像机",
    132: "网络摄像机(IPC)", 133: "显示器", 134: "报警输入设备", 135: "报警输出设备",
    136: "语音输入设备", 137: "语音输出设备", 138: "移动传输设备",
}
# Types a camera row may carry: the camera itself, or the recorder/encoder whose channel it is.
VIDEO_TYPES = frozenset({111, 112, 113, 118, 119, 131, 132})
NETWORKS = {
    **{n: "监控报警专网" for n in range(5)},
    5: "公安信息网", 6: "政务网", 7: "Internet", 8: "社会资源接入网", 9: "预留",
}


class GbIdError(CodedError):
    """A malformed GB/T 28181 ID."""


@dataclass(frozen=True, slots=True)
class GbId:
    value: str

    @property
    def centre(self) -> str:
        return self.value[:8]

    @property
    def county_prefix(self) -> str:
        """Province + city + county: the first 6 digits, comparable with a region code."""
        return self.value[:6]

    @property
    def industry(self) -> str:
        return self.value[8:10]

    @property
    def type_code(self) -> int:
        return int(self.value[10:13])

    @property
    def network(self) -> int:
        return int(self.value[13])

    @property
    def serial(self) -> str:
        return self.value[14:]

    @property
    def type_name(self) -> str | None:
        return TYPE_NAMES.get(self.type_code)

    @property
    def is_video_device(self) -> bool:
        return self.type_code in VIDEO_TYPES


def parse_gb_id(raw: str) -> GbId:
    """Parse and validate a GB/T 28181 ID; raise :class:`GbIdError` when malformed."""
    text = raw.strip()
    if not text.isascii() or not text.isdigit():
        raise GbIdError("gb_not_digits", value=raw)
    if len(text) != 20:
        raise GbIdError("gb_length", value=raw, length=len(text))
    province = int(text[:2])
    if province not in PROVINCES:
        raise GbIdError("gb_province", value=raw, province=text[:2])
    type_code = int(text[10:13])
    if not 111 <= type_code <= 199:
        raise GbIdError("gb_type", value=raw, type_code=text[10:13])
    return GbId(text)


def gb_warnings(gb: GbId, county_prefix: str | None) -> list[tuple[str, dict[str, object]]]:
    """Soft problems: a centre code outside the camera's county, a non-video device type."""
    out: list[tuple[str, dict[str, object]]] = []
    if county_prefix is not None and gb.county_prefix != county_prefix:
        out.append(("gb_county_mismatch", {"value": gb.value, "gb_county": gb.county_prefix, "county": county_prefix}))
    if not gb.is_video_device:
        out.append(("gb_not_video", {"value": gb.value, "type_code": f"{gb.type_code:03d}", "type_name": gb.type_name or "?"}))
    return out
