"""`camwatch demo` end to end: simulated county, import, collector, metrics, live summary; beside
another demo or a taken port it moves to a free one, or fails with one line naming the option."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path


def _exe() -> str:
    return shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env.update(extra)
    return env


def _demo(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_exe(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_demo_runs_and_serves_metrics(tmp_path: Path) -> None:
    with socket.socket() as taken:  # the configured port is taken: the demo moves to a free one
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = _env(CAMWATCH_HTTP__PORT=str(port))
        proc = subprocess.Popen([_exe(), "demo", "--cameras", "40", "--duration", "20", "--interval", "2",
                                 "--dir", str(tmp_path / "d")],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        assert proc.stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
        reader.start()
        metrics = console = ""
        try:
            end = time.monotonic() + 30
            url = None
            while time.monotonic() < end and proc.poll() is None:
                if url is None:
                    found = re.search(r"camwatch 已启动：(http://\S+)/metrics", "".join(lines))
                    url = found.group(1) if found else None
                    if url is None:
                        time.sleep(0.2)
                        continue
                    # beside it: the same directory, and a --port that is taken, are one line each
                    r = _demo(tmp_path, "demo", "--cameras", "10", "--dir", str(tmp_path / "d"), env=_env())
                    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
                    assert "--dir" in r.stderr and "另一个演示" in r.stderr
                    r = _demo(tmp_path, "--lang", "en", "demo", "--cameras", "10", "--dir", str(tmp_path / "e"),
                              "--port", str(port), env=_env())
                    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
                    assert f"port 127.0.0.1:{port} is already in use; choose another with --port" in r.stderr
                try:
                    with urllib.request.urlopen(f"{url}/metrics", timeout=2) as resp:
                        text = resp.read().decode()
                    if text.count("camwatch_camera_up{") >= 30 and 'cause="auth_failed"' in text:
                        metrics = text
                        with urllib.request.urlopen(f"{url}/", timeout=5) as resp:  # the printed console
                            console = resp.read().decode()
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            proc.wait(timeout=60)
            reader.join(10)
        finally:
            if proc.poll() is None:
                proc.kill()
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert f"端口 {port} 已被占用，改用" in out and url is not None and url != f"http://127.0.0.1:{port}"
    assert "导入" in out and "乡镇/街道" in out and "演示已停止" in out
    assert "模拟摄像机 40 台：127." in out  # the simulated cameras' range is printed
    assert "密码错误" in out  # the scripted wrong password shows with its cause
    assert metrics and 'cause="auth_failed"' in metrics
    assert f"控制台（浏览器打开）：{url}/" in out and "总览" in console and "密码错误" in console
    assert (tmp_path / "d" / "camwatch-demo.db").exists()
