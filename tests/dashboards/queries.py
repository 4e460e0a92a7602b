"""Test helpers: every PromQL expression of the dashboards (panels and variables) and of the rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from dashboards.build import build_all

ROOT = Path(__file__).resolve().parents[2]
RECORDING = ROOT / "config" / "prometheus" / "recording.yml"

# Metrics the dashboards already read but a running camwatch does not export yet (the lead empties
# this when they land): queries naming them are checked statically (the name is in the contract and
# the collector renders it when it has a value) but not evaluated against Prometheus.
#  - camwatch_work_orders: work orders (issue 5)
#  - camwatch_sweep_duration_seconds: the scheduler does not set ``last_sweep_s`` yet
PENDING_METRICS: frozenset[str] = frozenset()

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{")
_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$")


@dataclass(frozen=True, slots=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref: str
    expr: str


@dataclass(frozen=True, slots=True)
class Variable:
    dashboard: str
    name: str
    selector: str  # the series selector of label_values(...)
    label: str
    multi_all: bool


def panel_queries() -> list[PanelQuery]:
    out: list[PanelQuery] = []
    for file, data in build_all().items():
        panels = list(data.get("panels", []))  # type: ignore[arg-type]
        while panels:
            p = panels.pop(0)
            panels.extend(p.get("panels", []))
            for t in p.get("targets", []):
                out.append(PanelQuery(file, p["title"], t["refId"], t["expr"]))
    return out


def variables() -> list[Variable]:
    out: list[Variable] = []
    for file, data in build_all().items():
        for v in data.get("templating", {}).get("list", []):  # type: ignore[union-attr]
            if v["type"] == "datasource":  # the Prometheus the panels read, not a query
                continue
            m = _LABEL_VALUES.match(v["query"])
            assert m, v["query"]
            out.append(Variable(file, v["name"], m.group(1).strip(), m.group(2), bool(v.get("multi")) and bool(v.get("includeAll"))))
    return out


def recording_rules() -> list[tuple[str, str]]:
    doc = yaml.safe_load(RECORDING.read_text(encoding="utf-8"))
    return [(r["record"], r["expr"]) for g in doc["groups"] for r in g["rules"]]


def metric_names(expr: str) -> set[str]:
    """Names in an expression that look like camwatch metrics or recorded series (strings removed)."""
    bare = _STRING.sub('""', expr)
    return {t for t in _IDENT.findall(bare) if "camwatch" in t}


def selector_names(expr: str) -> set[str]:
    """Every name used with a ``{...}`` matcher (catches a non-camwatch metric such as ``up{...}``)."""
    return set(_SELECTOR.findall(_STRING.sub('""', expr)))
