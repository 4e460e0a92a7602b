"""The simulated cameras' pictures: pre-encoded H.264 IDR frames (640x360, Main profile, one slice
per row of macroblocks), served over RTP by :mod:`probes.sim.rtp`.

* ``scene`` (the default): a village road under green hills, two houses and a camera pole, and a
  red car driving along the road: :data:`SCENE_FRAMES` frames with the car 100 px further right in
  each. The streamer shows each frame for :data:`SECONDS_PER_FRAME` seconds, so two keyframes
  1 to 5 s apart always differ (the frozen check compares keyframes ~3 s apart), while the rest of
  the picture stays still (no temporal "noise"). It passes every picture check of
  :mod:`probes.vqd` with the default thresholds (not dark, not bars, not blurred, not noisy...).
* ``frozen``: the scene's first frame, repeated (``frozen``, 画面冻结);
* ``bars``: SMPTE HD colour bars (``signal_loss``, 信号丢失: an encoder without input);
* ``black``: a black picture (``black``, 黑屏).

Made with ``/usr/bin/ffmpeg`` (lavfi ``color`` + ``geq`` + ``drawbox`` for the scene,
``smptehdbars``, ``color=c=black``; libx264 ``-profile:v main -qp 32 -x264-params
slice-max-mbs=40:keyint=1``, SEI dropped): the exact commands are in :mod:`probes.sim.h264_data`'s
docstring, and ``python -m probes.sim.h264_make`` remakes it. Every picture shares one SPS/PPS
(advertised in the SDP's ``sprop-parameter-sets``), so a camera can switch pictures mid-stream.
"""

from __future__ import annotations

import base64
import functools

from probes.sim import h264_data
from probes.sim.behaviour import Picture

WIDTH = h264_data.WIDTH
HEIGHT = h264_data.HEIGHT
SPS_B64 = h264_data.SPS_B64
PPS_B64 = h264_data.PPS_B64
# profile_idc, constraint flags, level_idc: bytes 1..3 of the SPS.
PROFILE_LEVEL_ID = base64.b64decode(SPS_B64)[1:4].hex()
SCENE_FRAMES = len(h264_data.PICTURES["scene"])
SECONDS_PER_FRAME = 1.0


def sps() -> bytes:
    return base64.b64decode(SPS_B64)


def pps() -> bytes:
    return base64.b64decode(PPS_B64)


@functools.cache
def _slices() -> tuple[bytes, ...]:
    return tuple(base64.b64decode(s) for s in h264_data.SLICES_B64)


@functools.cache
def frames(picture: Picture) -> tuple[tuple[bytes, ...], ...]:
    """The picture's frames, each the slice NAL units of one IDR access unit, in order."""
    stored = h264_data.PICTURES["scene" if picture is Picture.FROZEN else picture.value]
    if picture is Picture.FROZEN:
        stored = stored[:1]
    slices = _slices()
    return tuple(tuple(slices[i] for i in frame) for frame in stored)
