"""``camwatch exclusion list`` speaks the reader's language and prints times as ``exclusion add`` does
(local, with the zone: ``2026-11-01 08:00 +08:00``). It printed ``region 130123101201`` and
ISO 8601 times in the Chinese output, and nothing at all for an empty list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "sample_inventory.csv"


def camwatch(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    return subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_list_in_words_and_local_times(tmp_path: Path) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    r = camwatch(tmp_path, "exclusion", "list")
    assert r.returncode == 0 and r.stdout.strip() == "没有报备", r.stdout
    r = camwatch(tmp_path, "--lang", "en", "exclusion", "list")
    assert r.returncode == 0 and r.stdout.strip() == "no exclusions", r.stdout
    assert camwatch(tmp_path, "inventory", "import", str(SAMPLE)).returncode == 0
    r = camwatch(tmp_path, "exclusion", "add", "--region", "城关镇/大前村1", "--from", "2026-11-01 08:00",
                 "--to", "2026-11-01 18:00", "--reason", "停电报备", "--approver", "张三")
    assert r.returncode == 0, r.stderr
    r = camwatch(tmp_path, "exclusion", "add", "--camera", "1", "--from", "2026-11-02", "--to", "2026-11-02",
                 "--reason", "计划维护", "--approver", "李四")
    assert r.returncode == 0, r.stderr
    zh = camwatch(tmp_path, "exclusion", "list").stdout.splitlines()
    assert zh == [
        "#1\t已批准\t区划 130123101201\t2026-11-01 08:00 +08:00 — 2026-11-01 18:00 +08:00\t停电报备\t张三",
        "#2\t已批准\t摄像机 1\t2026-11-02 00:00 +08:00 — 2026-11-03 00:00 +08:00\t计划维护\t李四",
    ]
    en = camwatch(tmp_path, "--lang", "en", "exclusion", "list").stdout.splitlines()
    assert en[0].startswith("#1\tapproved\tregion 130123101201\t2026-11-01 08:00 +08:00 — ") and "\tcamera 1\t" in en[1]
    # the JSON is unchanged: ISO 8601 with the offset
    items = json.loads(camwatch(tmp_path, "exclusion", "list", "--json").stdout)
    assert [i["from"] for i in items] == ["2026-11-01T08:00:00+08:00", "2026-11-02T00:00:00+08:00"]
