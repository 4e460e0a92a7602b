"""The `camwatch` console script end to end, in a subprocess, on a real SQLite database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "sample_inventory.csv"
SAMPLE_PASSWORD = "admin123"


def camwatch(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    full_env.update(env or {})
    return subprocess.run([exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)


def test_help_lists_commands(tmp_path: Path) -> None:
    r = camwatch(tmp_path, "--help")
    assert r.returncode == 0
    for cmd in ("init", "db", "inventory", "config"):
        assert cmd in r.stdout
    r = camwatch(tmp_path, "inventory", "--help")
    for cmd in ("import", "export", "validate", "summary"):
        assert cmd in r.stdout


def test_init_import_summary_export(tmp_path: Path) -> None:
    r = camwatch(tmp_path, "inventory", "summary")
    assert r.returncode == 2 and "camwatch init" in r.stderr
    r = camwatch(tmp_path, "init")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "camwatch.yaml").exists() and (tmp_path / "camwatch.key").exists() and (tmp_path / "camwatch.db").exists()
    r = camwatch(tmp_path, "inventory", "import", str(SAMPLE), "--dry-run")
    assert r.returncode == 0 and "试运行" in r.stdout
    r = camwatch(tmp_path, "inventory", "summary", "--json")
    assert json.loads(r.stdout)["cameras"] == 0
    r = camwatch(tmp_path, "inventory", "import", str(SAMPLE))
    assert r.returncode == 0, r.stderr
    assert SAMPLE_PASSWORD not in r.stdout + r.stderr
    s = json.loads(camwatch(tmp_path, "inventory", "summary", "--json").stdout)
    assert s["counties"] == 1 and s["cameras"] > 20 and s["planned_points"] > s["built_points"]
    assert sum(t["cameras"] for t in s["per_township"]) == s["cameras"]
    r = camwatch(tmp_path, "inventory", "summary")
    assert "县/区 1" in r.stdout
    r = camwatch(tmp_path, "--lang", "en", "inventory", "summary")
    assert "counties 1" in r.stdout
    r = camwatch(tmp_path, "inventory", "import", str(SAMPLE))
    assert r.returncode == 0 and "无变化" in r.stdout
    out = tmp_path / "out.csv"
    r = camwatch(tmp_path, "inventory", "export", str(out))
    assert r.returncode == 0 and SAMPLE_PASSWORD not in out.read_text(encoding="utf-8-sig")
    r = camwatch(tmp_path, "inventory", "export", str(tmp_path / "with.csv"), "--include-secrets")
    assert SAMPLE_PASSWORD in (tmp_path / "with.csv").read_text(encoding="utf-8-sig")
    r = camwatch(tmp_path, "inventory", "import", "--json", str(out))
    assert json.loads(r.stdout)["cameras"]["unchanged"] == s["cameras"]


def test_bad_file_exit_1_lists_every_row(tmp_path: Path) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    lines = SAMPLE.read_text(encoding="utf-8-sig").splitlines()
    bad = [lines[0]]
    for i, line in enumerate(lines[1:6], start=2):
        cells = line.split(",")
        if i in (3, 5):
            cells[14] = "0"  # RTSP port out of range
        bad.append(",".join(cells))
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(bad) + "\n", encoding="gb18030")
    r = camwatch(tmp_path, "inventory", "import", str(path))
    assert r.returncode == 1
    assert "第 3 行" in r.stderr and "第 5 行" in r.stderr and "RTSP端口" in r.stderr
    assert "未写入任何数据" in r.stderr
    assert json.loads(camwatch(tmp_path, "inventory", "summary", "--json").stdout)["cameras"] == 0
    r = camwatch(tmp_path, "--lang", "en", "inventory", "validate", str(path))
    assert r.returncode == 1 and "row 3" in r.stderr and "row 5" in r.stderr


def test_bad_config_key_is_one_clear_message(tmp_path: Path) -> None:
    (tmp_path / "camwatch.yaml").write_text("database:\n  uri: x\n", encoding="utf-8")
    r = camwatch(tmp_path, "inventory", "summary")
    assert r.returncode == 2 and "database.uri: unknown key" in r.stderr and "Traceback" not in r.stderr
    r = camwatch(tmp_path, "inventory", "summary", env={"CAMWATCH_BOGUS": "1"})
    assert r.returncode == 2 and "CAMWATCH_BOGUS" in r.stderr


@pytest.mark.postgres
def test_db_option_postgres(tmp_path: Path, db_url: str) -> None:
    """`--db` and CAMWATCH_DB select the database; here both kinds via the shared fixture."""
    r = camwatch(tmp_path, "--db", db_url, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    key = {"CAMWATCH_SECRET_KEY": "test-key-material"}
    r = camwatch(tmp_path, "inventory", "import", str(SAMPLE), env={"CAMWATCH_DB": db_url, **key})
    assert r.returncode == 0, r.stderr
    s = json.loads(camwatch(tmp_path, "--db", db_url, "inventory", "summary", "--json").stdout)
    assert s["cameras"] > 20
