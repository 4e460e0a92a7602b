"""The GB/T 28181 leader's address on Kubernetes (``gb28181.kubernetes_service``): the leader
writes the EndpointSlice of a Service without selector, with its own pod address, so that the
devices registering to that Service reach the replica hosting the SIP platform (as Patroni moves
its leader's Endpoints). The leader claims the slice when its platform listens, checks it every
:data:`CHECK_S`, and at the end of its term empties it if it still names this pod (an update
conditioned on the slice's ``resourceVersion``: never over the next leader's claim).

Talks to the API server as a pod does (its service account's token, CA and namespace under
:data:`SA_DIR`; the address from ``KUBERNETES_SERVICE_HOST``/``_PORT``); the pod's own address
and names come from the downward API (``POD_IP``, ``POD_NAME``, ``NODE_NAME``). The Role it needs:
``endpointslices`` in ``discovery.k8s.io``, verbs get, create, update (config/kubernetes/gb28181/).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

log = logging.getLogger("camwatch.gb28181")
SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
CHECK_S = 30.0  # the claimed slice is read again this often (put back when someone changed it)
RETRY_S = 2.0  # a failed claim is tried again this often
TIMEOUT_S = 5.0  # one request to the API server
MANAGER = "camwatch"
LEADER_ANNOTATION = "camwatch.io/leader"
PORT_NAMES = {"udp": "sip-udp", "tcp": "sip-tcp"}  # the Service's port names (config/kubernetes/gb28181/)


class KubeError(Exception):
    """The API server could not be reached or refused a request, or this is no pod (the one error
    this module raises); ``zh``: the same in Chinese, for the CLI."""

    def __init__(self, message: str, zh: str | None = None) -> None:
        super().__init__(message)
        self.zh = zh or message


@dataclass(frozen=True, slots=True)
class InCluster:
    """How this pod reaches the API server, and who it is."""

    api: str  # https://host:port
    token_path: Path  # read at each request: projected tokens are rotated
    ca_path: Path
    namespace: str
    pod_ip: str
    pod_name: str | None
    node_name: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], sa_dir: Path | None = None) -> InCluster:
        """This pod's view, or :class:`KubeError` naming what is missing (*sa_dir*: :data:`SA_DIR`)."""
        sa_dir = SA_DIR if sa_dir is None else sa_dir
        host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise KubeError("gb28181.kubernetes_service needs a Kubernetes pod: KUBERNETES_SERVICE_HOST is not set",
                            "gb28181.kubernetes_service 需要在 Kubernetes Pod 中运行：未设置 KUBERNETES_SERVICE_HOST")
        pod_ip = environ.get("POD_IP", "")
        try:
            ipaddress.ip_address(pod_ip)
        except ValueError:
            raise KubeError("gb28181.kubernetes_service needs the pod's address in POD_IP (downward API "
                            f"status.podIP), got {pod_ip!r}", "gb28181.kubernetes_service 需要环境变量 POD_IP 给出 Pod "
                            f"地址（downward API 的 status.podIP），现为 {pod_ip!r}") from None
        for name in ("token", "ca.crt"):
            if not (sa_dir / name).is_file():
                raise KubeError(f"gb28181.kubernetes_service: no service account {name} in {sa_dir} "
                                "(automountServiceAccountToken: true and a serviceAccountName, config/kubernetes/gb28181/)",
                                f"gb28181.kubernetes_service：{sa_dir} 中没有服务账号的 {name}（需要 serviceAccountName 和 "
                                "automountServiceAccountToken: true，见 config/kubernetes/gb28181/）")
        namespace = environ.get("POD_NAMESPACE") or _read(sa_dir / "namespace") or "default"
        api_host = f"[{host}]" if ":" in host else host
        return cls(f"https://{api_host}:{port}", sa_dir / "token", sa_dir / "ca.crt", namespace, pod_ip,
                   environ.get("POD_NAME") or None, environ.get("NODE_NAME") or None)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def slice_name(service: str) -> str:
    """The EndpointSlice the leader writes for *service*."""
    return f"{service}-leader"


def slice_body(service: str, me: InCluster, replica_id: str, ports: Mapping[str, int],
               resource_version: str | None = None, *, ready: bool = True) -> dict[str, Any]:
    """The EndpointSlice naming this pod (or, not *ready*, naming none) at the platform's *ports*
    (transport -> port)."""
    meta: dict[str, Any] = {
        "name": slice_name(service),
        "namespace": me.namespace,
        "labels": {"kubernetes.io/service-name": service, "endpointslice.kubernetes.io/managed-by": MANAGER},
        "annotations": {LEADER_ANNOTATION: replica_id if ready else ""},
    }
    if resource_version is not None:
        meta["resourceVersion"] = resource_version
    endpoints: list[dict[str, Any]] = []
    if ready:
        ep: dict[str, Any] = {"addresses": [me.pod_ip], "conditions": {"ready": True}}
        if me.node_name:
            ep["nodeName"] = me.node_name  # (externalTrafficPolicy: Local finds the leader's node by it)
        if me.pod_name:
            ep["targetRef"] = {"kind": "Pod", "name": me.pod_name, "namespace": me.namespace}
        endpoints.append(ep)
    family = "IPv6" if ipaddress.ip_address(me.pod_ip).version == 6 else "IPv4"
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta, "addressType": family,
            "endpoints": endpoints,
            "ports": [{"name": PORT_NAMES[t], "protocol": t.upper(), "port": p} for t, p in sorted(ports.items())]}


def names_me(obj: Mapping[str, Any], me: InCluster, replica_id: str) -> bool:
    """Whether a slice read back names this pod and replica."""
    notes = (obj.get("metadata") or {}).get("annotations") or {}
    addresses = [a for ep in obj.get("endpoints") or [] for a in ep.get("addresses") or []]
    return notes.get(LEADER_ANNOTATION) == replica_id and addresses == [me.pod_ip]


class LeaderSlice:
    """The leader's EndpointSlice of ``service``: :meth:`keep` while leading, :meth:`release` after."""

    def __init__(self, service: str, me: InCluster, replica_id: str, *, check_s: float = CHECK_S,
                 retry_s: float = RETRY_S) -> None:
        self.service, self.me, self.replica_id = service, me, replica_id
        self.check_s, self.retry_s = check_s, retry_s
        self.claimed = False  # the slice names this pod (as last read or written)
        self.error: str | None = None  # the last failure, for /healthz
        self._ports: dict[str, int] = {}

    @property
    def _url(self) -> str:
        return f"{self.me.api}/apis/discovery.k8s.io/v1/namespaces/{self.me.namespace}/endpointslices"

    @property
    def _named(self) -> str:
        return f"{self._url}/{slice_name(self.service)}"

    async def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """One request: (status, decoded body); :class:`KubeError` when it could not be made."""
        try:
            token = self.me.token_path.read_text(encoding="utf-8").strip()
            ctx = ssl.create_default_context(cafile=str(self.me.ca_path))
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http, http.request(
                    method, url, ssl=ctx, json=body,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}) as resp:
                raw = await resp.read()
        except (TimeoutError, OSError, ssl.SSLError, aiohttp.ClientError) as exc:
            raise KubeError(f"{method} {url}: {type(exc).__name__}: {exc}"[:300]) from None
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {}
        if not isinstance(doc, dict):
            doc = {}
        if resp.status in (401, 403):
            raise KubeError(f"{method} {url}: {resp.status} {doc.get('message', '')} (the Role of "
                            "config/kubernetes/gb28181/ grants get, create, update on endpointslices)"[:400])
        return resp.status, doc

    async def _get(self) -> dict[str, Any] | None:
        status, doc = await self._call("GET", self._named)
        if status == 404:
            return None
        if status != 200:
            raise KubeError(f"reading EndpointSlice {slice_name(self.service)}: HTTP {status} {doc.get('message', '')}")
        return doc

    async def claim(self, ports: Mapping[str, int]) -> None:
        """Make the slice name this pod at *ports* (created when missing); :class:`KubeError` if not."""
        self._ports = dict(ports)
        for _ in range(5):  # (409: another writer in between; read it again)
            current = await self._get()
            if current is not None and names_me(current, self.me, self.replica_id) and _ports_of(current) == self._ports:
                self.claimed = True
                return
            if current is None:
                status, doc = await self._call("POST", self._url, slice_body(self.service, self.me, self.replica_id, ports))
            else:
                version = (current.get("metadata") or {}).get("resourceVersion")
                status, doc = await self._call("PUT", self._named,
                                               slice_body(self.service, self.me, self.replica_id, ports, version))
            if status in (200, 201):
                self.claimed = True
                log.info("gb28181: Service %s now sends devices to this pod (%s)", self.service, self.me.pod_ip)
                return
            if status != 409:
                raise KubeError(f"writing EndpointSlice {slice_name(self.service)}: HTTP {status} {doc.get('message', '')}")
        raise KubeError(f"writing EndpointSlice {slice_name(self.service)}: changed by another writer at every try")

    async def keep(self, ports: Mapping[str, int]) -> None:
        """While leading: claim, then check every ``check_s`` (put back when changed). Runs
        until cancelled; failures are logged and tried again, the platform runs on regardless."""
        wait = 0.0
        while True:
            await asyncio.sleep(wait)
            try:
                await self.claim(ports)
            except Exception as exc:  # noqa: BLE001 - KubeError, or a slice of a shape not foreseen: tried again
                self.claimed = False
                why = str(exc) if isinstance(exc, KubeError) else f"{type(exc).__name__}: {exc}"
                if self.error != why:
                    log.warning("gb28181: devices cannot be sent to this leader yet (%s); trying again every %g s",
                                why, self.retry_s)
                self.error = why
                wait = self.retry_s
            else:
                self.error = None
                wait = self.check_s

    async def release(self) -> bool:
        """At the end of the term: empty the slice if it still names this pod (conditioned on its
        version: a newer leader's claim is never undone). Whether it was emptied."""
        self.claimed = False
        try:
            current = await self._get()
            if current is None or not names_me(current, self.me, self.replica_id):
                return False
            version = (current.get("metadata") or {}).get("resourceVersion")
            status, _ = await self._call("PUT", self._named, slice_body(
                self.service, self.me, self.replica_id, self._ports or _ports_of(current), version, ready=False))
        except KubeError as exc:
            log.warning("gb28181: EndpointSlice %s not emptied (%s); the next leader's claim replaces it",
                        slice_name(self.service), exc)
            return False
        return status == 200


def _ports_of(obj: Mapping[str, Any]) -> dict[str, int]:
    names = {v: k for k, v in PORT_NAMES.items()}
    return {names[p["name"]]: int(p.get("port") or 0) for p in obj.get("ports") or []
            if isinstance(p, dict) and p.get("name") in names}


__all__ = ["CHECK_S", "InCluster", "KubeError", "LeaderSlice", "names_me", "slice_body", "slice_name"]
