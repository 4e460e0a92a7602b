"""A synthetic county inventory, deterministic, for the sample file, the demo and benchmarks.

Camera *i* gets the loopback address the fleet simulator gives camera *i* from
``SyntheticSpec.camera_base`` (127.20.0.1 upwards by default, skipping .0 and .255), so a
generated file can be monitored against a simulated fleet started at that base; the upstream
routers count up from ``router_base``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from inventory.columns import header_label

TOWNSHIP_NAMES = ("城关镇", "东风镇", "新华乡", "红旗镇", "太平乡", "永安镇", "和平乡", "长青镇", "丰收乡", "建设镇",
                  "光明乡", "胜利镇", "团结乡", "前进镇", "向阳乡", "幸福镇", "兴隆乡", "富民镇", "安乐乡", "清河镇")
VILLAGE_WORDS = ("东", "西", "南", "北", "前", "后", "上", "下", "大", "小", "新", "老", "王", "李", "张", "刘", "陈", "杨", "赵", "黄")
VILLAGE_SUFFIX = ("庄", "村", "营", "屯", "店", "桥", "河", "沟", "湾", "坡")
POINT_NAMES = ("村口", "十字路口", "村委会", "学校门口", "池塘", "广场", "桥头", "卫生室", "主干道", "后山路口")
POINT_KINDS = ("出入口", "路口", "公共场所", "学校", "水域", "公共场所", "桥梁", "公共场所", "道路", "路口")
VENDORS = (("海康威视", "DS-2CD3T46WDV3-I3"), ("大华", "DH-IPC-HFW2433M"), ("宇视", "IPC2124LB-SF40"), ("天地伟业", "TC-C34WP"))
KEYS = ("county_code", "county", "township_code", "township", "village_code", "village", "point", "point_kind",
        "planned", "lon", "lat", "name", "gb_id", "host", "rtsp_port", "rtsp_path", "onvif_port", "username",
        "password", "vendor", "model", "contractor", "lifecycle", "parent", "installed_on")


def sim_address(i: int, base: tuple[int, int, int, int] | str = (127, 20, 0, 1)) -> str:
    """The simulator's address of camera *i*: consecutive, skipping last octets 0 and 255."""
    if isinstance(base, str):
        a, b, c, d = (int(x) for x in base.split("."))
        base = (a, b, c, d)
    start = (base[1] << 16) | (base[2] << 8) | base[3]
    # Count only usable last octets (1..254).
    first_block, first_off = divmod(start, 256)
    idx = (first_off - 1) + i
    block = first_block + idx // 254
    last = idx % 254 + 1
    return f"{base[0]}.{(block >> 8) & 255}.{block & 255}.{last}"


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    cameras: int = 60
    county_code: str = "130123"
    county_name: str = "示范县"
    villages_per_township: int = 12
    points_per_village: int = 6
    unbuilt_every: int = 9  # every n-th point is planned but has no camera yet
    rtsp_port: int = 8554

    def __post_init__(self) -> None:
        townships = -(-self.cameras // max(1, self.villages_per_township * self.points_per_village))
        if townships > 899:
            raise ValueError(f"{self.cameras} cameras need {townships} townships; raise villages_per_township or points_per_village")
    onvif_port: int = 8000
    password: str = "admin123"
    seed: int = 7
    camera_base: str = "127.20.0.1"  # camera 0's address (a fleet's base_address)
    router_base: str = "127.21.0.1"  # the upstream routers count up from here


def rows(spec: SyntheticSpec, lang: str = "zh") -> tuple[list[str], Iterator[list[str]]]:
    headers = [header_label(k, lang) for k in KEYS]

    def gen() -> Iterator[list[str]]:
        rnd = random.Random(spec.seed)
        cam = 0
        point_no = 0
        t = 0
        while cam < spec.cameras:
            t += 1
            t_code = f"{spec.county_code}{100 + t:03d}"
            t_name = TOWNSHIP_NAMES[(t - 1) % len(TOWNSHIP_NAMES)] + ("" if t <= len(TOWNSHIP_NAMES) else str(t))
            for v in range(1, spec.villages_per_township + 1):
                if cam >= spec.cameras:
                    break
                v_code = f"{t_code}{200 + v:03d}"
                v_name = VILLAGE_WORDS[(t * 7 + v) % len(VILLAGE_WORDS)] + VILLAGE_WORDS[(v * 3 + t) % len(VILLAGE_WORDS)] + VILLAGE_SUFFIX[v % len(VILLAGE_SUFFIX)] + f"{v}"
                lon0 = 114.2 + (t % 40) * 0.05 + rnd.random() * 0.02
                lat0 = 38.1 + v * 0.01 + rnd.random() * 0.02
                n_village = (t - 1) * spec.villages_per_township + v
                router = f"{v_name}-4G路由器@{sim_address(n_village, spec.router_base)}"
                for pn in range(spec.points_per_village):
                    if cam >= spec.cameras:
                        break
                    point_no += 1
                    p_name = POINT_NAMES[pn % len(POINT_NAMES)] + ("" if pn < len(POINT_NAMES) else str(pn))
                    base = [f"{spec.county_code}000000", spec.county_name, f"{t_code}000", t_name, v_code, v_name,
                            p_name, POINT_KINDS[pn % len(POINT_KINDS)], "是", f"{lon0 + pn * 0.001:.6f}", f"{lat0 + pn * 0.001:.6f}"]
                    if spec.unbuilt_every and point_no % spec.unbuilt_every == 0:
                        yield base + [""] * (len(KEYS) - len(base))
                        continue
                    vendor, model = VENDORS[cam % len(VENDORS)]
                    gb = f"{spec.county_code}00" + "00" + "132" + "0" + f"{cam + 1:06d}"
                    yield base + [
                        f"{v_name}{p_name}", gb, sim_address(cam, spec.camera_base), str(spec.rtsp_port),
                        "/Streaming/Channels/101", str(spec.onvif_port), "admin", spec.password,
                        vendor, model, "示范县运维公司", "在用", router,
                        f"20{20 + cam % 5}-0{1 + cam % 9}-1{cam % 10}",
                    ]
                    cam += 1

    return headers, gen()
