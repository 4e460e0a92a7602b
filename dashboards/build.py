"""All camwatch dashboards, built with grafana-foundation-sdk, as JSON-ready dicts keyed by file name."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm

from dashboards import camera, camwatch_self, coverage, operations


@dataclass(frozen=True, slots=True)
class DashboardSpec:
    file: str  # name of the JSON file under dashboards/json/
    uid: str
    build: Callable[[], dm.Dashboard]


DASHBOARDS: tuple[DashboardSpec, ...] = (
    DashboardSpec("operations.json", operations.UID, operations.build),
    DashboardSpec("coverage.json", coverage.UID, coverage.build),
    DashboardSpec("camera.json", camera.UID, camera.build),
    DashboardSpec("camwatch-self.json", camwatch_self.UID, camwatch_self.build),
)


def to_dict(dashboard: dm.Dashboard) -> dict[str, object]:
    """The dashboard as plain JSON data (the SDK's encoder, round-tripped through ``json``)."""
    data: dict[str, object] = json.loads(json.dumps(dashboard, cls=JSONEncoder))
    return data


def render(data: dict[str, object]) -> str:
    """Stable text of a dashboard: sorted keys, Chinese kept readable, trailing newline."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def build_all() -> dict[str, dict[str, object]]:
    return {spec.file: to_dict(spec.build()) for spec in DASHBOARDS}
