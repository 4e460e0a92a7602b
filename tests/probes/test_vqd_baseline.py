"""VQD judged against the camera's own pictures (the per-camera baseline): occlusion reads the
blocks that changed, colour cast how far the colour moved; and the limits between black, dark
and signal loss. Synthetic 320x180 frames; bench/vqd_eval.py has the evaluation set."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.vqd import DEFAULT_THRESHOLDS, VqdBaseline, VqdCheck, VqdName, apply_baseline, check_occlusion, run_vqd
from probes.vqd_rules import cast_shift, covered_share

H, W = 180, 320
T = DEFAULT_THRESHOLDS


def wall(seed: int, level: float = 150.0, gains: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """A plain wall with a little sensor noise and a small dark object (different every frame)."""
    rng = np.random.default_rng(seed)
    img = level + rng.normal(0, 1.5, (H, W, 1)) + np.zeros((1, 1, 3))
    cv2.circle(img, (40 + 20 * seed % 240, 60), 9, (60, 80, 120), -1)
    return np.clip(img * np.array(gains), 0, 255).astype(np.uint8)


def covered(frame: np.ndarray, share: float, level: float = 55.0) -> np.ndarray:
    """*frame* with a flat, dark cover over the bottom *share* of it."""
    out = frame.copy()
    out[H - round(H * share):] = np.clip(level + np.random.default_rng(9).normal(0, 1.0, (round(H * share), W, 1)), 0, 255)
    return out


def photo(seed: int) -> np.ndarray:
    """A textured scene whose lower part is dark (a night sky, a dark lawn) at the cover's level."""
    rng = np.random.default_rng(100 + seed)
    cells = rng.integers(20, 120, (H // 6, W // 6)).astype(np.float32)
    img = cv2.resize(cells, (W, H), interpolation=cv2.INTER_NEAREST)[..., None] + np.zeros((1, 1, 3))
    img += rng.normal(0, 1.5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def warm(seed: int) -> np.ndarray:
    """A warm scene (a room in lamplight): not grey on average, mean a*, b* about (14, 30)."""
    rng = np.random.default_rng(200 + seed)
    cells = rng.integers(60, 200, (H // 10, W // 10)).astype(np.float32)
    y = cv2.resize(cells, (W, H), interpolation=cv2.INTER_NEAREST) + rng.normal(0, 1.5, (H, W))
    img = np.dstack([y * 0.55, y * 0.85, y * 1.1])
    return np.clip(img, 0, 255).astype(np.uint8)


def learnt(frames: list[np.ndarray]) -> VqdBaseline:
    base = VqdBaseline()
    for a, b in zip(frames, frames[1:] + frames[:1], strict=True):
        _, base = apply_baseline(run_vqd(a, b), base)
    return base


def failed(frame: np.ndarray, second: np.ndarray, base: VqdBaseline) -> set[VqdName]:
    checks, _ = apply_baseline(run_vqd(frame, second), base)
    return {c.name for c in checks if not c.ok}


def test_plain_wall_is_judged_by_what_changed() -> None:
    """Alone, a plain wall is flagged (flat in one band: covered, or foggy); against its own
    pictures it passes, a cover over 80 % of it is ``occlusion``, a blur of it is not a cover,
    and a cast (every block's luma moved alike) is ``color_cast`` alone."""
    assert {c.name for c in run_vqd(wall(1), wall(2)) if not c.ok}
    base = learnt([wall(1), wall(2), wall(3)])
    assert failed(wall(4), wall(5), base) == set()
    assert failed(covered(wall(4), 0.8), covered(wall(5), 0.8), base) == {VqdName.OCCLUSION}
    soft = [cv2.GaussianBlur(wall(s), (0, 0), 4) for s in (4, 5)]
    assert VqdName.OCCLUSION not in failed(soft[0], soft[1], base)
    pink = (1.25, 0.6, 1.35)
    assert failed(wall(4, gains=pink), wall(5, gains=pink), base) == {VqdName.COLOR_CAST}


def test_a_cover_as_dark_as_the_scene_is_texture_lost() -> None:
    """A cover no brighter than the dark scene it hides still changes it: its blocks were
    textured and are flat now."""
    base = learnt([photo(0), photo(0)])
    a, b = covered(photo(0), 0.85, level=60), covered(photo(0), 0.85, level=60)
    assert failed(a, b, base) == {VqdName.OCCLUSION}
    assert failed(photo(0), photo(0), base) <= {VqdName.FROZEN}  # (the same picture twice)


def test_warm_scene_is_its_own_grey() -> None:
    """A warm scene fails the one-frame colour check; against its own colour it passes, and a blue
    cast that moves it towards grey (which the one-frame check cannot see) is ``color_cast``."""
    assert VqdName.COLOR_CAST in {c.name for c in run_vqd(warm(0), warm(1)) if not c.ok}
    base = learnt([warm(0), warm(1), warm(2)])
    assert failed(warm(3), warm(4), base) == set()
    blue = [np.clip(warm(s) * np.array([1.6, 0.9, 0.5]), 0, 255).astype(np.uint8) for s in (3, 4)]
    assert VqdName.COLOR_CAST not in {c.name for c in run_vqd(blue[0], blue[1]) if not c.ok}
    assert failed(blue[0], blue[1], base) == {VqdName.COLOR_CAST}
    fogged = [(warm(s) * 0.08 + 180).astype(np.uint8) for s in (3, 4)]  # fog: colour washed out
    assert failed(fogged[0], fogged[1], base) == {VqdName.CONTRAST}


def test_black_level_dark_picture_and_dark_screen() -> None:
    """A picture at the black level is ``black``; one darkened to a mean of 18 that keeps its
    detail is ``dark``; a plain wall in the dark (uniform, no caption) is ``dark``, not a signal loss;
    an exactly uniform grey screen is ``signal_loss``; a fogged plain scene with faint shading is not."""
    scene = photo(1)
    black = np.clip(scene * 0.03 + 12 + np.random.default_rng(1).normal(0, 1.0, scene.shape), 0, 255).astype(np.uint8)
    assert {c.name for c in run_vqd(black) if not c.ok} == {VqdName.BLACK}
    # darkened to a mean of 18.5: nearly every pixel is under the black pixel level, yet not at black
    dim = np.clip(14.0 + (scene.astype(np.float32) - 20.0) * 0.085 + 0.5, 0, 255).astype(np.uint8)
    assert float(np.mean(dim)) > T.black_max_mean_luma and np.count_nonzero(dim < T.black_pixel_luma) > 0.95 * dim.size
    assert {c.name for c in run_vqd(dim) if not c.ok} == {VqdName.DARK}
    dark_wall = np.clip(wall(1).astype(np.float32) * 0.17, 0, 255).astype(np.uint8)
    assert {c.name for c in run_vqd(dark_wall) if not c.ok} == {VqdName.DARK}
    screen = np.full((H, W, 3), 128, np.uint8)
    assert {c.name for c in run_vqd(screen, screen) if not c.ok} == {VqdName.SIGNAL_LOSS}
    shade = np.linspace(-3, 3, W, dtype=np.float32)[None, :, None]
    fog = np.clip(181 + shade + np.zeros((H, 1, 3)), 0, 255).astype(np.uint8)
    assert VqdName.SIGNAL_LOSS not in {c.name for c in run_vqd(fog) if not c.ok}


@settings(max_examples=40, deadline=None)
@given(gain=st.floats(0.5, 1.6), seed=st.integers(0, 1000))
def test_a_gain_of_the_whole_picture_covers_nothing(gain: float, seed: int) -> None:
    """Every block's mean scaled alike (exposure, a cast's effect on luma) is no cover, whatever
    the gain; the same blocks with most of them moved alone are."""
    rng = np.random.default_rng(seed)
    n = 220
    flags = tuple(float(f) for f in rng.random(n) < 0.9)
    means = tuple(float(m) for m in rng.uniform(40, 200, n))
    usual = flags + means
    assert covered_share(flags + tuple(m * gain for m in means), usual, T) == 0.0
    moved = tuple(m * 0.3 if i < 0.8 * n else m for i, m in enumerate(means))
    share = covered_share(tuple(1.0 if i < 0.8 * n else 0.0 for i in range(n)) + moved, usual, T)
    assert share is not None and share >= 0.79


def test_detail_layouts_that_do_not_match_are_not_compared() -> None:
    assert covered_share((1.0, 100.0), (1.0, 100.0, 1.0), T) is None
    assert cast_shift((1.0, 2.0), ()) is None
    assert cast_shift((3.0, 4.0), (0.0, 0.0)) == pytest.approx(5.0)
    occ = check_occlusion(wall(1))
    n = len(occ.detail) // 2
    assert n == (H // 16) * (W // 16) and set(occ.detail[:n]) <= {0.0, 1.0}
    assert isinstance(occ, VqdCheck) and "detail" not in repr(occ)
