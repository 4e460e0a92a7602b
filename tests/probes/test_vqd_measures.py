"""VQD measures with a physical reason (table tests): noise is new in every frame and texture
is not; a cover leaves the scene beside it at its own contrast while fog lowers it everywhere;
an occluder hides the scene's motion, so a covered still picture is ``occlusion``, not ``frozen``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from probes.vqd import VqdName, check_contrast, check_noise, run_vqd
from probes.vqd_checks import temporal_noise
from probes.vqd_rules import VqdCheck, apply_masks

H, W = 180, 320


def texture(seed: int, sigma: float = 30.0) -> np.ndarray:
    """Fine texture everywhere (grass, gravel): strong pixel-to-pixel detail, the same in every frame."""
    rng = np.random.default_rng(seed)
    return np.clip(128 + rng.normal(0, sigma, (H, W)), 0, 255).astype(np.uint8)


def snow(base: np.ndarray, seed: int, sigma: float = 20.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(base.astype(np.float32) + rng.normal(0, sigma, base.shape), 0, 255).astype(np.uint8)


SMOOTH = np.broadcast_to(np.linspace(60, 190, W, dtype=np.float32)[None, :], (H, W)).astype(np.uint8)


@pytest.mark.parametrize(
    ("first", "second", "fails"),
    [
        (texture(1), texture(1), False),  # fine texture, the same in both frames: not noise
        (snow(texture(1), 2), snow(texture(1), 3), True),  # snow on it: new in every frame
        (snow(SMOOTH, 4), snow(SMOOTH, 5), True),  # snow on a smooth scene
        (SMOOTH, SMOOTH, False),  # a clean smooth scene
    ],
    ids=["texture-still", "texture-snow", "smooth-snow", "smooth-clean"],
)
def test_noise_is_new_in_every_frame(first: np.ndarray, second: np.ndarray, fails: bool) -> None:
    c = check_noise(first, second=second)
    assert c.ok is not fails, c


def test_fine_texture_alone_reads_as_noise_without_a_second_frame() -> None:
    """The reason for the temporal estimate: one frame of fine texture looks like snow."""
    assert not check_noise(texture(1)).ok
    assert check_noise(texture(1), second=texture(1)).ok


@pytest.mark.parametrize(
    ("sigma", "lo", "hi"), [(0.0, 0.0, 0.01), (10.0, 8.5, 11.5), (25.0, 22.0, 28.0)]
)
def test_temporal_noise_reads_the_noise_sigma(sigma: float, lo: float, hi: float) -> None:
    flat = np.full((H, W), 128, np.uint8)
    est = temporal_noise(snow(flat, 1, sigma), snow(flat, 2, sigma))
    assert est is not None and lo <= est <= hi


def test_temporal_noise_of_frames_of_different_size_is_none() -> None:
    assert temporal_noise(texture(1), texture(1)[:100]) is None


def covered(share: float, scene: np.ndarray) -> np.ndarray:
    """*scene* with a dark, even surface over the bottom *share* of the frame."""
    out = scene.copy()
    out[H - round(H * share):] = 55
    return out


def fogged(scene: np.ndarray, amount: float) -> np.ndarray:
    out: np.ndarray = np.clip(scene.astype(np.float32) * (1 - amount) + 190 * amount, 0, 255).astype(np.uint8)
    return out


#: A dark textured scene (mean 44, RMS contrast 14): covered over 85 % it measures 6.7 over the whole frame.
DARK_SCENE = np.clip(cv2.GaussianBlur(texture(3, 50).astype(np.float32) - 128, (0, 0), 1.0) + 45, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("frame", "contrast_fails"),
    [
        (covered(0.85, DARK_SCENE), False),  # a cover: the visible rest has its own contrast
        (fogged(DARK_SCENE, 0.9), True),  # fog: flat everywhere
        (DARK_SCENE, False),
    ],
    ids=["cover", "fog", "scene"],
)
def test_contrast_is_read_past_a_cover(frame: np.ndarray, contrast_fails: bool) -> None:
    assert float(np.std(covered(0.85, DARK_SCENE))) < 12  # (the whole frame's contrast is low)
    assert check_contrast(frame).ok is not contrast_fails, check_contrast(frame)


def test_a_covered_dark_scene_is_occlusion_alone() -> None:
    frame = covered(0.85, DARK_SCENE)
    failed = {c.name for c in run_vqd(frame, frame.copy()) if not c.ok}
    assert failed == {VqdName.OCCLUSION}  # not contrast, and the still picture is not also frozen


@pytest.mark.parametrize(
    ("failing", "named"),
    [
        ({VqdName.OCCLUSION, VqdName.FROZEN}, {VqdName.OCCLUSION}),
        ({VqdName.FROZEN}, {VqdName.FROZEN}),
        # fog names the flat picture (masking occlusion), and a frozen stream is a fault of its own
        ({VqdName.CONTRAST, VqdName.OCCLUSION, VqdName.FROZEN}, {VqdName.CONTRAST, VqdName.FROZEN}),
    ],
)
def test_occlusion_masks_frozen(failing: set[VqdName], named: set[VqdName]) -> None:
    checks = [VqdCheck(n, n not in failing, 1.0 if n in failing else 0.0, 0.5) for n in VqdName]
    # (scores that fail on their side of 0.5: dark, contrast and frozen fail below)
    below = {VqdName.DARK, VqdName.CONTRAST, VqdName.FROZEN}
    checks = [VqdCheck(c.name, c.ok, (0.0 if c.name in below else 1.0) if c.name in failing
                       else (1.0 if c.name in below else 0.0), 0.5) for c in checks]
    got = {c.name for c in apply_masks(checks) if not c.ok}
    assert got == named
