"""Settings: YAML + CAMWATCH_ environment variables, strict validation, documented example."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from collector.cli.config_doc import render_example
from collector.runtime.camera_state import Policy
from collector.runtime.scheduler_config import SchedulerConfig
from collector.settings import CollectorSettings, ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "camwatch.example.yaml"


def _yaml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s.language == "zh" and s.database.url == "sqlite:///camwatch.db"


def test_unknown_key_rejected_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(_yaml(tmp_path, "database:\n  url: sqlite:///x.db\n  pool_size: 3\n"), environ={})
    assert "database.pool_size: unknown key" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_settings(_yaml(tmp_path, "colour: blue\n"), environ={})
    assert "colour: unknown key" in str(exc.value)


def test_bad_value_names_key_and_all_errors_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(_yaml(tmp_path, "language: fr\ninventory:\n  retire_missing: maybe\n"), environ={})
    msg = str(exc.value)
    assert "language:" in msg and "inventory.retire_missing:" in msg


def test_env_overrides_yaml_and_db_option_overrides_env(tmp_path: Path) -> None:
    p = _yaml(tmp_path, "language: zh\ndatabase:\n  url: sqlite:///a.db\n")
    s = load_settings(p, environ={"CAMWATCH_LANGUAGE": "en", "CAMWATCH_DATABASE__URL": "sqlite:///b.db"})
    assert s.language == "en" and s.database.url == "sqlite:///b.db"
    s = load_settings(p, db_url="sqlite:///c.db", environ={"CAMWATCH_DATABASE__URL": "sqlite:///b.db"})
    assert s.database.url == "sqlite:///c.db"


def test_unknown_env_variable_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(environ={"CAMWATCH_DATABSE__URL": "x"})
    assert "CAMWATCH_DATABSE__URL" in str(exc.value)
    # the CLI's own variables and the test suite's are fine
    load_settings(environ={"CAMWATCH_CONFIG": "x", "CAMWATCH_DB": "y", "CAMWATCH_SECRET_KEY": "z",
                           "CAMWATCH_CAMERA_PASSWORD": "p", "CAMWATCH_TEST_REQUIRE_POSTGRES": "1"})


def test_every_mistake_at_once_with_the_key_it_is_likely_a_typo_of(tmp_path: Path) -> None:
    """An unknown variable no longer hides the file's mistakes (fixed one at a time before); an
    unknown key or variable close to a real one names it, in English and in Chinese."""
    cfg = _yaml(tmp_path, "colector:\n  interval_s: 30\ndatabase:\n  pool_size: 3\n"
                          "alerts:\n  escalation:\n    - {after_s: 60, nam: x, channels: [default]}\n")
    env = {"CAMWATCH_DATABSE__URL": "sqlite:///x.db", "CAMWATCH_HTTP__PROT": "9851", "CAMWATCH_BOGUS": "1"}
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg, environ=env)
    en, zh = exc.value.render("en"), exc.value.render("zh")
    for line in ("colector: unknown key (did you mean collector?)", "database.pool_size: unknown key",
                 "alerts.escalation.0.nam: unknown key (did you mean name?)",
                 "http.prot (from CAMWATCH_HTTP__PROT): unknown key (did you mean port?)",
                 "CAMWATCH_DATABSE__URL (did you mean CAMWATCH_DATABASE__URL?): unknown environment variable",
                 "CAMWATCH_BOGUS: unknown environment variable"):
        assert line in en, en
    assert "colector：未知的键（是要用 collector 吗？）" in zh and "CAMWATCH_DATABSE__URL（是要用 CAMWATCH_DATABASE__URL 吗？）" in zh
    # variables alone: one line, a guess only where one is close
    with pytest.raises(ConfigError) as exc:
        load_settings(environ={"CAMWATCH_LANGAUGE": "en", "CAMWATCH_FOO": "1"})
    assert exc.value.render("en") == ("unknown environment variable(s): CAMWATCH_FOO, "
                                      "CAMWATCH_LANGAUGE (did you mean CAMWATCH_LANGUAGE?)")
    assert exc.value.render("zh").startswith("未知的环境变量：CAMWATCH_FOO、CAMWATCH_LANGAUGE（是要用 CAMWATCH_LANGUAGE 吗？）")


def test_a_variable_a_secret_names_is_the_users_own(tmp_path: Path) -> None:
    """``password: env:CAMWATCH_GB_PASSWORD`` (as the README shows): that variable is read by the
    secret, not refused as an unknown setting; one named nowhere still is."""
    cfg = tmp_path / "camwatch.yaml"
    cfg.write_text("gb28181:\n  enabled: true\n  password: env:CAMWATCH_GB_PASSWORD\n"
                   "notify:\n  channels:\n    - name: mail\n      kind: email\n"
                   "      url: \"mailtos://camwatch@smtp.example.gov.cn:465?from=camwatch@example.gov.cn\"\n"
                   "      password: env:CAMWATCH_SMTP_PASSWORD\n", encoding="utf-8")
    env = {"CAMWATCH_GB_PASSWORD": "gb-Pw-1", "CAMWATCH_SMTP_PASSWORD": "smtp"}
    s = load_settings(cfg, environ=env)
    assert s.gb28181.password is not None and s.gb28181.password.get_secret_value() == "env:CAMWATCH_GB_PASSWORD"
    # named in a setting's own variable too
    load_settings(environ={"CAMWATCH_GB28181__PASSWORD": "env:CAMWATCH_GB_PW", "CAMWATCH_GB_PW": "x"})
    with pytest.raises(ConfigError, match="CAMWATCH_GB_PASSWROD"):
        load_settings(cfg, environ=env | {"CAMWATCH_GB_PASSWROD": "typo"})


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(_yaml(tmp_path, "database: [unclosed\n"), environ={})
    # where, in both languages, never PyYAML's quote of the line (a password may sit on it)
    with pytest.raises(ConfigError) as exc:
        load_settings(_yaml(tmp_path, 'notify:\n  channels:\n    - kind: email\n      password: "s3cret\n'), environ={})
    assert "line " in str(exc.value) and "s3cret" not in str(exc.value)
    assert "不是有效的 YAML（第 " in exc.value.render("zh") and "s3cret" not in exc.value.render("zh")
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml", environ={})
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(_yaml(tmp_path, "- a\n- b\n"), environ={})


def _keys(model: type, prefix: str = "") -> set[str]:
    from pydantic import BaseModel

    out = set()
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out |= _keys(ann, f"{prefix}{name}.")
        else:
            out.add(prefix + name)
    return out


def _present(data: dict, key: str) -> bool:  # type: ignore[type-arg]
    node: object = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_example_config_documents_every_key_and_is_current() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text == render_example(), "config/camwatch.example.yaml drifted: regenerate with `camwatch config example`"
    data = yaml.safe_load(text)
    missing = [k for k in sorted(_keys(Settings)) if not _present(data, k)]
    assert not missing, f"keys not documented in the example: {missing}"
    load_settings(EXAMPLE, environ={})  # and it validates


def _error_paths(msg: str) -> list[str]:
    """The key paths named by a ConfigError's lines ("  collector.interval_s: ...")."""
    return [line.strip().split(": ", 1)[0] for line in msg.splitlines()[1:]]


CONSISTENCY = [
    # (the file's text, the key paths named; [] = valid)
    ("collector: {}", []),
    ("collector: {interval_s: 60, offline_interval_s: 60}", []),
    ("collector: {interval_s: 60, offline_interval_s: 61}", ["collector.offline_interval_s"]),
    ("collector: {interval_s: 2, offline_interval_s: 0.5, confirm_delays_s: [0.3, 0.3]}", []),  # equal delays are fine
    ("collector: {confirm_delays_s: []}", []),  # no confirmation: the first failure counts
    ("collector: {confirm_delays_s: [5, 60]}", ["collector.confirm_delays_s"]),  # not shorter than the interval
    ("collector: {confirm_delays_s: [10, 5]}", ["collector.confirm_delays_s"]),  # goes down
    ("collector: {confirm_delays_s: [0, 5]}", ["collector.confirm_delays_s.0"]),
    ("collector: {video_interval_s: 30}", ["collector.video_interval_s"]),
    ("collector: {video_interval_s: 60}", []),
    ("collector: {concurrency: 0}", ["collector.concurrency"]),
    ("collector: {per_device_concurrency: -1}", ["collector.per_device_concurrency"]),
    ("collector: {video_concurrency: 0}", ["collector.video_concurrency"]),
    ("collector: {interval_s: 0}", ["collector.interval_s"]),
    # every contradiction of one section is named, each by its own path
    ("collector: {interval_s: 10}", ["collector.offline_interval_s", "collector.confirm_delays_s"]),
    ("collector: {interval_s: 10, offline_interval_s: 20}\naccounting: {timezone: Mars/Olympus}",
     ["collector.offline_interval_s", "collector.confirm_delays_s", "accounting.timezone"]),
    ("accounting: {check_times: ['09:00', '24:30']}", ["accounting.check_times"]),
    ("accounting: {check_times: ['09:00', '09:00']}", ["accounting.check_times"]),
    ("accounting: {timezone: UTC, check_times: []}", []),
]


@pytest.mark.parametrize(("text", "paths"), CONSISTENCY, ids=[c[0] for c in CONSISTENCY])
def test_cross_field_validation_names_each_key_path(tmp_path: Path, text: str, paths: list[str]) -> None:
    f = _yaml(tmp_path, text + "\n")
    if not paths:
        load_settings(f, environ={})
        return
    with pytest.raises(ConfigError) as exc:
        load_settings(f, environ={})
    assert sorted(_error_paths(str(exc.value))) == sorted(paths), str(exc.value)


def test_cross_field_errors_from_the_environment_say_why() -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(environ={"CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "90"})
    assert ("collector.offline_interval_s (from CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S): 90 is longer than interval_s (60)"
            in str(exc.value))


def test_sections_built_directly_are_checked_too() -> None:
    """Tests and benches build CollectorSettings themselves: the same rules hold."""
    with pytest.raises(ValidationError, match="offline_interval_s"):
        CollectorSettings(interval_s=5.0, confirm_delays_s=[1.0])


def test_runtime_configs_take_their_values_from_the_settings_only() -> None:
    """Defaults live in the settings model: the runtime's config types have none of their own
    (except the scheduler's tick, which is not a setting)."""
    for cls in (SchedulerConfig, Policy):
        own = [f.name for f in dataclasses.fields(cls)
               if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
        assert own == (["tick_s"] if cls is SchedulerConfig else []), (cls, own)
    c = CollectorSettings(interval_s=30.0, offline_interval_s=10.0, confirm_delays_s=[2.0, 4.0], flap_changes=3,
                          video_interval_s=600.0, upstream_port=8080)
    cfg = SchedulerConfig.from_settings(c)
    assert (cfg.interval_s, cfg.video_interval_s, cfg.device_port) == (30.0, 600.0, 8080)
    assert cfg.policy == Policy((2.0, 4.0), 10.0, 3, c.flap_window_s, True)
