"""Reading camwatch's configuration input: the YAML file, the ``CAMWATCH_...`` variables that
name no setting, and validation errors as one line per key path (:mod:`collector.settings`
builds the settings from them)."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from collector.config_types import BILINGUAL, INCONSISTENT

ENV_PREFIX = "CAMWATCH_"
# Variables read by the CLI itself rather than mapped onto settings keys.
SPECIAL_ENV = {"CAMWATCH_CONFIG", "CAMWATCH_DB", "CAMWATCH_SECRET_KEY", "CAMWATCH_LANG",
               "CAMWATCH_CAMERA_PASSWORD", "CAMWATCH_GRAFANA_TOKEN"}
# Variables of camwatch's own test suite and benchmarks (CAMWATCH_TEST_PG...): not settings.
TEST_ENV_PREFIX = "CAMWATCH_TEST_"


class ConfigError(Exception):
    """Invalid configuration; the message names each bad key path (and the ``CAMWATCH_...``
    variable that set it). ``str()`` is English (logs, tests); :meth:`render` speaks the user's
    language (the CLI: Chinese by default)."""

    def __init__(self, message: str, zh: str | None = None) -> None:
        super().__init__(message)
        self.zh = zh

    def render(self, lang: str) -> str:
        return str(self) if lang == "en" or self.zh is None else self.zh


# Chinese for pydantic's usual error types (its English message is kept for the others)
_ZH_ERRORS = {
    "extra_forbidden": "未知的键", "missing": "缺少此键",
    "greater_than": "应大于 {gt}", "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}", "less_than_equal": "应不大于 {le}",
    "float_parsing": "应为数字", "float_type": "应为数字", "int_parsing": "应为整数", "int_type": "应为整数",
    "int_from_float": "应为整数", "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false",
    "string_type": "应为文本", "literal_error": "应为以下之一：{expected}", "enum": "应为以下之一：{expected}",
    "dict_type": "应为键值映射", "model_type": "应为键值映射", "list_type": "应为列表",
    "string_too_short": "太短（至少 {min_length} 个字符）", "string_too_long": "太长（至多 {max_length} 个字符）",
    "too_short": "太少（至少 {min_length} 项）", "too_long": "太多（至多 {max_length} 项）",
    "url_parsing": "不是有效的网址", "url_scheme": "网址的协议应为 {expected_schemes}",
    BILINGUAL: "{zh}",  # a validator's own words (collector.config_types.bilingual)
}


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}",
                          f"{path}：无法读取配置文件：{exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # (where and what, not PyYAML's quote of the line: it may hold a password)
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or type(exc).__name__
        at_en = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        at_zh = f"（第 {mark.line + 1} 行第 {mark.column + 1} 列）" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{at_en}: {what}", f"{path}：不是有效的 YAML{at_zh}：{what}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys", f"{path}：顶层应为键值映射")
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


def unknown_env(environ: Mapping[str, str], known: Collection[str], named: Collection[str] = ()) -> list[str]:
    """The CAMWATCH_* variables that name no setting (*known*: the top-level ones; a typo would be
    silently ignored), sorted; those a secret names (*named*: ``password: env:CAMWATCH_GB_PASSWORD``)
    are the user's own."""
    bad = []
    for var in environ:
        if not var.startswith(ENV_PREFIX) or var in SPECIAL_ENV or var.startswith(TEST_ENV_PREFIX) or var in named:
            continue
        top = var.split("__", 1)[0]
        if top not in known:
            bad.append(var)
    return sorted(bad)


def _near(word: str, choices: Collection[str]) -> str | None:
    """The choice *word* is most likely a typo of, if one is close enough."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _env_near(var: str, known: Collection[str]) -> str | None:
    """The known variable *var* is likely a typo of: its section name compared without the prefix."""
    top, sep, rest = var.removeprefix(ENV_PREFIX).partition("__")
    near = _near(top, [k.removeprefix(ENV_PREFIX) for k in known])
    return ENV_PREFIX + near + sep + rest if near else None


def _env_item(var: str, known: Collection[str], lang: str) -> str:
    near = _env_near(var, known)
    if near is None:
        return var
    return f"{var} (did you mean {near}?)" if lang == "en" else f"{var}（是要用 {near} 吗？）"


def env_error(bad: list[str], known: Collection[str]) -> ConfigError:
    en = ", ".join(_env_item(v, known, "en") for v in bad)
    zh = "、".join(_env_item(v, known, "zh") for v in bad)
    return ConfigError(f"unknown environment variable(s): {en}", f"未知的环境变量：{zh}，不对应任何配置项")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The settings section (a pydantic model) an annotation holds: itself, or inside a list or an
    optional (None when there is no single one)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    models = {m for a in get_args(annotation) if (m := _model_of(a)) is not None}
    return models.pop() if len(models) == 1 else None


def keys_at(model: type[BaseModel], loc: tuple[object, ...]) -> list[str]:
    """The keys the section holding the key at *loc* accepts ([] when not known)."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if isinstance(part, int):  # (an item of a list of sections)
            continue
        info = current.model_fields.get(str(part)) if current is not None else None
        current = _model_of(info.annotation) if info is not None else None
    return list(current.model_fields) if current is not None else []


def setting_variable(loc: tuple[object, ...], environ: Mapping[str, str]) -> str | None:
    """The ``CAMWATCH_...`` variable that set the key at *loc* (or a section holding it), if one did:
    variables win over the file, so an error there is the variable's."""
    upper = {k.upper(): k for k in environ}
    parts = [str(p).upper() for p in loc]
    for n in range(len(parts), 0, -1):
        name = upper.get(ENV_PREFIX + "__".join(parts[:n]))
        if name is not None:
            return name
    return None


def format_validation_error(exc: ValidationError, source: str, environ: Mapping[str, str] | None = None,
                            model: type[BaseModel] | None = None, bad_env: Collection[str] = ()) -> ConfigError:
    """One line per bad key path, in English and in Chinese; a key set by a variable names it, an
    unknown key the one it is likely a typo of (keys of *model*); first the *bad_env* variables
    (:func:`unknown_env`), so that every mistake shows at once."""
    en, zh = [f"invalid configuration ({source}):"], [f"配置无效（{source}）："]
    known = [ENV_PREFIX + name.upper() for name in model.model_fields] if model is not None else []
    for name in bad_env:
        en.append(f"  {_env_item(name, known, 'en')}: unknown environment variable (names no setting)")
        zh.append(f"  {_env_item(name, known, 'zh')}：未知的环境变量（不对应任何配置项）")
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        var = setting_variable(tuple(err["loc"]), environ) if environ and err["loc"] else None
        if err["type"] == INCONSISTENT:
            # one line per key that contradicts another, named by its full path (and the variable that set it)
            prefix = f"{path}." if err["loc"] else ""
            for key, msg, *words in err.get("ctx", {}).get("problems", ()):
                key_var = setting_variable((*err["loc"], *key.split(".")), environ) if environ else None
                en.append(f"  {prefix}{key}{f' (from {key_var})' if key_var else ''}: {msg}")
                zh.append(f"  {prefix}{key}{f'（来自环境变量 {key_var}）' if key_var else ''}：{words[0] if words else msg}")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        word = _ZH_ERRORS.get(err["type"])
        try:  # (a list of choices in Chinese: 'a'、'b'、'c', not pydantic's 'a', 'b' or 'c')
            ctx = {k: str(v).replace("' or '", "'、'").replace("', '", "'、'") for k, v in err.get("ctx", {}).items()}
            msg_zh = word.format(**ctx) if word else msg
        except (KeyError, IndexError):
            msg_zh = msg
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
            near = _near(str(err["loc"][-1]), keys_at(model, tuple(err["loc"]))) if model is not None and err["loc"] else None
            if near is not None:
                msg, msg_zh = f"{msg} (did you mean {near}?)", f"{msg_zh}（是要用 {near} 吗？）"
        en.append(f"  {path}{f' (from {var})' if var else ''}: {msg}")
        zh.append(f"  {path}{f'（来自环境变量 {var}）' if var else ''}：{msg_zh}")
    return ConfigError("\n".join(en), "\n".join(zh))


__all__ = ["ENV_PREFIX", "INCONSISTENT", "SPECIAL_ENV", "TEST_ENV_PREFIX", "ConfigError", "env_error",
           "format_validation_error", "keys_at", "read_yaml", "referenced", "setting_variable", "unknown_env"]
