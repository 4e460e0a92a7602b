"""Alert routes name channels of ``notify.channels``: an unknown name is a config error naming its
key and the channels there are; no channel at all (a fresh install, a demo) runs, and says so."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from collector.alerting.service import build_alerting
from collector.cli import cli, db_cmds
from collector.metrics.registry import SelfCounters
from collector.settings import ConfigError, alert_routing_warning, load_settings
from inventory.models import utcnow

CHANNELS = """
notify:
  channels:
  - {name: duty, kind: webhook, url: 'http://127.0.0.1:9/duty'}
  - {name: boss, kind: webhook, url: 'http://127.0.0.1:9/boss'}
"""
ROUTED = """
alerts:
  escalation: [{after_s: 3600, name: supervisor, channels: [boss]}]
  channels: {critical: [duty], normal: [duty], low: [duty]}
"""


def _yaml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        load_settings(_yaml(tmp_path, text), environ=environ or {})
    return exc.value


def test_channels_routed_to_exist(tmp_path: Path) -> None:
    s = load_settings(_yaml(tmp_path, CHANNELS + ROUTED), environ={})
    assert alert_routing_warning(s) is None


def test_an_unknown_channel_of_a_severity_names_its_key_and_the_channels(tmp_path: Path) -> None:
    err = _error(tmp_path, CHANNELS + ROUTED.replace("critical: [duty]", "critical: [dutyy]"))
    assert "  alerts.channels.critical.0: no channel named dutyy; configured: duty, boss" in str(err).splitlines()
    assert "  alerts.channels.critical.0：没有名为 dutyy 的通道；已配置：duty, boss" in err.render("zh").splitlines()


def test_an_unknown_channel_of_an_escalation_level(tmp_path: Path) -> None:
    err = _error(tmp_path, CHANNELS + ROUTED.replace("channels: [boss]", "channels: [boss, nobody]"))
    assert str(err).splitlines()[1:] == ["  alerts.escalation.0.channels.1: no channel named nobody; configured: duty, boss"]


def test_routes_written_in_the_file_name_each_unknown_channel(tmp_path: Path) -> None:
    """``camwatch init``'s file spells the default routes out: with channels added, each is named."""
    example = (Path(__file__).resolve().parents[2] / "config" / "camwatch.example.yaml").read_text(encoding="utf-8")
    text = example.replace("notify:\n  # where alert messages go\n  channels: []\n", "notify:" + CHANNELS.split("notify:")[1])
    assert text != example
    lines = str(_error(tmp_path, text)).splitlines()[1:]
    assert [ln.split(":")[0].strip() for ln in lines] == [
        "alerts.channels.critical.0", "alerts.channels.low.0", "alerts.channels.normal.0",  # (the file's order)
        "alerts.escalation.0.channels.0", "alerts.escalation.1.channels.0"]


def test_default_routes_beside_channels_for_something_else_warn(tmp_path: Path) -> None:
    """Routes not written (e.g. one e-mail channel for the monthly reports): no error, a warning."""
    s = load_settings(_yaml(tmp_path, CHANNELS), environ={})
    warning = alert_routing_warning(s)
    assert warning is not None
    assert warning[0].startswith("alerts are routed by default to channels that are not configured "
                                 "(default, supervisor, township)") and "(duty, boss)" in warning[0]
    assert warning[1].startswith("告警默认发往的通道（default、supervisor、township）未配置")
    s = load_settings(_yaml(tmp_path, CHANNELS + "alerts: {channels: {critical: [duty], normal: [duty], low: [duty]}}\n"),
                      environ={})
    assert "(supervisor, township)" in (alert_routing_warning(s) or ("",))[0]


def test_a_route_set_by_a_variable_names_it(tmp_path: Path) -> None:
    err = _error(tmp_path, CHANNELS + ROUTED, {"CAMWATCH_ALERTS__CHANNELS": '{"critical": ["x"]}'})
    assert "alerts.channels.critical.0 (from CAMWATCH_ALERTS__CHANNELS): no channel named x" in str(err)
    assert "alerts.channels.critical.0（来自环境变量 CAMWATCH_ALERTS__CHANNELS）：没有名为 x 的通道" in err.render("zh")


def test_disabled_alerts_route_nowhere(tmp_path: Path) -> None:
    s = load_settings(_yaml(tmp_path, CHANNELS + "alerts: {enabled: false}\n"), environ={})
    assert alert_routing_warning(s) is None


def test_reports_channel_is_a_configured_email_channel(tmp_path: Path) -> None:
    err = _error(tmp_path, CHANNELS + ROUTED + "reports: {channel: mail}\n")
    assert "reports.channel: no channel named mail; configured: duty, boss" in str(err)
    err = _error(tmp_path, CHANNELS + ROUTED + "reports: {channel: duty}\n")
    assert "reports.channel: duty is a webhook channel" in str(err)


def test_no_channels_at_all_loads_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = load_settings(_yaml(tmp_path, "language: zh\n"), environ={})
    warning = alert_routing_warning(s)
    assert warning is not None
    assert "(default, supervisor, township)" in warning[0] and "no alert message will be sent" in warning[0]
    assert "（default、supervisor、township）" in warning[1] and "不会发送任何告警消息" in warning[1]
    with caplog.at_level(logging.WARNING, logger="camwatch.alerting"):
        service, notifier = build_alerting(s, None, SelfCounters(), utcnow, lambda cid: ())  # type: ignore[arg-type]
    assert service is not None and notifier is None
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [warning[0]]


def test_config_check_prints_the_warning_and_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    group = click.Group("camwatch", params=cli.params, callback=cli.callback)
    db_cmds.register(group)
    cfg = _yaml(tmp_path, "language: zh\n")
    r = CliRunner().invoke(group, ["--config", str(cfg), "config", "check"], catch_exceptions=False, env={})
    assert r.exit_code == 0, r.output
    assert "告警发往的通道（default、supervisor、township）均未配置" in r.stderr
    r = CliRunner().invoke(group, ["--config", str(cfg), "--lang", "en", "config", "check"], catch_exceptions=False, env={})
    assert r.exit_code == 0 and "alerts are routed to channels that are not configured" in r.stderr
    cfg = _yaml(tmp_path, CHANNELS + ROUTED)
    r = CliRunner().invoke(group, ["--config", str(cfg), "config", "check"], catch_exceptions=False, env={})
    assert r.exit_code == 0 and "告警发往" not in r.stderr
