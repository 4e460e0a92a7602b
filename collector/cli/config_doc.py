"""The example config file, rendered from the settings model so it documents every key.

``config/camwatch.example.yaml`` is this output; a test fails when they drift apart.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from collector.settings import Settings

HEADER = """\
# camwatch configuration. Every key can be overridden by an environment variable:
# CAMWATCH_<SECTION>__<KEY>, e.g. CAMWATCH_DATABASE__URL=postgresql://user@db/camwatch.
# Unknown keys are rejected. Secrets (the credential key) belong in the environment
# (CAMWATCH_SECRET_KEY) or in the key file named below, not in this file.
"""


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(to_jsonable_python(value), default_flow_style=True, allow_unicode=True, width=10_000).strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    return text.removesuffix("...").strip()


def _render(model: type[BaseModel], instance: BaseModel, indent: int) -> list[str]:
    lines: list[str] = []
    pad = "  " * indent
    for name, info in model.model_fields.items():
        value = getattr(instance, name)
        if info.description:
            for part in info.description.split("\n"):
                lines.append(f"{pad}# {part}")
        if isinstance(value, BaseModel):
            lines.append(f"{pad}{name}:")
            lines.extend(_render(type(value), value, indent + 1))
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}")
    return lines


def render_example() -> str:
    defaults = Settings.model_construct()
    body = _render(Settings, defaults, 0)
    return HEADER + "\n" + "\n".join(body) + "\n"
