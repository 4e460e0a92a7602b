"""Settings: YAML + CAMWATCH_ environment variables, strict validation, documented example."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collector.cli.config_doc import render_example
from collector.settings import ConfigError, Settings, load_settings

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


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(_yaml(tmp_path, "database: [unclosed\n"), environ={})
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
