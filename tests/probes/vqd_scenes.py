"""A labelled evaluation set for the picture checks (VQD): real photographs, night and
low-texture scenes, degraded with known parameters and sent through H.264.

Scenes:

* **photographs** shipped by scikit-image (``skimage/data``: astronaut, camera, coffee...),
  read with OpenCV from the installed package (skimage itself is not imported), cropped to
  16:9 and resized to the stream size, with a little sensor noise and a small moving object;
* **night** scenes: a small bright moving object (a lamp, a headlight) on a 99 % dark frame
  with night-gain sensor noise; a photograph turned into a night street (gamma, a low gain,
  lamps with glow); and a real dark photograph (the Hubble deep field);
* **low-texture** scenes: a smooth gradient with a moving bar (as a real ONVIF camera
  implementation serves it), a sky gradient with a moving bar, a plain wall, and the
  moon photograph (a soft grey surface filling the frame).

Every sample is a short clip of :data:`CLIP` frames at 640x360. All clips of a set are
encoded as ONE H.264 stream by ``ffmpeg`` (libx264, an IDR frame at the start of every
clip) and decoded back, so the checks see compression artefacts as from a camera; the
checks read frame :data:`FIRST` and frame :data:`SECOND` of each clip (the collector's
two grabs seconds apart), downscaled to 320 px.

Degradations are parameterised at the 320 px analysis scale (a blur of sigma 3 means 3 px
at 320 px wide, 6 px at the 640 px source). Each sample's label is the one check that must
fail (``None`` for a clean picture): see :data:`DEGRADATIONS`.
"""

from __future__ import annotations

import importlib.util
import subprocess
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tests.probes.vqd_screens import screens as screens
from tests.probes.vqd_screens import smpte_bars as smpte_bars

W, H = 640, 360
CLIP = 8  # frames per sample
FIRST, SECOND = 1, CLIP - 1
Img = np.ndarray

#: scikit-image photographs used as day scenes (colour and grey).
PHOTOS = (
    "astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
    "coins.png", "brick.png", "grass.png", "gravel.png", "page.png", "immunohistochemistry:ihc.png",
)
LOW_TEXTURE_PHOTOS = ("moon.png",)  # a close-up of a grey, soft, low-contrast surface
NIGHT_PHOTOS = ("hubble_deep_field.jpg",)
#: Held-out scenes (``bench/vqd_eval.py --held-out``): never looked at while tuning the checks,
#: to show that a change holds on scenes it was not made for. Photographs not in :data:`PHOTOS`,
#: a night street made from another photograph, a wall of another colour and grain, and a sky of
#: another colour.
HELD_OUT_PHOTOS = ("text.png", "cell.png", "motorcycle_right.png")
HELD_OUT_NIGHT_STREETS = ("astronaut.png",)


def skimage_data_dir() -> Path:
    """The ``data`` folder of the installed scikit-image (a test dependency)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-image is not installed: pip install -e '.[test]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_photo(name: str) -> Img:
    """A shipped photograph as 640x360 BGR (centre crop to 16:9)."""
    name = name.split(":")[-1]
    img = cv2.imread(str(skimage_data_dir() / name), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(name)
    h, w = img.shape[:2]
    if w / h > W / H:
        cw = round(h * W / H)
        img = img[:, (w - cw) // 2 : (w - cw) // 2 + cw]
    else:
        ch = round(w * H / W)
        img = img[(h - ch) // 2 : (h - ch) // 2 + ch]
    return cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA if w > W else cv2.INTER_CUBIC)


def _noise(rng: np.random.Generator, sigma: float) -> Img:
    return rng.normal(0.0, sigma, (H, W, 1)).astype(np.float32)


def _u8(img: Img) -> Img:
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Scene:
    """A camera's view: ``frame(i)`` is its i-th live frame (float32 BGR, 640x360)."""

    name: str
    kind: str  # "day", "night" or "low-texture"
    frame: Callable[[int], Img]


def _photo_scene(name: str, kind: str = "day") -> Scene:
    base = load_photo(name).astype(np.float32)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    color = rng.integers(40, 220, 3).tolist()

    def frame(i: int) -> Img:
        img = base + _noise(np.random.default_rng(i), 2.0)
        x = 40 + 22 * i  # a small object crossing the top of the view (a person, a car far away)
        cv2.rectangle(img, (x, 12), (x + 24, 30), color, -1)
        return img

    return Scene(name.split(":")[0].split(".")[0], kind, frame)


def _glow(img: Img, x: int, y: int, r: int, level: float = 255.0) -> None:
    yy, xx = np.ogrid[0:H, 0:W]
    d2 = (yy - y) ** 2 + (xx - x) ** 2
    img += (level * np.exp(-d2 / (2.0 * r * r)))[..., None].astype(np.float32)


def _night_dot() -> Scene:
    """The issue's night scene: a small bright object on a 99 % dark frame."""

    def frame(i: int) -> Img:
        img = np.full((H, W, 3), 14.0, np.float32) + _noise(np.random.default_rng(100 + i), 2.5)
        _glow(img, 120 + 20 * i, 24, 7, 400.0)
        return img

    return Scene("night-dot", "night", frame)


def _night_street(photo: str) -> Scene:
    day = load_photo(photo).astype(np.float32) / 255.0
    dark = 255.0 * 0.16 * day**2.2  # a dim, contrasty night look
    lamps = np.zeros_like(dark)
    for x, y in ((90, 60), (330, 50), (560, 70)):
        _glow(lamps, x, y, 6, 500.0)
        _glow(lamps, x, y, 30, 40.0)

    def frame(i: int) -> Img:
        img = dark + lamps + _noise(np.random.default_rng(200 + i), 3.0)
        _glow(img, 600 - 30 * i, 24, 5, 450.0)  # a moving light
        return img

    return Scene(f"night-{photo.split('.')[0]}", "night", frame)


def _night_photo(name: str) -> Scene:
    base = load_photo(name).astype(np.float32)

    def frame(i: int) -> Img:
        img = base + _noise(np.random.default_rng(300 + i), 2.0)
        _glow(img, 100 + 30 * i, 20, 4, 300.0)  # an aircraft light
        return img

    return Scene(f"night-{name.split('.')[0]}", "night", frame)


def _gradient_bar(horizontal: bool, name: str = "", tint: tuple[float, float, float] = (0.9, 1.0, 1.05),
                  lo: float = 60.0, hi: float = 190.0) -> Scene:
    """A smooth gradient with a bar moving across it (a real ONVIF camera's test picture)."""
    ramp = np.linspace(lo, hi, W if horizontal else H, dtype=np.float32)
    base = np.broadcast_to(ramp[None, :] if horizontal else ramp[:, None], (H, W))
    base = np.dstack([base * tint[0], base * tint[1], base * tint[2]])

    def frame(i: int) -> Img:
        img = base + _noise(np.random.default_rng(400 + i), 1.0)
        x = 60 + 40 * i
        img[:, x : x + 16] = (230, 230, 230)
        return img

    return Scene(name or ("gradient-bar" if horizontal else "sky-bar"), "low-texture", frame)


def _wall(name: str = "wall", bgr: tuple[float, float, float] = (150, 160, 170), grain: float = 6.0,
          seed: int = 7) -> Scene:
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.normal(0, grain, (H, W)).astype(np.float32), (0, 0), 3)
    base = np.dstack([bgr[0] + texture, bgr[1] + texture, bgr[2] + texture])

    def frame(i: int) -> Img:
        img = base + _noise(np.random.default_rng(500 + i), 1.5)
        x = 80 + 30 * i
        cv2.circle(img, (x, 200), 18, (60, 80, 120), -1)
        return img

    return Scene(name, "low-texture", frame)


def scenes(photos: Sequence[str] = PHOTOS, night: bool = True, low_texture: bool = True) -> list[Scene]:
    out = [_photo_scene(p) for p in photos]
    if night:
        out += [_night_dot(), _night_street("camera.png"), _night_street("motorcycle_left.png")]
        out += [_night_photo(p) for p in NIGHT_PHOTOS]
    if low_texture:
        out += [_gradient_bar(True), _gradient_bar(False), _wall()]
        out += [_photo_scene(p, "low-texture") for p in LOW_TEXTURE_PHOTOS]
    return out


def held_out_scenes() -> list[Scene]:
    """The held-out scenes (see :data:`HELD_OUT_PHOTOS`)."""
    out = [_photo_scene(p) for p in HELD_OUT_PHOTOS]
    out += [_night_street(p) for p in HELD_OUT_NIGHT_STREETS]
    out += [_wall("wall-beige", (120, 170, 200), 4.0, 11), _gradient_bar(False, "sky-blue", (1.1, 0.95, 0.75), 90, 210)]
    return out


# --- degradations: (name, label, applies to kinds, per-frame function (img, i) -> img) ---

Degrade = Callable[[Img, int], Img]


def _to_mean(target: float) -> Degrade:
    """Exposure changed (a gain, clipped) until the luma mean is *target* (darkening or over-exposure)."""

    def f(img: Img, i: int) -> Img:
        y = cv2.cvtColor(_u8(img), cv2.COLOR_BGR2GRAY).astype(np.float32)
        lo, hi = 0.0, 64.0
        for _ in range(30):  # bisection on the gain: the clipped mean grows with it
            g = (lo + hi) / 2
            lo, hi = (g, hi) if float(np.mean(np.clip(y * g, 0, 255))) < target else (lo, g)
        return img * ((lo + hi) / 2)

    return f


def _blur(sigma320: float) -> Degrade:
    return lambda img, i: cv2.GaussianBlur(img, (0, 0), 2.0 * sigma320)


def _snow(sigma: float) -> Degrade:
    def f(img: Img, i: int) -> Img:
        rng = np.random.default_rng(900 + i)
        out = img + rng.normal(0.0, sigma, img.shape[:2])[..., None]
        salt = rng.random(img.shape[:2]) < 0.03
        out[salt] = 255.0
        return out

    return f


def _cast(b: float, g: float, r: float) -> Degrade:
    gains = np.array([b, g, r], np.float32)
    return lambda img, i: img * gains


def _fog(amount: float) -> Degrade:
    return lambda img, i: img * (1.0 - amount) + 190.0 * amount


def _black(img: Img, i: int) -> Img:
    """A capped lens / dead sensor: near black with the sensor's noise (not a flat screen)."""
    return img * 0.03 + 12.0 + _noise(np.random.default_rng(700 + i), 3.0)


def _patch(share: float) -> Degrade:
    """An object at the lens over the bottom *share* of the frame: dark, defocused, shaded."""

    def f(img: Img, i: int) -> Img:
        out = img.copy()
        rows = round(H * share)
        shade = np.linspace(45, 70, W, dtype=np.float32)[None, :, None]
        cover = np.broadcast_to(shade * np.array([1.0, 0.95, 0.9], np.float32), (rows, W, 3))
        mask = np.zeros((H, W), np.float32)
        mask[H - rows :] = 1.0
        mask = cv2.GaussianBlur(mask, (0, 0), 6)[..., None]
        full = np.zeros_like(out)
        full[H - rows :] = cover
        full[: H - rows] = cover[0:1]
        out = out * (1.0 - mask) + full * mask
        return out + _noise(np.random.default_rng(800 + i), 1.5) * mask

    return f


def _frozen(scene: Scene) -> Callable[[int], Img]:
    first = scene.frame(0)
    return lambda i: first


@dataclass(frozen=True)
class Degradation:
    name: str
    label: str | None  # the check that must fail; None: every check must pass
    kinds: frozenset[str]
    fn: Degrade | None  # None: the clean scene (or, for "frozen", a repeated frame)


_ALL = frozenset({"day", "night", "low-texture"})
_LIT = frozenset({"day", "low-texture"})
_DAY = frozenset({"day"})  # (fog over a plain wall is a uniform grey screen: not told apart)

DEGRADATIONS: tuple[Degradation, ...] = (
    Degradation("clean", None, _ALL, None),
    Degradation("patch-25pct", None, _LIT, _patch(0.25)),
    Degradation("black", "black", _ALL, _black),
    Degradation("black-screen", "black", _ALL, lambda img, i: img * 0.0 + 16.0),
    Degradation("dark-mean-26", "dark", _LIT, _to_mean(26.0)),
    Degradation("dark-mean-20", "dark", _LIT, _to_mean(20.0)),
    Degradation("overexposed-mean-232", "bright", _LIT, _to_mean(232.0)),
    Degradation("overexposed-mean-245", "bright", _ALL, _to_mean(245.0)),
    Degradation("fog-0.9", "contrast", _DAY, _fog(0.9)),
    Degradation("fog-0.95", "contrast", _DAY, _fog(0.95)),
    Degradation("blur-2", "blur", _LIT, _blur(2.0)),
    Degradation("blur-3", "blur", _LIT, _blur(3.0)),
    Degradation("blur-5", "blur", _LIT, _blur(5.0)),
    Degradation("snow-30", "noise", _ALL, _snow(30.0)),
    Degradation("snow-50", "noise", _ALL, _snow(50.0)),
    Degradation("cast-pink", "color_cast", _LIT, _cast(1.25, 0.6, 1.35)),
    Degradation("cast-green", "color_cast", _LIT, _cast(0.7, 1.3, 0.7)),
    Degradation("cast-blue", "color_cast", _LIT, _cast(1.6, 0.9, 0.5)),
    Degradation("occlusion-80pct", "occlusion", _LIT, _patch(0.8)),
    Degradation("occlusion-90pct", "occlusion", _ALL, _patch(0.9)),
    Degradation("frozen", "frozen", _ALL, None),
)


@dataclass(frozen=True)
class Sample:
    scene: str
    kind: str
    degradation: str
    label: str | None
    frames: tuple[Img, ...]  # the clip (640x360 uint8 BGR) before encoding


def samples(scene_list: Sequence[Scene], degradations: Sequence[Degradation] = DEGRADATIONS,
            with_screens: bool = True) -> list[Sample]:
    out: list[Sample] = []
    for sc in scene_list:
        for d in degradations:
            if sc.kind not in d.kinds:
                continue
            source = _frozen(sc) if d.name == "frozen" else sc.frame
            fn = d.fn
            frames = tuple(_u8(fn(source(i), i) if fn is not None else source(i)) for i in range(CLIP))
            out.append(Sample(sc.name, sc.kind, d.name, d.label, frames))
    if with_screens:
        for name, img in screens():
            still = _u8(img)
            out.append(Sample(name, "screen", name.split("-")[0], "signal_loss", (still,) * CLIP))
    return out


def h264_roundtrip(clips: Sequence[Sequence[Img]], crf: int = 26, timeout_s: float = 600.0) -> list[tuple[Img, ...]]:
    """Encode every clip as one H.264 stream (an IDR frame at each clip's start) and decode it."""
    n = sum(len(c) for c in clips)
    starts, t = [], 0
    for c in clips:
        starts.append(t)
        t += len(c)
    raw = b"".join(np.ascontiguousarray(f).tobytes() for c in clips for f in c)
    enc = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}", "-r", "25", "-i", "-",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
         "-g", str(CLIP), "-keyint_min", str(CLIP), "-sc_threshold", "0", "-bf", "0", "-threads", "1",
         "-f", "h264", "-"],
        input=raw, capture_output=True, timeout=timeout_s, check=True,
    )
    dec = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "h264", "-i", "-", "-f", "rawvideo", "-pix_fmt", "bgr24", "-threads", "1", "-"],
        input=enc.stdout, capture_output=True, timeout=timeout_s, check=True,
    )
    frames = np.frombuffer(dec.stdout, np.uint8)
    if frames.size != n * H * W * 3:
        raise RuntimeError(f"decoded {frames.size // (H * W * 3)} frames of {n}")
    frames = frames.reshape(n, H, W, 3)
    return [tuple(frames[s + k] for k in range(len(c))) for s, c in zip(starts, clips, strict=True)]
