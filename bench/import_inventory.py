"""Benchmark: importing a large county inventory into SQLite.

    .venv/bin/python bench/import_inventory.py [--rows 100000] [--format csv|xlsx] [--keep DIR]
                                               [--cli] [--profile] [--max-seconds 900]

Goal (issue 3): a 100k-row file imports in under a minute on SQLite. In a temporary
directory it generates a deterministic synthetic inventory (``inventory.synthetic``) of
``--rows`` cameras (plus the planned-but-unbuilt points the generator adds, every 9th
point, as camera-less rows), as CSV UTF-8 with BOM or as XLSX, migrates a fresh SQLite
database with ``inventory.db.upgrade`` and times, each phase in its own fresh process
(as each ``camwatch`` command is), so peak RSS is per phase:

1. ``first``: import into the empty database (every camera new);
2. ``reimport``: the same file again; must plan 0 changes (asserted);
3. ``export`` to CSV, then ``reexport``: import of that export; must plan 0 changes;
4. ``baseline``: a minimal hand-written import of the same file into a second database
   (csv module / openpyxl + stdlib sqlite3 ``executemany`` into equivalent tables, same
   unique constraints and pragmas, no validation, no credentials) to show the overhead;
5. with ``--cli``: ``camwatch inventory import`` end to end into a third fresh database.

Per phase: wall time, CPU time (user+system, all threads), rows/s and peak RSS; per stage
of ``import_file`` (read, parse, load state, plan, write), measured by wrapping those
functions from the outside. The last line reads like
``import 100000 rows: 23.4 s (goal < 60 s) PASS; baseline 3.1 s; ratio 7.5x``; the exit
status is 1 when the goal is missed, 2 when an assertion or a phase fails. With fewer
rows than ``--goal-rows`` the goal is scaled linearly. ``--profile`` also runs the first
import and the re-import under cProfile and prints the top functions (slower; not timed).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGES = ("read", "parse", "load", "plan", "write")


# -- measurement helpers ---------------------------------------------------------------------

def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass(slots=True)
class Clock:
    wall: float = 0.0
    cpu: float = 0.0


def _wrap_sync(clock: Clock, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        w0, c0 = time.perf_counter(), cpu_s()
        try:
            return fn(*args, **kwargs)
        finally:
            clock.wall += time.perf_counter() - w0
            clock.cpu += cpu_s() - c0
    return wrapper


def _wrap_async(clock: Clock, fn: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        w0, c0 = time.perf_counter(), cpu_s()
        try:
            return await fn(*args, **kwargs)
        finally:
            clock.wall += time.perf_counter() - w0
            clock.cpu += cpu_s() - c0
    return wrapper


# -- input file ------------------------------------------------------------------------------

MAX_TOWNSHIPS = 100


def spec_for(cameras: int) -> Any:
    """A spec that keeps the county at most MAX_TOWNSHIPS townships.

    The generator's defaults (12 villages x 6 points per township) give one township per
    ~64 cameras; past 255 townships its parent addresses (127.21.<t % 256>.<v>) repeat and
    past 899 its township codes overflow, so large files need more villages per township.
    Village numbers stay below 255 (last octet of the parent address).
    """
    from inventory.synthetic import SyntheticSpec

    base = SyntheticSpec()
    per_village = base.points_per_village
    points = cameras * base.unbuilt_every // (base.unbuilt_every - 1) + 1
    villages = max(base.villages_per_township, -(-points // (MAX_TOWNSHIPS * per_village)))
    if villages > 254:
        per_village = -(-points // (MAX_TOWNSHIPS * 254))
        villages = 254
    return SyntheticSpec(cameras=cameras, villages_per_township=villages, points_per_village=per_village)


def generate(path: Path, cameras: int) -> int:
    """Write the synthetic inventory; returns the number of data rows."""
    from inventory.synthetic import rows

    headers, it = rows(spec_for(cameras), "zh")
    n = 0
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(headers)
            for r in it:
                w.writerow(r)
                n += 1
        return n
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("摄像机")
    ws.append(headers)
    for r in it:
        ws.append(r)
        n += 1
    wb.save(path)
    return n


# -- child phases (each in a fresh process) --------------------------------------------------

def _plan_counts(plan: Any) -> dict[str, Any]:
    from inventory.messages import Severity

    counts = {k: len(getattr(plan, k)) for k in (
        "region_new", "region_changed", "point_new", "point_changed", "point_retired", "device_new",
        "device_changed", "camera_new", "camera_changed", "camera_retired")}
    counts["camera_unchanged"] = plan.camera_unchanged
    counts["errors"] = sum(1 for i in plan.issues if i.severity is Severity.ERROR)
    counts["warnings"] = sum(1 for i in plan.issues if i.severity is Severity.WARNING)
    counts["first_issues"] = [f"row {i.row} {i.column}: {i.code}" for i in plan.issues[:3]]
    counts["changed_fields"] = sorted({f for c in plan.camera_changed for f in c.fields})
    counts["empty"] = plan.empty
    return counts


def child_import(db_url: str, path: str, key: str) -> dict[str, Any]:
    import uvloop

    import inventory.importer as imp
    from inventory.db import create_engine
    from inventory.secrets import SecretBox

    clocks = {s: Clock() for s in STAGES}
    imp.read_table = _wrap_sync(clocks["read"], imp.read_table)
    imp.parse_table = _wrap_sync(clocks["parse"], imp.parse_table)
    imp.load_state = _wrap_async(clocks["load"], imp.load_state)
    imp.build_plan = _wrap_sync(clocks["plan"], imp.build_plan)
    imp.apply_plan = _wrap_async(clocks["write"], imp.apply_plan)
    ticks: dict[str, list[int]] = {}

    def progress(label: str, total: int) -> Callable[[int], None]:
        ticks[label] = [total, 0]

        def tick(n: int) -> None:
            ticks[label][1] += n
        return tick

    async def go() -> Any:
        engine = create_engine(db_url)
        try:
            return await imp.import_file(engine, path, SecretBox(key), progress=progress)
        finally:
            await engine.dispose()

    rss0 = rss_mb()
    w0, c0 = time.perf_counter(), cpu_s()
    outcome = uvloop.run(go())
    wall, cpu = time.perf_counter() - w0, cpu_s() - c0
    return {"wall": wall, "cpu": cpu, "rss0": rss0, "peak": peak_rss_mb(), "written": outcome.written,
            "stages": {s: [c.wall, c.cpu] for s, c in clocks.items()}, "ticks": ticks,
            "plan": _plan_counts(outcome.plan)}


def child_export(db_url: str, path: str) -> dict[str, Any]:
    import uvloop

    from inventory.db import create_engine
    from inventory.export import export_file

    async def go() -> int:
        engine = create_engine(db_url)
        try:
            return await export_file(engine, path)
        finally:
            await engine.dispose()

    rss0 = rss_mb()
    w0, c0 = time.perf_counter(), cpu_s()
    n = uvloop.run(go())
    return {"wall": time.perf_counter() - w0, "cpu": cpu_s() - c0, "rss0": rss0, "peak": peak_rss_mb(), "rows": n}


BASELINE_SCHEMA = """
CREATE TABLE regions (code TEXT PRIMARY KEY, name TEXT NOT NULL, level TEXT NOT NULL,
                      parent_code TEXT REFERENCES regions(code));
CREATE INDEX ix_regions_parent ON regions(parent_code);
CREATE TABLE points (id INTEGER PRIMARY KEY, village_code TEXT NOT NULL REFERENCES regions(code), name TEXT NOT NULL,
                     kind TEXT, lon REAL, lat REAL, planned INTEGER, UNIQUE (village_code, name));
CREATE INDEX ix_points_village ON points(village_code);
CREATE TABLE devices (id INTEGER PRIMARY KEY, host TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
                      region_code TEXT REFERENCES regions(code));
CREATE TABLE cameras (id INTEGER PRIMARY KEY, point_id INTEGER NOT NULL REFERENCES points(id), name TEXT NOT NULL,
                      gb_id TEXT UNIQUE, host TEXT NOT NULL, rtsp_port INTEGER, rtsp_path TEXT, onvif_port INTEGER,
                      username TEXT, vendor TEXT, model TEXT, contractor TEXT, lifecycle TEXT,
                      parent_device_id INTEGER REFERENCES devices(id), installed_on TEXT,
                      UNIQUE (host, rtsp_port, rtsp_path));
CREATE INDEX ix_cameras_point ON cameras(point_id);
CREATE INDEX ix_cameras_parent ON cameras(parent_device_id);
CREATE INDEX ix_cameras_contractor ON cameras(contractor);
"""


def _baseline_rows(path: str) -> Iterator[list[str]]:
    if path.endswith(".csv"):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            yield from csv.reader(fh)
        return
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        for row in wb.worksheets[0].iter_rows(values_only=True):
            yield ["" if v is None else str(v) for v in row]
    finally:
        wb.close()


def child_baseline(db_path: str, path: str) -> dict[str, Any]:
    """The least an importer must do: read, dedupe regions/points/devices, insert, link ids."""
    from inventory.columns import column_for

    def opt(v: str) -> str | None:
        return v or None

    rss0 = rss_mb()
    w0, c0 = time.perf_counter(), cpu_s()
    it = _baseline_rows(path)
    idx = {column_for(h): i for i, h in enumerate(next(it))}
    g = {k: idx[k] for k in idx if k}
    regions: dict[str, tuple[str, str, str, str | None]] = {}
    points: dict[tuple[str, str], tuple[Any, ...]] = {}
    devices: dict[str, tuple[str, str, str]] = {}
    cams: list[tuple[Any, ...]] = []
    for r in it:
        county, town, village = r[g["county_code"]], r[g["township_code"]], r[g["village_code"]]
        regions.setdefault(county, (county, r[g["county"]], "county", None))
        regions.setdefault(town, (town, r[g["township"]], "township", county))
        regions.setdefault(village, (village, r[g["village"]], "village", town))
        pkey = (village, r[g["point"]])
        points.setdefault(pkey, (village, r[g["point"]], opt(r[g["point_kind"]]), float(r[g["lon"]]),
                                 float(r[g["lat"]]), r[g["planned"]] == "是"))
        if not r[g["host"]]:
            continue
        parent = r[g["parent"]]
        pname, _, phost = parent.rpartition("@")
        if phost:
            devices.setdefault(phost, (phost, pname, village))
        cams.append((pkey, phost or None, r[g["name"]], opt(r[g["gb_id"]]), r[g["host"]], int(r[g["rtsp_port"]]),
                     r[g["rtsp_path"]], int(r[g["onvif_port"]]), opt(r[g["username"]]), opt(r[g["vendor"]]),
                     opt(r[g["model"]]), opt(r[g["contractor"]]), r[g["lifecycle"]], opt(r[g["installed_on"]])))
    con = sqlite3.connect(db_path)
    try:
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        with con:
            for level in ("county", "township", "village"):
                con.executemany("INSERT INTO regions VALUES (?,?,?,?)", [v for v in regions.values() if v[2] == level])
            con.executemany("INSERT INTO points (village_code, name, kind, lon, lat, planned) VALUES (?,?,?,?,?,?)",
                            list(points.values()))
            con.executemany("INSERT INTO devices (host, name, region_code) VALUES (?,?,?)", list(devices.values()))
            pid = {(v, n): i for i, v, n in con.execute("SELECT id, village_code, name FROM points")}
            did = {h: i for i, h in con.execute("SELECT id, host FROM devices")}
            con.executemany(
                "INSERT INTO cameras (point_id, parent_device_id, name, gb_id, host, rtsp_port, rtsp_path, onvif_port,"
                " username, vendor, model, contractor, lifecycle, installed_on) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(pid[c[0]], did.get(c[1]) if c[1] else None, *c[2:]) for c in cams])
        n_cams = con.execute("SELECT count(*) FROM cameras").fetchone()[0]
    finally:
        con.close()
    return {"wall": time.perf_counter() - w0, "cpu": cpu_s() - c0, "rss0": rss0, "peak": peak_rss_mb(),
            "cameras": n_cams, "points": len(points)}


def child_main(spec: dict[str, Any]) -> None:
    kind = spec["kind"]
    prof = None
    if spec.get("profile"):
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    if kind == "import":
        out = child_import(spec["db"], spec["file"], os.environ["BENCH_SECRET_KEY"])
    elif kind == "export":
        out = child_export(spec["db"], spec["file"])
    elif kind == "baseline":
        out = child_baseline(spec["db"], spec["file"])
    else:
        raise SystemExit(f"unknown child kind {kind!r}")
    if prof is not None:
        prof.disable()
        prof.dump_stats(spec["profile"])
    print("BENCH-RESULT " + json.dumps(out))


# -- parent ----------------------------------------------------------------------------------

class PhaseFailed(Exception):
    pass


class Runner:
    def __init__(self, deadline: float, key: str) -> None:
        self.deadline = deadline
        self.env = dict(os.environ, BENCH_SECRET_KEY=key, CAMWATCH_SECRET_KEY=key, PYTHONPATH=str(ROOT))

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise PhaseFailed("time budget (--max-seconds) exhausted")
        return left

    def child(self, spec: dict[str, Any]) -> dict[str, Any]:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=self.remaining(), env=self.env)
        except subprocess.TimeoutExpired:
            raise PhaseFailed(f"{spec['kind']} did not finish within the time budget") from None
        for line in reversed(p.stdout.splitlines()):
            if line.startswith("BENCH-RESULT "):
                return json.loads(line[len("BENCH-RESULT "):])
        raise PhaseFailed(f"{spec['kind']} failed (exit {p.returncode}): {p.stderr.strip()[-2000:]}")

    def cli(self, args: list[str]) -> float:
        exe = Path(sys.executable).with_name("camwatch")
        w0 = time.perf_counter()
        try:
            p = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=self.remaining(),
                               env=dict(self.env, CAMWATCH_LANG="en"))
        except subprocess.TimeoutExpired:
            raise PhaseFailed("camwatch did not finish within the time budget") from None
        if p.returncode != 0:
            raise PhaseFailed(f"camwatch {args[2:]} failed (exit {p.returncode}): {p.stderr.strip()[-1000:]}")
        return time.perf_counter() - w0


def phase_line(name: str, r: dict[str, Any], rows: int) -> str:
    return (f"{name:<10} wall {r['wall']:7.2f} s  cpu {r['cpu']:7.2f} s  {rows / r['wall']:9,.0f} rows/s  "
            f"rss {r['rss0']:5.0f} -> peak {r['peak']:6.0f} MB")


def stage_line(r: dict[str, Any]) -> str:
    st = r["stages"]
    other = r["wall"] - sum(w for w, _ in st.values())
    parts = [f"{s} {st[s][0]:.2f}" for s in STAGES] + [f"other {other:.2f}"]
    return "           stages (wall s): " + ", ".join(parts)


def check_unchanged(name: str, r: dict[str, Any], cameras: int) -> None:
    p = r["plan"]
    if p["errors"] or not p["empty"] or r["written"] or p["camera_unchanged"] != cameras:
        raise PhaseFailed(f"{name}: expected 0 changes and {cameras} unchanged cameras, got {json.dumps(p, ensure_ascii=False)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="cameras in the file (default 100000)")
    ap.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    ap.add_argument("--keep", type=Path, help="keep the files and databases in this directory")
    ap.add_argument("--goal-seconds", type=float, default=60.0)
    ap.add_argument("--goal-rows", type=int, default=100_000, help="the goal is scaled linearly to --rows")
    ap.add_argument("--cli", action="store_true", help="also time `camwatch inventory import` end to end")
    ap.add_argument("--profile", action="store_true", help="also profile first import and re-import (cProfile)")
    ap.add_argument("--top", type=int, default=25, help="functions shown per profile")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="time budget for the whole run")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(json.loads(args.child))
        return 0
    if args.rows < 1:
        ap.error("--rows must be positive")

    from inventory.db import upgrade
    from inventory.secrets import generate_key

    work = Path(tempfile.mkdtemp(prefix="camwatch-bench-"))
    runner = Runner(time.monotonic() + args.max_seconds, generate_key())
    try:
        return run(args, work, runner, upgrade)
    except PhaseFailed as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for f in work.iterdir():
                shutil.move(str(f), args.keep / f.name)
            print(f"files kept in {args.keep}")
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path, runner: Runner, upgrade: Callable[[str], None]) -> int:
    n = args.rows
    src = work / f"inventory.{args.format}"
    w0 = time.perf_counter()
    data_rows = generate(src, n)
    spec = spec_for(n)
    print(f"generated {src.name}: {n:,} cameras, {data_rows:,} data rows, {src.stat().st_size / 2**20:.1f} MB "
          f"in {time.perf_counter() - w0:.1f} s ({spec.villages_per_township} villages/township, "
          f"{spec.points_per_village} points/village)")
    db = work / "camwatch.db"
    url = f"sqlite:///{db}"
    upgrade(url)

    first = runner.child({"kind": "import", "db": url, "file": str(src)})
    print(phase_line("first", first, data_rows))
    print(stage_line(first))
    p = first["plan"]
    if p["errors"] or not first["written"] or p["camera_new"] != n:
        raise PhaseFailed(f"first import: expected {n} new cameras, got {json.dumps(p, ensure_ascii=False)}")
    print(f"           added: {p['camera_new']:,} cameras, {p['point_new']:,} points, {p['region_new']:,} regions, "
          f"{p['device_new']:,} devices; {p['warnings']} warnings; progress ticks {first['ticks']}")

    again = runner.child({"kind": "import", "db": url, "file": str(src)})
    print(phase_line("reimport", again, data_rows))
    print(stage_line(again))
    check_unchanged("re-import", again, n)

    exported = work / "export.csv"
    ex = runner.child({"kind": "export", "db": url, "file": str(exported)})
    print(phase_line("export", ex, ex["rows"]))
    back = runner.child({"kind": "import", "db": url, "file": str(exported)})
    print(phase_line("reexport", back, ex["rows"]))
    print(stage_line(back))
    check_unchanged("re-import of the export", back, n)
    print("           re-import and re-import of the export: 0 changes (asserted)")

    bdb = work / "baseline.db"
    con = sqlite3.connect(bdb)
    con.executescript(BASELINE_SCHEMA)
    con.close()
    base = runner.child({"kind": "baseline", "db": str(bdb), "file": str(src)})
    print(phase_line("baseline", base, data_rows))
    if base["cameras"] != n:
        raise PhaseFailed(f"baseline stored {base['cameras']} cameras, expected {n}")

    if args.cli:
        cdb = f"sqlite:///{work / 'cli.db'}"
        runner.cli(["--db", cdb, "init"])
        t = runner.cli(["--db", cdb, "inventory", "import", str(src)])
        print(f"{'cli':<10} wall {t:7.2f} s  (camwatch inventory import, process start to exit)")

    if args.profile:
        prof_db = f"sqlite:///{work / 'profile.db'}"
        upgrade(prof_db)
        for label in ("first", "reimport"):
            stats = work / f"profile-{label}.pstats"
            runner.child({"kind": "import", "db": prof_db, "file": str(src), "profile": str(stats)})
            print_profile(label, stats, args.top)

    goal = args.goal_seconds * n / args.goal_rows
    ok = first["wall"] < goal
    print(f"import {n} rows: {first['wall']:.1f} s (goal < {goal:.0f} s) {'PASS' if ok else 'FAIL'}; "
          f"baseline {base['wall']:.1f} s; ratio {first['wall'] / base['wall']:.1f}x")
    return 0 if ok else 1


def print_profile(label: str, stats_path: Path, top: int) -> None:
    import io
    import pstats

    buf = io.StringIO()
    st = pstats.Stats(str(stats_path), stream=buf)
    st.strip_dirs().sort_stats("tottime").print_stats(top)
    print(f"--- profile of {label} import (cProfile, sorted by own time) ---")
    lines = buf.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    print("\n".join(line for line in lines[start:] if line.strip()))


if __name__ == "__main__":
    sys.exit(main())
