"""Reading camwatch's configuration input: the YAML file, the ``CAMWATCH_...`` variables that
name no setting, and validation errors as one line per key path (:mod:`collector.settings`
builds the settings from them)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

ENV_PREFIX = "CAMWATCH_"
# Variables read by the CLI itself rather than mapped onto settings keys.
SPECIAL_ENV = {"CAMWATCH_CONFIG", "CAMWATCH_DB", "CAMWATCH_SECRET_KEY", "CAMWATCH_LANG",
               "CAMWATCH_CAMERA_PASSWORD", "CAMWATCH_GRAFANA_TOKEN"}
# Variables of camwatch's own test suite and benchmarks (CAMWATCH_TEST_PG...): not settings.
TEST_ENV_PREFIX = "CAMWATCH_TEST_"
INCONSISTENT = "inconsistent_settings"  # error type of a section whose keys contradict each other


class ConfigError(Exception):
    """Invalid configuration; the message names each bad key path."""


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return data


def referenced(data: Any, environ: Mapping[str, str]) -> set[str]:
    """The variables that secrets name (``env:NAME`` in the config file or in a setting's variable)."""
    out: set[str] = set()
    stack: list[Any] = [data, list(environ.values())]
    while stack:
        x = stack.pop()
        if isinstance(x, str) and x.startswith("env:"):
            out.add(x[4:].strip())
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return out


def check_env(environ: Mapping[str, str], known: Collection[str], named: Collection[str] = ()) -> None:
    """Reject CAMWATCH_* variables that name no setting (*known*: the top-level ones; a typo would
    be silently ignored); those a secret names (*named*: ``password: env:CAMWATCH_GB_PASSWORD``)
    are the user's own."""
    bad = []
    for var in environ:
        if not var.startswith(ENV_PREFIX) or var in SPECIAL_ENV or var.startswith(TEST_ENV_PREFIX) or var in named:
            continue
        top = var.split("__", 1)[0]
        if top not in known:
            bad.append(var)
    if bad:
        raise ConfigError("unknown environment variable(s): " + ", ".join(sorted(bad)))


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == INCONSISTENT:
            # one line per key that contradicts another, named by its full path
            prefix = f"{path}." if err["loc"] else ""
            lines.extend(f"  {prefix}{key}: {msg}" for key, msg in err.get("ctx", {}).get("problems", ()))
            continue
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"  {path}: {msg}")
    return "\n".join(lines)


__all__ = ["ENV_PREFIX", "INCONSISTENT", "SPECIAL_ENV", "TEST_ENV_PREFIX", "ConfigError", "check_env",
           "format_validation_error", "read_yaml", "referenced"]
