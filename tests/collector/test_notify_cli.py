"""`camwatch alerts test [--channel NAME]` against a loopback JSON webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from typing import Any

import click
from click.testing import CliRunner

from collector.alerting.delivery.config import NotifySettings
from collector.cli.context import CliContext
from collector.cli.notify_cmds import add_test_command


def _group() -> click.Group:
    @click.group()
    def alerts() -> None:
        """alerts"""

    add_test_command(alerts)
    return alerts


def test_alerts_test_sends_to_each_channel_and_reports_failures() -> None:
    got: list[dict[str, Any]] = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200 if self.path == "/ok" else 500)
            self.end_headers()

        def log_message(self, *a: Any) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), H)
    port = srv.server_address[1]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        notify = NotifySettings.model_validate({"channels": [
            {"name": "good", "kind": "webhook", "url": f"http://127.0.0.1:{port}/ok"},
            {"name": "bad", "kind": "webhook", "url": f"http://127.0.0.1:{port}/fail"}],
            "retry": {"attempts": 3, "initial_backoff_s": 0.01}})

        def ctx(lang: str) -> CliContext:
            return CliContext(lang_override=lang, _settings=SimpleNamespace(
                notify=notify, language=lang, alerts=SimpleNamespace(timezone="Asia/Shanghai")))  # type: ignore[arg-type]

        r = CliRunner().invoke(_group(), ["test", "--channel", "good"], obj=ctx("zh"))
        assert r.exit_code == 0, r.output
        assert "good：已发送" in r.output
        assert len(got) == 1 and got[0]["title"] == "camwatch 测试消息" and "通道 good" in got[0]["message"]
        assert "+08:00" in got[0]["message"]  # local time with the zone of incident messages

        r = CliRunner().invoke(_group(), ["test"], obj=ctx("en"))
        assert r.exit_code == 1
        assert r.output.splitlines() == ["good: sent", "bad: FAILED: HTTP 500 Internal Server Error"]
        assert len(got) == 3  # good once more, bad once (a test is not retried)

        r = CliRunner().invoke(_group(), ["test", "--channel", "nope"], obj=ctx("en"))
        assert r.exit_code == 2 and "no channel named nope" in r.output
    finally:
        srv.shutdown()
        srv.server_close()
