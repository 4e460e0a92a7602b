"""Remakes :mod:`probes.sim.h264_data`, the simulator's pre-encoded pictures, with the machine's ffmpeg.

Run ``python -m probes.sim.h264_make`` (needs ``/usr/bin/ffmpeg`` with libx264; the result was made
with Debian 12's FFmpeg 5.1 and x264 164). Each picture is one ffmpeg run, a lavfi source drawn and
encoded as one IDR frame::

    /usr/bin/ffmpeg -v error -f lavfi -i "<SOURCE>,format=yuv420p" -frames:v 1 -c:v libx264 \\
        -profile:v main -qp 32 -x264-params slice-max-mbs=40:keyint=1 \\
        -bsf:v filter_units=remove_types=6 -f h264 -

where ``<SOURCE>`` is, for the pictures:

* ``scene`` (the default, :data:`SCENE_FRAMES` of them): :data:`SCENE` (``color`` + ``geq``: a sky
  over green hills, a field, a grey road with a dashed line; ``drawbox``: two houses with windows
  and doors, a camera pole) followed by :data:`CAR` at x = 25, 125, ... 525 (a red car on the road);
* ``bars``: ``smptehdbars=s=640x360`` (SMPTE HD colour bars: an encoder without input);
* ``black``: ``color=c=black:s=640x360`` (a capped lens, a dead sensor).

The full command of every picture is written into the docstring of :mod:`probes.sim.h264_data`.
``slice-max-mbs=40`` makes one slice per row of macroblocks (640 px / 16); an intra slice depends on
its own rows only, so the scene's rows the car never crosses encode to the same bytes in every frame
and are stored once. ``filter_units=remove_types=6`` drops x264's SEI (its version string). Every
picture shares one SPS and PPS (checked here): a camera's picture can change mid-stream.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

FFMPEG = "/usr/bin/ffmpeg"
WIDTH, HEIGHT = 640, 360
SCENE_FRAMES = 6
ENCODE = ("-c:v libx264 -profile:v main -qp 32 -x264-params slice-max-mbs=40:keyint=1 "
          "-bsf:v filter_units=remove_types=6 -f h264")
OUT = Path(__file__).with_name("h264_data.py")

# The scene, per colour channel: (sky at the top, hill, road, field), then houses and a pole.
_HORIZON = "(112+14*sin(X/47)+7*sin(X/13+1))"
_HILL_TEX = "sin(X/9)*sin(Y/7)", "sin(X/3.1+Y/2.3)"
_FIELD_TEX = "sin(X/11+Y/5)*sin(Y/3.7)", "sin(X/2.3)*sin(Y/1.9)"
_DASH = "between(Y,272,276)*lt(mod(X,60),34)"
# (sky top, sky gain), (hill base, hill gains), road grey, (field base, field gains)
_CHANNELS = {
    "r": ((150, 50), (60, 25, 10), 98, (95, 30, 12)),
    "g": ((185, 40), (85, 25, 10), 100, (125, 30, 12)),
    "b": ((230, 15), (70, 20, 8), 104, (60, 20, 10)),
}


def _geq(sky: tuple[int, int], hill: tuple[int, int, int], road: int, field: tuple[int, int, int]) -> str:
    return (f"if(lt(Y,{_HORIZON}),{sky[0]}+{sky[1]}*Y/120,"
            f"if(lt(Y,175),{hill[0]}+{hill[1]}*{_HILL_TEX[0]}+{hill[2]}*{_HILL_TEX[1]},"
            f"if(between(Y,250,298),if({_DASH},225,{road}+6*sin(X*1.7+Y*2.9)),"
            f"{field[0]}+{field[1]}*{_FIELD_TEX[0]}+{field[2]}*{_FIELD_TEX[1]})))")


def _box(x: int, y: int, w: int, h: int, colour: str) -> str:
    return f"drawbox=x={x}:y={y}:w={w}:h={h}:c={colour}:t=fill"


_HOUSES = ",".join([
    _box(70, 150, 110, 75, "0xd8d0c0"), _box(62, 138, 126, 14, "0x8a3b2a"), _box(90, 170, 22, 20, "0x2a3040"),
    _box(135, 170, 22, 20, "0x2a3040"), _box(112, 195, 20, 30, "0x5a3a22"),
    _box(420, 140, 150, 90, "0xe6e2da"), _box(410, 126, 170, 16, "0x40506a"), _box(440, 160, 26, 24, "0x2a3040"),
    _box(485, 160, 26, 24, "0x2a3040"), _box(530, 160, 26, 24, "0x2a3040"), _box(480, 195, 28, 35, "0x6a4a2a"),
    _box(250, 120, 8, 110, "0x505050"), _box(220, 118, 70, 4, "0x404040"),
])
SCENE = (f"color=s={WIDTH}x{HEIGHT},format=rgb24,"
         + "geq=" + ":".join(f"{c}='{_geq(*v)}'" for c, v in _CHANNELS.items()) + "," + _HOUSES)
#: The car at ``{x}``: body, cabin, two windows, two wheels.
CAR = ",".join([
    _box(0, 254, 92, 26, "0xb02a2a"), _box(18, 240, 52, 16, "0x8a1f1f"), _box(24, 243, 18, 10, "0x1c2630"),
    _box(46, 243, 18, 10, "0x1c2630"), _box(10, 276, 16, 10, "0x111111"), _box(66, 276, 16, 10, "0x111111"),
])


def _car(x: int) -> str:
    return re.sub(r"drawbox=x=(\d+)", lambda m: f"drawbox=x={x + int(m.group(1))}", CAR)


SOURCES: dict[str, tuple[str, ...]] = {
    "scene": tuple(f"{SCENE},{_car(25 + 100 * k)}" for k in range(SCENE_FRAMES)),
    "bars": (f"smptehdbars=s={WIDTH}x{HEIGHT}",),
    "black": (f"color=c=black:s={WIDTH}x{HEIGHT}",),
}


def command(source: str) -> list[str]:
    return [FFMPEG, "-v", "error", "-f", "lavfi", "-i", f"{source},format=yuv420p", "-frames:v", "1",
            *ENCODE.split(), "-"]


def nal_units(annex_b: bytes) -> list[bytes]:
    """The NAL units of an H.264 Annex B byte stream (start codes removed)."""
    return [n for n in re.split(b"\x00\x00\x00\x01|\x00\x00\x01", annex_b) if n]


def _lines(text: str, width: int = 112) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]


def render() -> str:
    """The text of :mod:`probes.sim.h264_data`."""
    sps = pps = b""
    slices: list[bytes] = []
    pictures: dict[str, list[tuple[int, ...]]] = {}
    commands: list[str] = []
    for name, sources in SOURCES.items():
        for source in sources:
            cmd = command(source)
            if source is sources[0]:
                commands.append(f"{name}: " + " ".join(f'"{a}"' if " " in a or "'" in a else a for a in cmd))
            units = nal_units(subprocess.run(cmd, check=True, capture_output=True).stdout)
            if [u[0] & 0x1F for u in units[:2]] != [7, 8] or any(u[0] & 0x1F != 5 for u in units[2:]):
                raise SystemExit(f"unexpected NAL units for {name}: {[u[0] & 0x1F for u in units]}")
            if sps and (units[0], units[1]) != (sps, pps):
                raise SystemExit(f"{name}: another SPS/PPS than the first picture's")
            sps, pps = units[0], units[1]
            ids = []
            for unit in units[2:]:
                if unit not in slices:
                    slices.append(unit)
                ids.append(slices.index(unit))
            pictures.setdefault(name, []).append(tuple(ids))
    out = ['"""Generated by ``python -m probes.sim.h264_make`` (see there): do not edit.', "",
           "The command of each picture's first frame (the scene's next frames: every drawbox of the car",
           "moved right by 100 px a frame)::", ""]
    out += [f"    {c}" for c in commands]
    out += ['"""', "", f"WIDTH = {WIDTH}", f"HEIGHT = {HEIGHT}",
            f'SPS_B64 = "{base64.b64encode(sps).decode()}"', f'PPS_B64 = "{base64.b64encode(pps).decode()}"',
            "#: Every distinct slice NAL unit (base64).", "SLICES_B64: tuple[str, ...] = ("]
    for unit in slices:
        parts = _lines(base64.b64encode(unit).decode())
        out += [f'    "{p}"' for p in parts[:-1]] + [f'    "{parts[-1]}",']
    out += [")", "#: Each picture's frames, each frame its slices (indexes into SLICES_B64) in order.",
            "PICTURES: dict[str, tuple[tuple[int, ...], ...]] = {"]
    for name, frames in pictures.items():
        out.append(f'    "{name}": (')
        out += [f"        {frame}," for frame in frames]
        out.append("    ),")
    out.append("}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    text = render()
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text.splitlines())} lines, {len(text)} characters)", file=sys.stderr)
