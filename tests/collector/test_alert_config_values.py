"""Values of the alerts and notify sections: checked when the config is read, each error naming
its key in the user's language (Chinese by default), a channel's url by its scheme alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.settings import ConfigError, load_settings

ONE = "notify:\n  channels:\n  - {name: duty, kind: %s, url: '%s'}\n" \
      "alerts: {escalation: [], channels: {critical: [duty], normal: [duty], low: [duty]}}\n"


def _error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(p, environ=environ or {})
    return exc.value


def test_alerts_language_is_zh_or_en(tmp_path: Path) -> None:
    err = _error(tmp_path, "", {"CAMWATCH_ALERTS__LANGUAGE": "fr"})
    assert "alerts.language (from CAMWATCH_ALERTS__LANGUAGE): Input should be 'zh' or 'en'" in str(err)
    assert "alerts.language（来自环境变量 CAMWATCH_ALERTS__LANGUAGE）：应为以下之一：'zh'、'en'" in err.render("zh")


@pytest.mark.parametrize(("kind", "url", "en", "zh"), [
    ("webhook", "ftp://x/y", "channel duty: url of kind webhook is http://, https://, json:// or jsons://, not ftp://",
     "通道 duty：webhook 通道的 url 应为 http://、https://、json:// 或 jsons://，而非 ftp://"),
    ("alertmanager", "json://am:9093", "channel duty: url of kind alertmanager is http:// or https://, not json://",
     "alertmanager 通道的 url 应为 http:// 或 https://，而非 json://"),
    ("email", "smtp://u@host", "url of kind email is mailto:// or mailtos://, not smtp://", "应为 mailto:// 或 mailtos://"),
    ("wecom", "wecom://key", "url of kind wecom is wecombot://, http:// or https://, not wecom://",
     "应为 wecombot://、http:// 或 https://"),
    ("sms", "127.0.0.1:9/send", "not a URL (SCHEME://...): url of kind sms is SCHEME://", "不是网址（应为 协议://...）"),
])
def test_a_channel_url_of_the_wrong_scheme_is_named_by_its_key(tmp_path: Path, kind: str, url: str, en: str, zh: str) -> None:
    err = _error(tmp_path, ONE % (kind, url))
    [line] = str(err).splitlines()[1:]
    assert line.startswith("  notify.channels.0.url: ") and en in line, line
    [line] = err.render("zh").splitlines()[1:]
    assert line.startswith("  notify.channels.0.url：") and zh in line, line
    assert "/y" not in str(err) + err.render("zh") and "9/send" not in str(err)  # (the rest of a url may hold a token)


@pytest.mark.parametrize("url", ["http://h/x", "jsons://h/x", "env:HOOK_URL", "file:/run/secrets/hook"])
def test_good_and_referenced_webhook_urls_pass(tmp_path: Path, url: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(ONE % ("webhook", url), encoding="utf-8")
    load_settings(p, environ={})


def test_a_channel_missing_its_url_names_the_key_in_both_languages(tmp_path: Path) -> None:
    err = _error(tmp_path, "notify: {channels: [{name: duty, kind: webhook}]}\n")
    assert str(err).splitlines()[1:] == ["  notify.channels.0.url: channel duty: kind webhook needs url"]
    assert err.render("zh").splitlines()[1:] == ["  notify.channels.0.url：通道 duty：webhook 通道需要 url"]


def test_custom_validators_speak_chinese(tmp_path: Path) -> None:
    err = _error(tmp_path, "", {"CAMWATCH_ALERTS__TIMEZONE": "Asia/Shanghaii", "CAMWATCH_ALERTS__QUIET_HOURS__START": "25:00"})
    zh = err.render("zh")
    assert "alerts.timezone（来自环境变量 CAMWATCH_ALERTS__TIMEZONE）：未知的时区 'Asia/Shanghaii'（应为 IANA 时区名，如 Asia/Shanghai）" in zh
    assert "alerts.quiet_hours.start（来自环境变量 CAMWATCH_ALERTS__QUIET_HOURS__START）：'25:00' 不是有效的当地时刻" in zh
    assert "alerts.timezone (from CAMWATCH_ALERTS__TIMEZONE): unknown time zone 'Asia/Shanghaii'" in str(err)
    assert "alerts.quiet_hours.start (from CAMWATCH_ALERTS__QUIET_HOURS__START): '25:00' is not a local time of day HH:MM" in str(err)
    err = _error(tmp_path, "alerts: {escalation: [{after_s: 9, name: b, channels: [x]}, {after_s: 5, name: a, channels: [x]}]}\n")
    assert "alerts.escalation：升级级别应按 after_s 从小到大排列" in err.render("zh")
    err = _error(tmp_path, "collector: {interval_s: 60, offline_interval_s: 61}\naccounting: {check_times: ['25:00']}\n")
    zh = err.render("zh")
    assert "collector.offline_interval_s：61 大于 interval_s（60）" in zh and "accounting.check_times：['25:00']：每个抽查时刻" in zh
    err = _error(tmp_path, "notify: {channels: [{name: a, kind: sms, url: 'x://y'}, {name: a, kind: sms, url: 'x://y'}]}\n")
    assert "notify.channels.1.name：通道名称 a 已被 channels.0 使用" in err.render("zh")


def test_a_list_of_choices_has_one_separator(tmp_path: Path) -> None:
    err = _error(tmp_path, "notify: {channels: [{name: a, kind: smsx, url: 'x://y'}]}\n")
    assert ("notify.channels.0.kind：应为以下之一：'dingtalk'、'wecom'、'feishu'、'lark'、'email'、'sms'、'webhook'、"
            "'alertmanager'") in err.render("zh")
