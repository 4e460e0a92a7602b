"""Evaluation of the picture checks (VQD) on a labelled set, at the default thresholds.

    .venv/bin/python bench/vqd_eval.py [--crf 26] [--quick] [--show-errors] [--held-out] [--cache DIR]

The set (``tests/probes/vqd_scenes.py``): scikit-image's real photographs, night scenes
(a small bright object on a 99 % dark frame, photographs turned into night streets with
lamps, the Hubble deep field) and low-texture scenes (smooth gradients with a moving bar,
a plain wall, a soft grey surface), each degraded with known parameters (black, darkening,
over-exposure, fog, blur sigma 2/3/5, snow, colour casts, an occluder over 80/90 %,
freeze) plus signal-loss screens (colour bars, uniform screens, vendor "no signal"
screens). Every clip goes through one H.264 encode/decode (libx264, ``--crf``); the checks
read two frames of each clip, downscaled to 320 px, as the collector's frame stage does.

Two verdicts per sample:

* **stateless**: :func:`probes.vqd.run_vqd` alone (what ``camwatch probe --video`` shows);
* **baseline**: the same, judged against the camera's :class:`probes.vqd.VqdBaseline`
  learnt from its clean clip's two frames (what the collector's video tier does).

It prints, for each, a confusion table (rows: the true fault; columns: the checks that
failed; a sample can fail several) and precision/recall per check (a check that fails on
a sample labelled otherwise is a false positive), the clean scenes that failed anything,
and the CPU time per sample (``run_vqd`` and the baseline), with the load average. ``--held-out`` adds the held-out scenes
(``vqd_scenes.held_out_scenes``: photographs, a night street, a wall and a sky never looked at
while tuning) and prints their tables apart, so a change is shown to hold on scenes it was not
made for. ``--cache DIR`` keeps the decoded frames (keyed by the scene module's text and the
options), so a second run only runs the checks. Goal (issue 14): precision >= 0.95 and recall >= 0.90
for every check, and no check failing on a clean scene.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from probes.vqd import VqdBaseline, VqdCheck, VqdName, apply_baseline, downscale, run_vqd  # noqa: E402
from tests.probes import vqd_scenes as vs  # noqa: E402

CLEAN = "clean"


def _failed(checks: tuple[VqdCheck, ...]) -> set[str]:
    return {c.name.value for c in checks if not c.ok}


def _table(title: str, rows: list[tuple[str, str | None, set[str]]]) -> tuple[bool, list[str]]:
    names = [n.value for n in VqdName]
    labels = [CLEAN, *names]
    conf: dict[str, Counter[str]] = {lab: Counter() for lab in labels}
    counts: Counter[str] = Counter()
    for _, label, failed in rows:
        lab = label or CLEAN
        counts[lab] += 1
        conf[lab].update(failed)
        if not failed:
            conf[lab]["(none)"] += 1
    short = {n: n[:7] for n in names}
    print(f"\n## {title}\n")
    print("| true \\ failed | n | " + " | ".join(short[n] for n in names) + " | (none) |")
    print("|---|---:|" + "---:|" * (len(names) + 1))
    for lab in labels:
        if counts[lab]:
            cells = " | ".join(str(conf[lab][n] or "") for n in names)
            print(f"| {lab} | {counts[lab]} | {cells} | {conf[lab]['(none)'] or ''} |")
    print("\n| check | precision | recall | tp | fp | fn |")
    print("|---|---:|---:|---:|---:|---:|")
    met = True
    for n in names:
        tp = conf[n][n]
        fp = sum(conf[lab][n] for lab in labels if lab != n)
        fn = counts[n] - tp
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / counts[n] if counts[n] else 1.0
        met &= p >= 0.95 and r >= 0.90
        print(f"| {n} | {p:.3f} | {r:.3f} | {tp} | {fp} | {fn} |")
    errors = [f"{scene} [{label or CLEAN}] failed {sorted(failed) or 'nothing'}"
              for scene, label, failed in rows if failed != ({label} if label else set())]
    clean_failed = [e for e in errors if f"[{CLEAN}]" in e]
    print(f"\nclean samples that failed a check: {len(clean_failed)} of {counts[CLEAN]}"
          + "".join(f"\n  {e}" for e in clean_failed))
    return met and not clean_failed, errors


Pairs = list[tuple[np.ndarray, np.ndarray]]
Row = tuple[str, str | None, set[str]]


@dataclass(frozen=True)
class Meta:
    """What the verdicts need of a sample (its frames are in the pairs)."""

    scene: str
    kind: str
    degradation: str
    label: str | None


def _pairs(make: Callable[[], list[vs.Sample]], key: str, crf: int, cache: Path | None) -> tuple[list[Meta], Pairs, float]:
    """Every sample's labels and two 320 px frames after H.264 (from *cache* when it has them,
    keyed by the scene module's text, *key* and *crf*)."""
    source = Path(vs.__file__).read_bytes() + (Path(vs.__file__).parent / "vqd_screens.py").read_bytes()
    digest = hashlib.sha256(source + f"{key}|{crf}".encode()).hexdigest()[:16]
    path = cache / f"vqd_eval_{digest}.npz" if cache else None
    if path is not None and path.exists():
        with np.load(path) as z:
            metas = [Meta(str(sc), str(k), str(d), str(lab) or None) for sc, k, d, lab in z["meta"]]
            return metas, list(zip(z["a"], z["b"], strict=True)), 0.0
    samples = make()
    metas = [Meta(s.scene, s.kind, s.degradation, s.label) for s in samples]
    t = time.perf_counter()
    decoded = vs.h264_roundtrip([s.frames for s in samples], crf=crf)
    pairs = [(downscale(f[vs.FIRST]), downscale(f[vs.SECOND])) for f in decoded]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = np.array([(m.scene, m.kind, m.degradation, m.label or "") for m in metas])
        np.savez(path, a=np.stack([a for a, _ in pairs]), b=np.stack([b for _, b in pairs]), meta=meta)
    return metas, pairs, time.perf_counter() - t


def _judge(samples: list[Meta], pairs: Pairs) -> tuple[list[Row], list[Row], float]:
    """Stateless and baseline verdicts of every sample, and the checks' time per sample."""
    baselines: dict[str, VqdBaseline] = {}
    for s, (a, b) in zip(samples, pairs, strict=True):
        if s.degradation == CLEAN:  # the camera's first good pictures
            base = VqdBaseline()
            for x, y in ((a, b), (b, a)):
                _, base = apply_baseline(run_vqd(x, y), base)
            baselines[s.scene] = replace(base, learn_frames=0)  # learnt: the degraded samples are not
    stateless: list[Row] = []
    with_base: list[Row] = []
    t = time.process_time()  # CPU, not wall: the box is shared
    for s, (a, b) in zip(samples, pairs, strict=True):
        checks = run_vqd(a, b)
        name = f"{s.scene}/{s.degradation}"
        stateless.append((name, s.label, _failed(checks)))
        judged, _ = apply_baseline(checks, baselines.get(s.scene, VqdBaseline()))
        with_base.append((name, s.label, _failed(judged)))
    return stateless, with_base, (time.process_time() - t) / max(1, len(samples))


def _report(title: str, rows: tuple[list[Row], list[Row]], show_errors: bool) -> bool:
    ok_a, err_a = _table(f"{title}: stateless (run_vqd alone)", rows[0])
    ok_b, err_b = _table(f"{title}: with the per-camera baseline (learnt from the clean clip)", rows[1])
    if show_errors:
        print(f"\nwrong verdicts, {title}, stateless:" + "".join(f"\n  {e}" for e in err_a))
        print(f"\nwrong verdicts, {title}, with baseline:" + "".join(f"\n  {e}" for e in err_b))
    print(f"\ngoal met ({title}): stateless {'yes' if ok_a else 'NO'}, with baseline {'yes' if ok_b else 'NO'}")
    return ok_a and ok_b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crf", type=int, default=26, help="x264 constant rate factor (higher: more compression)")
    ap.add_argument("--quick", action="store_true", help="4 photographs instead of 12 (a faster run)")
    ap.add_argument("--show-errors", action="store_true", help="list every sample whose verdict is wrong")
    ap.add_argument("--held-out", action="store_true", help="also judge the held-out scenes, in tables of their own")
    ap.add_argument("--cache", type=Path, default=None, help="keep the decoded frames in this folder")
    args = ap.parse_args()
    t0 = time.perf_counter()
    photos = vs.PHOTOS[:4] if args.quick else vs.PHOTOS
    sets: list[tuple[str, str, Callable[[], list[vs.Sample]]]] = [
        ("evaluation set", "|".join(photos), lambda: vs.samples(vs.scenes(photos)))]
    if args.held_out:
        sets.append(("held-out scenes", "held-out", lambda: vs.samples(vs.held_out_scenes(), with_screens=False)))
    judged = []
    coded = 0.0
    for title, key, make in sets:
        metas, pairs, dt = _pairs(make, key, args.crf, args.cache)
        coded += dt
        judged.append((title, metas, _judge(metas, pairs)))
    every = sum(len(s) for _, s, _ in judged)
    per = sum(j[2] * len(s) for _, s, j in judged) / max(1, every)
    for title, samples, _ in judged:
        kinds = Counter(s.kind for s in samples)
        print(f"# VQD {title}: {len(samples)} samples ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}),"
              f" H.264 crf {args.crf}, 640x360 -> 320 px")
    print(f"\nbuilt and coded in {time.perf_counter() - t0:.1f} s (H.264 {coded:.1f} s; 0: cached),"
          f" checks {1000 * per:.2f} ms CPU per sample (run_vqd on two frames + baseline;"
          f" load average {os.getloadavg()[0]:.1f})")
    met = [_report(title, (j[0], j[1]), args.show_errors) for title, _, j in judged]
    print(f"\ngoal met everywhere: {'yes' if all(met) else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
