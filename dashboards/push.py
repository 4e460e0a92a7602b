"""Create or update the camwatch folder and dashboards in Grafana through grafana-client, idempotently.

A dashboard is only written when its content (ignoring Grafana's ``id`` and ``version``) or its
folder differs from what Grafana has, so pushing twice changes nothing the second time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from dashboards.build import DASHBOARDS, to_dict

DEFAULT_FOLDER = "camwatch"
_VOLATILE = ("id", "version")


@dataclass(frozen=True, slots=True)
class PushReport:
    folder_uid: str
    folder_created: bool
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


class PushError(Exception):
    """Grafana refused or failed a request (message without the token)."""


def folder_uid_for(name: str) -> str:
    """A stable folder uid for a (possibly Chinese) folder name: Grafana uids are ASCII, at most 40 chars."""
    return "camwatch-" + hashlib.sha256(name.encode()).hexdigest()[:16]


def _comparable(data: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in data.items() if k not in _VOLATILE}


def _ensure_folder(api: GrafanaApi, name: str) -> tuple[str, bool]:
    for f in api.folder.get_all_folders():
        if f.get("title") == name:
            return str(f["uid"]), False
    created = api.folder.create_folder(name, uid=folder_uid_for(name))
    return str(created["uid"]), True


def _existing(api: GrafanaApi, uid: str) -> tuple[dict[str, object], str | None] | None:
    try:
        found = api.dashboard.get_dashboard(uid)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise
    meta = found.get("meta") or {}
    return found["dashboard"], meta.get("folderUid")


def push(url: str, token: str, folder: str = DEFAULT_FOLDER, *, timeout_s: float = 10.0) -> PushReport:
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout_s)
    try:
        folder_uid, folder_created = _ensure_folder(api, folder)
        created: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        for spec in DASHBOARDS:
            ours = to_dict(spec.build())
            old = _existing(api, spec.uid)
            if old is not None and _comparable(old[0]) == _comparable(ours) and old[1] == folder_uid:
                unchanged.append(spec.uid)
                continue
            api.dashboard.update_dashboard({
                "dashboard": {**ours, "id": None}, "folderUid": folder_uid, "overwrite": True,
                "message": "camwatch dashboards push",
            })
            (created if old is None else updated).append(spec.uid)
    except GrafanaException as exc:  # the one place Grafana and transport errors are mapped
        raise PushError(f"Grafana answered {exc.status_code}: {exc.message}") from None
    except OSError as exc:
        raise PushError(f"cannot reach Grafana: {exc.__class__.__name__}") from None
    return PushReport(folder_uid, folder_created, tuple(created), tuple(updated), tuple(unchanged))
