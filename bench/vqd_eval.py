"""Evaluation of the picture checks (VQD) on a labelled set, at the default thresholds.

    .venv/bin/python bench/vqd_eval.py [--crf 26] [--quick] [--show-errors]

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
and the time per sample (``run_vqd``). Goal (issue 14): precision >= 0.95 and recall >= 0.90
for every check, and no check failing on a clean scene.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crf", type=int, default=26, help="x264 constant rate factor (higher: more compression)")
    ap.add_argument("--quick", action="store_true", help="4 photographs instead of 12 (a faster run)")
    ap.add_argument("--show-errors", action="store_true", help="list every sample whose verdict is wrong")
    args = ap.parse_args()
    t0 = time.perf_counter()
    photos = vs.PHOTOS[:4] if args.quick else vs.PHOTOS
    samples = vs.samples(vs.scenes(photos))
    t1 = time.perf_counter()
    decoded = vs.h264_roundtrip([s.frames for s in samples], crf=args.crf)
    t2 = time.perf_counter()
    pairs = [(downscale(f[vs.FIRST]), downscale(f[vs.SECOND])) for f in decoded]
    baselines: dict[str, VqdBaseline] = {}
    for s, (a, b) in zip(samples, pairs, strict=True):
        if s.degradation == CLEAN:  # the camera's first good pictures
            base = VqdBaseline()
            for x, y in ((a, b), (b, a)):
                _, base = apply_baseline(run_vqd(x, y), base)
            baselines[s.scene] = replace(base, learn_frames=0)  # learnt: the degraded samples are not
    stateless, with_base = [], []
    t3 = time.perf_counter()
    for s, (a, b) in zip(samples, pairs, strict=True):
        checks = run_vqd(a, b)
        name = f"{s.scene}/{s.degradation}"
        stateless.append((name, s.label, _failed(checks)))
        judged, _ = apply_baseline(checks, baselines.get(s.scene, VqdBaseline()))
        with_base.append((name, s.label, _failed(judged)))
    t4 = time.perf_counter()
    kinds = Counter(s.kind for s in samples)
    print(f"# VQD evaluation: {len(samples)} samples ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}),"
          f" H.264 crf {args.crf}, 640x360 -> 320 px")
    print(f"\nbuilt in {t1 - t0:.1f} s, H.264 round trip {t2 - t1:.1f} s,"
          f" checks {1000 * (t4 - t3) / len(samples):.2f} ms per sample (run_vqd on two frames + baseline)")
    ok_a, err_a = _table("stateless (run_vqd alone)", stateless)
    ok_b, err_b = _table("with the per-camera baseline (learnt from the clean clip)", with_base)
    if args.show_errors:
        print("\nwrong verdicts, stateless:" + "".join(f"\n  {e}" for e in err_a))
        print("\nwrong verdicts, with baseline:" + "".join(f"\n  {e}" for e in err_b))
    print(f"\ngoal met: stateless {'yes' if ok_a else 'NO'}, with baseline {'yes' if ok_b else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
