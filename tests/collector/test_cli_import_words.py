"""``camwatch inventory import`` names what a re-import changes by the file's own headers, in the
reader's language (``第 2 行：#1 村口：厂商、密码``), and a changed point with its village code. It
printed the model's attribute names in the Chinese output (``第 2 行: #1 村口: vendor, password``,
``村口: kind``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from collector.cli.inventory_cmds import REGION_FIELD_WORDS, field_words
from inventory.fields import FIELDS

BEFORE = """县/区,乡镇/街道,村/社区,点位名称,点位类型,IP地址,用户名,密码,厂商
平山县,城关镇,东村,村口,,192.0.2.10,admin,Secret123,
平山县,城关镇,东村,学校,,192.0.2.11,admin,Secret123,
"""
AFTER = """县/区,乡镇/街道,村/社区,点位名称,点位类型,IP地址,用户名,密码,厂商
平山县,城关镇,东村,村口,路口,192.0.2.10,admin,NewPass1,海康
平山县,城关镇,东村,学校,,192.0.2.11,admin,Secret123,
"""


def camwatch(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    return subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_a_reimport_names_the_changes_by_the_files_headers(tmp_path: Path) -> None:
    (tmp_path / "before.csv").write_text(BEFORE, encoding="utf-8")
    (tmp_path / "after.csv").write_text(AFTER, encoding="utf-8")
    assert camwatch(tmp_path, "init").returncode == 0
    assert camwatch(tmp_path, "inventory", "import", "before.csv").returncode == 0
    r = camwatch(tmp_path, "inventory", "import", "after.csv", "--dry-run")
    assert r.returncode == 0, r.stderr
    lines = [x.strip() for x in r.stdout.splitlines()]
    village = next(x for x in lines if x.endswith("村口：点位类型")).split()[0]
    assert village.startswith("x") and "第 2 行：#1 村口：厂商、密码" in lines, r.stdout
    assert "Secret123" not in r.stdout and "NewPass1" not in r.stdout
    r = camwatch(tmp_path, "--lang", "en", "inventory", "import", "after.csv", "--dry-run")
    lines = [x.strip() for x in r.stdout.splitlines()]
    assert f"{village} 村口: point_kind" in lines and "row 2: #1 村口: vendor, password" in lines, r.stdout


def test_every_field_has_words() -> None:
    for f in FIELDS:
        assert field_words([f.key], "zh") == f.zh and field_words([f.key], "en") == f.en
        if f.stored:
            assert field_words([f.stored], "zh") == f.zh
    assert field_words(["name", "parent_code"], "zh", REGION_FIELD_WORDS) == "名称、上级区划"
    assert field_words(["name", "parent_code"], "en", REGION_FIELD_WORDS) == "name, parent region"
