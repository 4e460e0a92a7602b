"""A stand-in for the Kubernetes API server's EndpointSlice resource, on loopback over TLS.

No Kubernetes control plane can run on this machine (no kube-apiserver binary, no cluster), so the
tests of collector/runtime/k8s_slice.py talk to this server instead. It keeps what the real one
does for the calls camwatch makes: bearer-token authentication (401), a Role that may be missing
(403), GET / POST (create, 409 when present) / PUT (409 when the body's resourceVersion is not the
stored one) on ``/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices[/{name}]``, required
fields checked (422), a resourceVersion that moves at every write, and a switch that makes it
answer 503 (the API server away). It serves a certificate for 127.0.0.1 signed by a CA of its
own, written beside the service account's token and namespace as a pod has them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TOKEN = "test-service-account-token"  # noqa: S105 - a test's made-up token


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
          *, ca: bool) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer[0] if issuer else name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    else:
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                            critical=False)
    return b.sign(issuer[1] if issuer else key, hashes.SHA256())


def service_account(directory: Path, namespace: str = "camwatch") -> tuple[Path, Path]:
    """A pod's service account directory (token, ca.crt, namespace) and the server's cert chain file
    (certificate then key, PEM) under *directory*; returns (service account dir, server pem)."""
    ca_key, srv_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("test kubernetes CA", ca_key, None, ca=True)
    srv = _cert("kube-apiserver", srv_key, (ca.subject, ca_key), ca=False)
    sa = directory / "serviceaccount"
    sa.mkdir(parents=True)
    (sa / "token").write_text(TOKEN + "\n", encoding="utf-8")
    (sa / "namespace").write_text(namespace, encoding="utf-8")
    (sa / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pem = directory / "apiserver.pem"
    pem.write_bytes(srv.public_bytes(serialization.Encoding.PEM) + srv_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return sa, pem


class FakeKubeApi:
    """The EndpointSlice store; ``objects`` by (namespace, name), ``requests`` as (method, path)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.version = 100
        self.down = False  # answer 503 to everything
        self.forbidden = False  # the Role is missing: 403
        self.before_put: Callable[[], None] | None = None  # run once, just before the next PUT is decided

    def app(self) -> web.Application:
        app = web.Application()
        base = "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
        app.router.add_route("POST", base, self._create)
        app.router.add_route("GET", base + "/{name}", self._get)
        app.router.add_route("PUT", base + "/{name}", self._put)
        return app

    def write(self, ns: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store *obj* as the server would (a new resourceVersion), e.g. an operator's edit."""
        self.version += 1
        obj = json.loads(json.dumps(obj))
        obj["metadata"]["resourceVersion"] = str(self.version)
        obj["metadata"]["namespace"] = ns
        self.objects[(ns, obj["metadata"]["name"])] = obj
        return obj

    def _refuse(self, request: web.Request) -> web.Response | None:
        self.requests.append((request.method, request.path))
        if self.down:
            return _status(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _status(401, "Unauthorized", "Unauthorized")
        if self.forbidden:
            return _status(403, "Forbidden", 'endpointslices.discovery.k8s.io is forbidden: User '
                           '"system:serviceaccount:camwatch:camwatch" cannot get resource "endpointslices"')
        return None

    @staticmethod
    def _invalid(obj: Any, ns: str, name: str | None) -> str | None:
        if not isinstance(obj, dict) or obj.get("kind") != "EndpointSlice" or obj.get("apiVersion") != "discovery.k8s.io/v1":
            return "not a discovery.k8s.io/v1 EndpointSlice"
        meta = obj.get("metadata") or {}
        if not meta.get("name") or (name is not None and meta["name"] != name):
            return "metadata.name: Required or not the one of the path"
        if meta.get("namespace", ns) != ns:
            return "metadata.namespace: does not match the namespace of the request"
        if obj.get("addressType") not in ("IPv4", "IPv6", "FQDN"):
            return "addressType: Unsupported value"
        if not (meta.get("labels") or {}).get("kubernetes.io/service-name"):
            return "metadata.labels: kubernetes.io/service-name missing (the slice would serve no Service)"
        for ep in obj.get("endpoints") or []:
            if not ep.get("addresses"):
                return "endpoints[].addresses: Required value"
        for p in obj.get("ports") or []:
            if p.get("protocol") not in ("TCP", "UDP", "SCTP") or not 0 < int(p.get("port", 0)) < 65536:
                return "ports[]: invalid protocol or port"
        return None

    async def _create(self, request: web.Request) -> web.Response:
        if (refused := self._refuse(request)) is not None:
            return refused
        ns, obj = request.match_info["ns"], await request.json()
        if (why := self._invalid(obj, ns, None)) is not None:
            return _status(422, "Invalid", why)
        if (ns, obj["metadata"]["name"]) in self.objects:
            return _status(409, "AlreadyExists", f'endpointslices "{obj["metadata"]["name"]}" already exists')
        return web.json_response(self.write(ns, obj), status=201)

    async def _get(self, request: web.Request) -> web.Response:
        if (refused := self._refuse(request)) is not None:
            return refused
        obj = self.objects.get((request.match_info["ns"], request.match_info["name"]))
        if obj is None:
            return _status(404, "NotFound", f'endpointslices "{request.match_info["name"]}" not found')
        return web.json_response(obj)

    async def _put(self, request: web.Request) -> web.Response:
        if (refused := self._refuse(request)) is not None:
            return refused
        ns, name, obj = request.match_info["ns"], request.match_info["name"], await request.json()
        if self.before_put is not None:
            hook, self.before_put = self.before_put, None
            hook()
        if (why := self._invalid(obj, ns, name)) is not None:
            return _status(422, "Invalid", why)
        current = self.objects.get((ns, name))
        if current is None:
            return _status(404, "NotFound", f'endpointslices "{name}" not found')
        if (obj.get("metadata") or {}).get("resourceVersion") != current["metadata"]["resourceVersion"]:
            return _status(409, "Conflict", "the object has been modified; please apply your changes to the latest version")
        return web.json_response(self.write(ns, obj))


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                              "message": message, "code": code}, status=code)


__all__ = ["TOKEN", "FakeKubeApi", "service_account"]
