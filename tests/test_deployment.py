"""The container files: what the build context leaves out, and the HEALTHCHECK's command.

No Docker engine runs here (only the client), so the image itself is not built in the tests; the
HEALTHCHECK command is run as the container would run it, against a loopback /healthz.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ignored(path: str) -> bool:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")]
    parts = path.split("/")
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(parts[0], p) or fnmatch.fnmatch(parts[-1], p.removeprefix("**/"))
               for p in patterns)


@pytest.mark.parametrize("path", [".git/config", ".venv/bin/python", "camwatch.key", "camwatch.db", "camwatch.db-wal",
                                  "camwatch.yaml", "collector/__pycache__/app.cpython-311.pyc", ".demo/camwatch.db"])
def test_build_context_leaves_out_secrets_and_local_state(path: str) -> None:
    assert _ignored(path)


@pytest.mark.parametrize("path", ["pyproject.toml", "README.md", "collector/runtime/app.py", "config/camwatch.example.yaml"])
def test_build_context_keeps_what_the_image_copies(path: str) -> None:
    assert not _ignored(path)
    assert re.search(rf"^COPY .*\b{re.escape(path.split('/')[0])}\b", (ROOT / "Dockerfile").read_text(), re.M)


def _healthcheck_command() -> str:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    m = re.search(r"^HEALTHCHECK .*? CMD (.+)$", text, re.M)
    assert m, "no HEALTHCHECK in the Dockerfile"
    return m.group(1)


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_follows_healthz(health_server: ThreadingHTTPServer, status: int, healthy: bool) -> None:
    _Health.status = status
    cmd = _healthcheck_command().replace("python -c", f"{shlex.quote(sys.executable)} -c", 1)
    env = {**os.environ, "CAMWATCH_HTTP__PORT": str(health_server.server_address[1])}
    r = subprocess.run(["sh", "-c", cmd], env=env, capture_output=True, text=True, timeout=30)
    assert (r.returncode == 0) is healthy, r.stderr
