"""The rules of the picture checks, in plain Python (no numpy, no OpenCV: the collector's
scheduler imports this): a check's result, the thresholds, the night profile's thresholds,
which check masks which, and the per-camera baseline.

See :mod:`probes.vqd` for the checks run together. **The thresholds are calibrated for frames 320 px wide** (:data:`CALIBRATION_WIDTH`)
on the labelled evaluation set of ``bench/vqd_eval.py`` (real photographs, night and
low-texture scenes, degraded with known parameters, through H.264); the README has its
precision/recall table and says how to tune them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from probes.checks import VqdName


@dataclass(frozen=True, slots=True)
class VqdCheck:
    """One diagnosis: ``ok`` is False when the picture fails this check.

    ``masked_by`` names the check that explains this one (a colour-bar screen is also "low
    contrast"; a black picture is also "dark"): a masked check is ``ok`` whatever its score,
    so a picture has one name for one fault. ``None``: judged on its own.
    """

    name: VqdName
    ok: bool
    score: float
    threshold: float
    masked_by: VqdName | None = None
    night: bool = False  # judged with the night profile (see night_thresholds)
    #: What the per-camera baseline compares besides the score (:func:`apply_baseline`):
    #: ``occlusion``: each block's flag (1: flat, in the cover's band) then each block's mean
    #: luma; ``color_cast``: the mean a*, b*. Empty for the other checks.
    detail: tuple[float, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class VqdThresholds:
    """Thresholds of every check (defaults for 320 px wide frames; each check's docstring
    says what its score is and on which side it fails)."""

    signal_uniform_min_share: float = 0.85
    signal_block_std: float = 1.0
    signal_color_tolerance: float = 3.0
    signal_exact_std: float = 0.25
    black_pixel_luma: float = 24.0
    black_max_fraction: float = 0.95
    black_max_mean_luma: float = 16.5
    dark_min_mean_luma: float = 30.0
    bright_max_mean_luma: float = 210.0
    contrast_min_rms: float = 12.0
    blur_max_reblur_ratio: float = 0.8
    noise_max_sigma: float = 8.0
    cast_max_chroma: float = 25.0
    #: With a baseline: how far (CIELAB a*b* units) the mean chroma may move from the camera's own.
    cast_max_shift: float = 20.0
    frozen_min_change: float = 1.0
    occlusion_block_px: int = 16
    occlusion_flat_std: float = 4.0
    occlusion_band_luma: float = 32.0
    occlusion_max_fraction: float = 0.65
    #: With a baseline: a flat block is a cover only where its mean luma moved from the camera's
    #: own by more than this many grey levels, or this share of its usual mean (the larger).
    occlusion_change_luma: float = 6.0
    occlusion_change_share: float = 0.1
    #: Night profile: the mean luma is under this and some light source is in view.
    night_max_mean_luma: float = 40.0
    night_light_luma: float = 180.0
    night_light_min_fraction: float = 0.0005
    night_noise_max_sigma: float = 10.0


DEFAULT_THRESHOLDS = VqdThresholds()


def make_check(
    name: VqdName, score: float, threshold: float, fail_below: bool, detail: tuple[float, ...] = ()
) -> VqdCheck:
    """A check failing when *score* is below (or above) *threshold*."""
    ok = score >= threshold if fail_below else score <= threshold
    return VqdCheck(name, bool(ok), round(float(score), 4), float(threshold), detail=detail)


#: Checks that fail when their score is *below* the threshold (the others: above).
FAILS_BELOW = frozenset({VqdName.DARK, VqdName.CONTRAST, VqdName.FROZEN})


def fails(name: VqdName, score: float, threshold: float) -> bool:
    return score < threshold if name in FAILS_BELOW else score > threshold


def failed_alone(c: VqdCheck) -> bool:
    """Whether *c* fails on its own (masks aside). Signal loss is not a score against a
    threshold alone (see :mod:`probes.vqd_signal`): its own verdict is kept, and it is never masked."""
    return not c.ok if c.name is VqdName.SIGNAL_LOSS else fails(c.name, c.score, c.threshold)


def night_thresholds(t: VqdThresholds) -> VqdThresholds:
    """The night profile: a night picture (dark, with a light source in view) is dark, flat and
    soft by nature, so black, dark, contrast, blur and occlusion cannot fail (their
    thresholds are set where no score passes them), and noise (high gain) is allowed up to
    ``night_noise_max_sigma``. Signal loss, over-exposure, colour cast and frozen are judged
    as by day. A capped lens at night has no light source: it is judged by day (``black``)."""
    return replace(
        t, black_max_fraction=1.0, dark_min_mean_luma=0.0, contrast_min_rms=0.0, blur_max_reblur_ratio=1.0,
        occlusion_max_fraction=1.0, noise_max_sigma=max(t.noise_max_sigma, t.night_noise_max_sigma),
    )


_ALL_BUT_SIGNAL = frozenset(VqdName) - {VqdName.SIGNAL_LOSS}
_TEXTURE = frozenset({VqdName.CONTRAST, VqdName.BLUR, VqdName.OCCLUSION})
#: A failed check masks the checks it explains, most telling first: one fault, one name.
#: Signal loss explains everything (a generated screen has no exposure, focus or motion);
#: black everything else; over- and under-exposure lose texture and colour; fog (low
#: contrast) is flat everywhere and in no focus; an occluder leaves nothing in focus and hides
#: the scene's motion (a covered camera whose only moving thing is behind the cover reads as
#: frozen: the cover is the fault to name).
MASKS: tuple[tuple[VqdName, frozenset[VqdName]], ...] = (
    (VqdName.SIGNAL_LOSS, _ALL_BUT_SIGNAL),
    (VqdName.BLACK, _ALL_BUT_SIGNAL - {VqdName.BLACK}),
    (VqdName.BRIGHT, _TEXTURE | {VqdName.COLOR_CAST}),
    (VqdName.DARK, _TEXTURE | {VqdName.COLOR_CAST}),
    (VqdName.CONTRAST, frozenset({VqdName.BLUR, VqdName.OCCLUSION})),
    (VqdName.OCCLUSION, frozenset({VqdName.BLUR, VqdName.FROZEN})),
)
#: With a baseline the colour check reads how far the colour moved from the camera's own
#: (:func:`cast_shift`): fog washes the colour out and a cover hides it, which moves it too,
#: so a failed contrast or occlusion also masks the colour cast there.
BASELINE_MASKS: tuple[tuple[VqdName, frozenset[VqdName]], ...] = tuple(
    (by, names | {VqdName.COLOR_CAST}) if by in (VqdName.CONTRAST, VqdName.OCCLUSION) else (by, names)
    for by, names in MASKS
)


def _blur_explains_contrast(checks: Sequence[VqdCheck], failed: set[VqdName]) -> bool:
    """Whether a failed low contrast is the blur's doing: both fail and the blur check still
    measured a soft edge (score under 1.0). A blur spreads fine texture into grey and lowers
    the RMS contrast (blurred brick, grass or gravel measure 6-10, under the limit) but keeps
    its edges, only wider; fog or haze divides every edge's strength instead, until none is
    left (the blur check then scores 1.0, "no edge", or passes on the faint edges that stay
    sharp). On the evaluation set every low-contrast picture with a failed blur and a measured
    edge is a blurred one, and every fogged one has no edge or a sharp one."""
    if not {VqdName.CONTRAST, VqdName.BLUR} <= failed:
        return False
    return any(c.name is VqdName.BLUR and c.score < 1.0 for c in checks)


def apply_masks(
    checks: Sequence[VqdCheck], masks: tuple[tuple[VqdName, frozenset[VqdName]], ...] = MASKS
) -> tuple[VqdCheck, ...]:
    """*checks* judged afresh from their scores and thresholds, then masked (see :data:`MASKS`);
    a blur that explains a low contrast (:func:`_blur_explains_contrast`) takes the contrast's
    place and masks what it would have masked."""
    failed = {c.name for c in checks if failed_alone(c)}
    masked: dict[VqdName, VqdName] = {}
    blurred = _blur_explains_contrast(checks, failed)
    for by, names in masks:
        if by is VqdName.CONTRAST and blurred and by not in masked:
            for n in (VqdName.CONTRAST, VqdName.OCCLUSION):
                masked.setdefault(n, VqdName.BLUR)
            continue
        if by in failed and by not in masked:
            for n in names:
                masked.setdefault(n, by)
    out = []
    for c in checks:
        mask = masked.get(c.name) if c.name in failed else None
        out.append(replace(c, ok=c.name not in failed or mask is not None, masked_by=mask))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ProfileBaseline:
    """What one camera's good pictures score, in one profile (mean over ``frames`` pictures)."""

    frames: int = 0
    scores: tuple[tuple[VqdName, float], ...] = ()
    #: The mean of each check's :attr:`VqdCheck.detail` (occlusion's blocks, the colour's a*, b*).
    details: tuple[tuple[VqdName, tuple[float, ...]], ...] = ()

    def score(self, name: VqdName) -> float | None:
        return next((v for n, v in self.scores if n == name), None)

    def detail(self, name: VqdName) -> tuple[float, ...]:
        return next((v for n, v in self.details if n == name), ())


#: Checks whose failure means the picture is not a camera's normal picture: never learnt.
_HARD = frozenset({VqdName.SIGNAL_LOSS, VqdName.BLACK, VqdName.BRIGHT, VqdName.FROZEN})
#: How far a baseline may move each threshold: (towards the camera's own score, with a margin,
#: but never past this limit), so a learnt baseline cannot switch a check off.
_SLACK: dict[VqdName, tuple[float, float]] = {  # name: (factor or margin, limit)
    VqdName.DARK: (0.6, 12.0),  # threshold = max(limit, 0.6 x usual mean luma)
    VqdName.CONTRAST: (0.5, 3.0),  # threshold = max(limit, 0.5 x usual contrast)
    VqdName.BLUR: (0.45, 1.0),  # threshold = usual + 0.45 x (1 - usual): a camera on a plain wall has few edges
    VqdName.NOISE: (1.5, 20.0),  # threshold = min(limit, 1.5 x usual)
    VqdName.COLOR_CAST: (12.0, 60.0),  # threshold = min(limit, usual + 12)
    VqdName.OCCLUSION: (0.15, 1.0),  # (only before the blocks are learnt: see covered_share)
}


def _relaxed(name: VqdName, threshold: float, usual: float) -> float:
    k, limit = _SLACK[name]
    if name in (VqdName.DARK, VqdName.CONTRAST):
        return min(threshold, max(limit, k * usual))
    if name is VqdName.NOISE:
        return max(threshold, min(limit, k * usual))
    if name is VqdName.BLUR:  # a share k of what is left between the camera's usual score and 1.0 (no edge)
        return max(threshold, min(limit, usual + k * (1.0 - usual)))
    return max(threshold, min(limit, usual + k))


@dataclass(frozen=True, slots=True)
class VqdBaseline:
    """One camera's baseline, learnt from its first ``learn_frames`` good pictures per profile
    (day and night apart): a camera that always looks like that (a plain wall, a soft lens, a
    green field, a grainy sensor) is judged against its own usual scores, within limits. The
    caller keeps one per camera and passes it to :func:`apply_baseline`, which returns it
    updated. A picture with signal loss, black, over-exposure or a frozen picture is never
    learnt; signal loss, black, bright and frozen are never relaxed."""

    day: ProfileBaseline = ProfileBaseline()
    night: ProfileBaseline = ProfileBaseline()
    learn_frames: int = 3


def _learn(b: ProfileBaseline, checks: Sequence[VqdCheck], limit: int) -> ProfileBaseline:
    if b.frames >= limit or any(c.name in _HARD and failed_alone(c) for c in checks):
        return b
    n = b.frames
    scores = tuple(
        (c.name, c.score if (old := b.score(c.name)) is None else (old * n + c.score) / (n + 1))
        for c in checks if c.name in _SLACK
    )
    details = []
    for c in checks:
        if c.name in _COMPARED and c.detail:
            old_d = b.detail(c.name)
            if len(old_d) == len(c.detail):
                details.append((c.name, tuple((o * n + v) / (n + 1) for o, v in zip(old_d, c.detail, strict=True))))
            else:  # (first picture, or the picture's size changed: start again from this one)
                details.append((c.name, c.detail))
    return ProfileBaseline(n + 1, scores, tuple(details))


#: Checks judged against the camera's own measurements (:attr:`VqdCheck.detail`) once learnt.
_COMPARED = frozenset({VqdName.OCCLUSION, VqdName.COLOR_CAST})


def covered_share(detail: tuple[float, ...], usual: tuple[float, ...], t: VqdThresholds) -> float | None:
    """Occlusion against the camera's own picture: the share of blocks that are flat and in the
    cover's band (as :func:`probes.vqd_checks.flat_band`) **and** changed: they were not flat in
    the camera's good pictures (texture lost), or their mean luma moved from the camera's usual
    mean by more than ``occlusion_change_luma`` grey levels (or ``occlusion_change_share`` of
    it; a cover at the lens is another surface). A camera on a plain wall or a soft grey surface
    is flat in one band every day (the stateless check cannot tell it from a cover): only a
    change counts there, and a blur, which keeps every block's mean, is not read as a cover.
    None when the block layouts differ."""
    n = len(detail) // 2
    if n == 0 or len(usual) != len(detail):
        return None
    # A change of the whole picture's exposure or gain (or a cast's effect on luma) moves every
    # block alike, the flat band and the rest: then the blocks are compared at that gain. When
    # the band moved and the rest did not (or the other way round), one of them is a cover.
    every = [(m / u, f >= 0.5) for f, m, u in zip(detail[:n], detail[n:], usual[n:], strict=True) if u >= _GAIN_MIN_LUMA]
    band = [r for r, flat in every if flat]
    rest = [r for r, flat in every if not flat]
    gain = 1.0
    if len(rest) < _GAIN_MIN_VISIBLE * n:
        gain = statistics.median(band) if band else 1.0  # one surface: all of it moved alike
    elif band:
        g_band, g_rest = statistics.median(band), statistics.median(rest)
        gain = g_rest if abs(g_band - g_rest) <= _GAIN_AGREE * g_rest else 1.0
    covered = 0
    for flag, usual_flag, mean, was in zip(detail[:n], usual[:n], detail[n:], usual[n:], strict=True):
        expected = gain * was
        if flag >= 0.5 and (
            usual_flag < 0.5 or abs(mean - expected) > max(t.occlusion_change_luma, t.occlusion_change_share * expected)
        ):
            covered += 1
    return covered / n


#: Blocks darker than this do not tell the picture's gain (a ratio of two small numbers).
_GAIN_MIN_LUMA = 8.0
#: The share of blocks past the flat band that is enough to read the picture's gain there.
_GAIN_MIN_VISIBLE = 0.08
#: The flat band and the rest moved alike (a gain of the whole picture) within this share.
_GAIN_AGREE = 0.15


def cast_shift(detail: tuple[float, ...], usual: tuple[float, ...]) -> float | None:
    """Colour cast against the camera's own colour: how far (CIELAB a*b*) the picture's mean
    chroma moved from the camera's usual one. A scene whose colours are not grey on average (a
    warm room, a lawn, a beige wall) is its own grey: a cast moves it, in any direction, even
    towards neutral (a blue cast over a warm scene). None without both measurements."""
    if len(detail) != 2 or len(usual) != 2:
        return None
    return math.hypot(detail[0] - usual[0], detail[1] - usual[1])


def apply_baseline(
    checks: Sequence[VqdCheck], baseline: VqdBaseline, thresholds: VqdThresholds = DEFAULT_THRESHOLDS
) -> tuple[tuple[VqdCheck, ...], VqdBaseline]:
    """*checks* (from :func:`probes.vqd.run_vqd`) judged against *baseline*, and *baseline*
    with this picture learnt (while it is still learning and the picture is good). Occlusion
    and colour cast are judged against the camera's own measurements (:func:`covered_share`,
    :func:`cast_shift`, with *thresholds*); dark, contrast, blur and noise against its usual
    scores, within limits (:data:`_SLACK`)."""
    night = any(c.night for c in checks)
    prof = baseline.night if night else baseline.day
    prof = _learn(prof, checks, baseline.learn_frames)
    new = replace(baseline, night=prof) if night else replace(baseline, day=prof)
    judged = []
    for c in checks:
        compared = _compared(c, prof.detail(c.name), thresholds) if c.name in _COMPARED else None
        if compared is not None:
            judged.append(compared)
            continue
        usual = prof.score(c.name) if c.name in _SLACK else None
        judged.append(c if usual is None else replace(c, threshold=_relaxed(c.name, c.threshold, usual)))
    return apply_masks(judged, BASELINE_MASKS), new


def _compared(c: VqdCheck, usual: tuple[float, ...], t: VqdThresholds) -> VqdCheck | None:
    """*c* judged against the camera's own measurements (None: not learnt, judge as before)."""
    if c.name is VqdName.OCCLUSION:
        share = covered_share(c.detail, usual, t)
        # (the threshold run_vqd used: the night profile's lets no occlusion fail)
        return None if share is None else replace(c, score=round(share, 4))
    shift = cast_shift(c.detail, usual)
    return None if shift is None else replace(c, score=round(shift, 4), threshold=t.cast_max_shift)
