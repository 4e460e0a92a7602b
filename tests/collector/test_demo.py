"""`camwatch demo` end to end: simulated county, import, collector, metrics, live summary."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path


def test_demo_runs_and_serves_metrics(tmp_path: Path) -> None:
    import os
    import shutil
    import sys

    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env["CAMWATCH_HTTP__PORT"] = "19853"
    proc = subprocess.Popen([exe, "demo", "--cameras", "40", "--duration", "20", "--interval", "2", "--dir", str(tmp_path / "d")],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    metrics = ""
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and proc.poll() is None:
            try:
                with urllib.request.urlopen("http://127.0.0.1:19853/metrics", timeout=2) as r:
                    text = r.read().decode()
                if text.count("camwatch_camera_up{") >= 30 and 'cause="auth_failed"' in text:
                    metrics = text
                    break
            except OSError:
                pass
            time.sleep(0.5)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "导入" in out and "乡镇/街道" in out and "演示已停止" in out
    assert "密码错误" in out  # the scripted wrong password shows with its cause
    assert metrics and 'cause="auth_failed"' in metrics
    assert (tmp_path / "d" / "camwatch-demo.db").exists()
