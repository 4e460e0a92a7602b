"""`camwatch demo` end to end: simulated county, import, collector, metrics, live summary; beside
another demo or a taken port it moves to a free one, or fails with one line naming the option."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path


def _exe() -> str:
    return shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env.update(extra)
    return env


def _demo(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_exe(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def login(url: str, name: str, password: str) -> str:
    """Log in through the console's /login form (its CSRF token, the session cookie) and return
    the overview the login lands on."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(f"{url}/", timeout=5) as resp:  # accounts exist: a page sends you to /login
        assert resp.url.startswith(f"{url}/login"), resp.url
        form = resp.read().decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf is not None, form[:300]
    data = urllib.parse.urlencode({"csrf_token": csrf.group(1), "next": "/", "name": name, "password": password})
    with opener.open(f"{url}/login", data=data.encode(), timeout=10) as resp:
        assert resp.url == f"{url}/", resp.url
        return str(resp.read().decode())


def _printed(lines: list[str], label: str) -> str:
    """The command line the demo printed after *label* (a line of its own)."""
    found = re.search(rf"^{label}[^：\n]*：(.+)$", "".join(lines), re.M)
    assert found is not None, "".join(lines)
    return found.group(1)


ACCOUNT = re.compile(r"^\s+(\w+)\s+用户名 (\S+)\s+密码 (\S+)\s+(.*)$", re.M)


def test_demo_runs_and_serves_metrics(tmp_path: Path) -> None:
    with socket.socket() as taken:  # the configured port is taken: the demo moves to a free one
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = _env(CAMWATCH_HTTP__PORT=str(port))
        proc = subprocess.Popen([_exe(), "demo", "--cameras", "40", "--duration", "90", "--interval", "2",
                                 "--dir", str(tmp_path / "d")],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        assert proc.stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
        reader.start()
        metrics = console = township = ""
        probed = None
        accounts: dict[str, tuple[str, ...]] = {}
        try:
            end = time.monotonic() + 90  # (a busy box: what is looked for shows within seconds otherwise)
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
                    assert r.returncode == 3 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
                    assert "--dir" in r.stderr and "另一个演示" in r.stderr
                    r = _demo(tmp_path, "--lang", "en", "demo", "--cameras", "10", "--dir", str(tmp_path / "e"),
                              "--port", str(port), env=_env())
                    assert r.returncode == 3 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
                    assert f"port 127.0.0.1:{port} is already in use; choose another with --port" in r.stderr
                try:
                    with urllib.request.urlopen(f"{url}/metrics", timeout=2) as resp:
                        text = resp.read().decode()
                    if text.count("camwatch_camera_up{") >= 30 and 'cause="auth_failed"' in text:
                        metrics = text
                        accounts = {m[0]: m for m in ACCOUNT.findall("".join(lines))}
                        console = login(url, accounts["admin"][1], accounts["admin"][2])  # the printed console
                        township = login(url, accounts["township"][1], accounts["township"][2])
                        probe = _printed(lines, "探测一台摄像机")  # as printed, while the demo's cameras run
                        probed = subprocess.run(probe, shell=True, cwd=tmp_path, env=_env(), capture_output=True,
                                                text=True, timeout=60)
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            while time.monotonic() < end and proc.poll() is None and "密码错误" not in "".join(lines):
                time.sleep(0.5)  # the screen (every 10 s) shows it too
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # Ctrl-C, as the screen says: a clean stop
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
    # an account for every role, each password printed once (random: not in the other demo's output)
    assert "控制台演示账户" in out and sorted(accounts) == ["admin", "assessor", "contractor", "duty", "township"]
    passwords = [a[2] for a in accounts.values()]
    assert len(set(passwords)) == 5 and all(out.count(p) == 1 and len(p) >= 8 for p in passwords)
    town = re.search(r"乡镇领导，只看 (\S+)", out)
    assert town is not None and town.group(1) in township and "总览" in township
    assert "township" in township and "admin" in console  # each logged in as itself (the header names the user)
    # the printed command lines read the demo's database from any directory, as printed (a shell's):
    # the key file named, a probe reads the camera's password; no password is printed
    assert probed is not None and probed.returncode == 0, (probed, out)
    assert "在线" in probed.stdout and "admin123" not in out + probed.stdout + probed.stderr
    rates = _printed(lines, "命令行")
    assert "CAMWATCH_SECRETS__KEY_FILE=" in rates and "camwatch-demo.key" in rates
    r = subprocess.run(rates, shell=True, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "在线率" in r.stdout and town.group(1) in r.stdout
    # the inventory file holds the camera passwords: only the owner reads it, as the key and the database
    for name in ("demo_inventory.csv", "camwatch-demo.key", "camwatch-demo.db"):
        assert (tmp_path / "d" / name).stat().st_mode & 0o777 == 0o600, name
