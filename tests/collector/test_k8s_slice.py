"""The GB/T 28181 leader's address on Kubernetes (collector/runtime/k8s_slice.py): the leader
claims the Service's EndpointSlice with its own pod address while its SIP platform listens, puts it
back when someone changed it, empties it at the end of its term unless a newer leader has claimed
it, and keeps trying while the API server is away or refuses.

The API server is tests/collector/kube_api.py, a stand-in over TLS on loopback (no Kubernetes
control plane can run here); the SIP platform is the real one on loopback and the relay writes to
the local PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from collector.gb28181.config import Gb28181Settings
from collector.runtime.gb28181_feed import Gb28181Feed
from collector.runtime.gb28181_relay import VerdictRelay
from collector.runtime.gb28181_replicas import lead_platform
from collector.runtime.k8s_slice import InCluster, KubeError, LeaderSlice, slice_body
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.settings import CollectorSettings, ConfigError, load_settings
from inventory.db import create_engine
from tests.collector.kube_api import FakeKubeApi, service_account
from tests.collector.test_cli_inventory import camwatch
from tests.collector.test_gb28181_restart import _free_port
from tests.collector.test_replicas import stop_all as stop_replicas
from tests.collector.test_replicas_gb28181 import Replica, gb_inventory
from tests.collector.test_replicas_gb28181 import until as until_in_thread
from tests.conftest import fresh_pg_schema
from tests.inventory.helpers import migrated

SERVICE = "camwatch-gb28181"
NS = "camwatch"


@contextlib.asynccontextmanager
async def kube(tmp: Path) -> AsyncIterator[tuple[FakeKubeApi, Path, str]]:
    """The stand-in API server over TLS on loopback: (it, the service account dir, its URL)."""
    sa, pem = service_account(tmp, NS)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem)
    api = FakeKubeApi()
    runner = web.AppRunner(api.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield api, sa, f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def pod(sa: Path, url: str, ip: str, name: str = "camwatch-0") -> InCluster:
    port = url.rsplit(":", 1)[1]
    return InCluster.from_env({"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port,
                               "POD_IP": ip, "POD_NAME": name, "NODE_NAME": f"node-{name[-1]}"}, sa)


def endpoints(api: FakeKubeApi) -> list[str]:
    obj = api.objects[(NS, f"{SERVICE}-leader")]
    return [a for ep in obj["endpoints"] for a in ep["addresses"]]


async def until(cond: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, f"not within {timeout} s: {what}"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(("env", "files", "error"), [
    ({"POD_IP": "10.0.0.5"}, True, "KUBERNETES_SERVICE_HOST"),
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, True, "POD_IP"),
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "POD_IP": "pod-a"}, True, "POD_IP"),
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "POD_IP": "10.0.0.5"}, False, "automountServiceAccountToken"),
])
def test_outside_a_pod_the_error_names_what_is_missing(tmp_path: Path, env: dict[str, str], files: bool,
                                                       error: str) -> None:
    sa, _ = service_account(tmp_path)
    if not files:
        (sa / "token").unlink()
    with pytest.raises(KubeError, match=error):
        InCluster.from_env(env, sa)


def test_the_pods_view_from_its_environment(tmp_path: Path) -> None:
    sa, _ = service_account(tmp_path, "county-a")
    me = InCluster.from_env({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443",
                             "POD_IP": "fd00:10::7", "NODE_NAME": "n1"}, sa)
    assert (me.api, me.namespace, me.pod_ip, me.pod_name, me.node_name) == (
        "https://[fd00::1]:6443", "county-a", "fd00:10::7", None, "n1")
    assert InCluster.from_env({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "POD_IP": "10.0.0.5",
                               "POD_NAMESPACE": "other"}, sa).namespace == "other"
    body = slice_body(SERVICE, me, "r1", {"udp": 5060, "tcp": 5061})
    assert body["addressType"] == "IPv6"
    assert body["ports"] == [{"name": "sip-tcp", "protocol": "TCP", "port": 5061},
                             {"name": "sip-udp", "protocol": "UDP", "port": 5060}]
    assert body["endpoints"] == [{"addresses": ["fd00:10::7"], "conditions": {"ready": True}, "nodeName": "n1"}]


def test_claim_check_put_back_and_release(tmp_path: Path) -> None:
    async def go() -> None:
        async with kube(tmp_path) as (api, sa, url):
            me = pod(sa, url, "10.1.0.7")
            ours = LeaderSlice(SERVICE, me, "r-a", check_s=0.2)
            keeping = asyncio.create_task(ours.keep({"udp": 5060, "tcp": 5060}))
            await until(lambda: ours.claimed, 10, "claimed")
            obj = api.objects[(NS, f"{SERVICE}-leader")]
            assert endpoints(api) == ["10.1.0.7"]
            assert obj["metadata"]["labels"] == {"kubernetes.io/service-name": SERVICE,
                                                 "endpointslice.kubernetes.io/managed-by": "camwatch"}
            assert obj["endpoints"][0]["nodeName"] == "node-0"
            assert obj["endpoints"][0]["targetRef"] == {"kind": "Pod", "name": "camwatch-0", "namespace": NS}
            assert {p["name"]: (p["protocol"], p["port"]) for p in obj["ports"]} == {
                "sip-udp": ("UDP", 5060), "sip-tcp": ("TCP", 5060)}
            # an operator's edit (or a stale controller) points it elsewhere: put back at the next check
            edited = dict(obj, endpoints=[{"addresses": ["10.9.9.9"]}])
            api.write(NS, edited)
            await until(lambda: endpoints(api) == ["10.1.0.7"], 10, "put back")
            # ... even from a shape camwatch never writes (no endpoints, a port without a number)
            api.write(NS, dict(obj, endpoints=None, ports=[{"name": "sip-udp", "protocol": "UDP"}]))
            await until(lambda: (api.objects[(NS, f"{SERVICE}-leader")]["endpoints"] or [{}])[0].get("addresses")
                        == ["10.1.0.7"], 10, "put back from an odd shape")
            assert ours.error is None
            keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeping
            assert await ours.release() is True
            assert endpoints(api) == [] and not ours.claimed
            assert api.objects[(NS, f"{SERVICE}-leader")]["metadata"]["annotations"] == {"camwatch.io/leader": ""}
            assert await ours.release() is False  # (nothing of ours left)

    asyncio.run(go())


def test_a_deposed_leader_never_empties_the_next_leaders_slice(tmp_path: Path) -> None:
    async def go() -> None:
        async with kube(tmp_path) as (api, sa, url):
            old = LeaderSlice(SERVICE, pod(sa, url, "10.1.0.7", "camwatch-0"), "r-a")
            new = LeaderSlice(SERVICE, pod(sa, url, "10.1.0.8", "camwatch-1"), "r-b")
            await old.claim({"udp": 5060})
            await new.claim({"udp": 5060})  # the next leader's term began before the old one's ended
            assert endpoints(api) == ["10.1.0.8"]
            assert await old.release() is False
            assert endpoints(api) == ["10.1.0.8"]
            # the race: the old one read its own claim, and the new one wrote between that read and its write
            await old.claim({"udp": 5060})
            api.before_put = lambda: api.write(NS, slice_body(SERVICE, new.me, "r-b", {"udp": 5060}))
            assert await old.release() is False  # (its write was conditioned on the version it read: 409)
            assert endpoints(api) == ["10.1.0.8"]
            assert [m for m, _ in api.requests[-2:]] == ["GET", "PUT"]

    asyncio.run(go())


@pytest.mark.parametrize(("trouble", "says"), [("down", "503"), ("forbidden", "Role"), ("token", "401")])
def test_an_api_server_away_or_refusing_is_retried_and_shown(tmp_path: Path, trouble: str, says: str) -> None:
    async def go() -> None:
        async with kube(tmp_path) as (api, sa, url):
            me = pod(sa, url, "10.1.0.7")
            token = me.token_path.read_text(encoding="utf-8")
            if trouble == "token":  # (a token the API server no longer takes)
                me.token_path.write_text("stale", encoding="utf-8")
            else:
                setattr(api, trouble, True)
            ours = LeaderSlice(SERVICE, me, "r-a", retry_s=0.1)
            keeping = asyncio.create_task(ours.keep({"udp": 5060}))
            await until(lambda: ours.error is not None, 10, "the failure shown")
            assert says in (ours.error or "") and not ours.claimed
            tries = len(api.requests)
            await until(lambda: len(api.requests) >= tries + 2, 10, "tried again")
            # it recovers: the API server back, the Role granted, the token rotated in its file
            if trouble == "token":
                me.token_path.write_text(token, encoding="utf-8")
            else:
                setattr(api, trouble, False)
            await until(lambda: ours.claimed, 10, "claimed once it answers")
            assert ours.error is None and endpoints(api) == ["10.1.0.7"]
            keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeping

    asyncio.run(go())


@pytest.fixture
def pg_url(pg_reason: str | None) -> Iterator[str]:
    with fresh_pg_schema(pg_reason) as url:
        yield url


@pytest.mark.postgres
def test_the_leader_points_the_service_at_its_platform_for_its_term(tmp_path: Path, pg_url: str) -> None:
    """lead_platform with a real SIP platform (UDP and TCP on a free port of loopback): the slice
    names this pod at the port the platform got while it leads, and none after its term."""
    migrated(pg_url)
    settings = Gb28181Settings(enabled=True, host="127.0.0.1", port=0, password="default-Pw-1")
    sched = Scheduler(SchedulerConfig.from_settings(CollectorSettings(video=False)), None)

    async def go() -> None:
        engine = create_engine(pg_url)
        try:
            async with kube(tmp_path) as (api, sa, url):
                ours = LeaderSlice(SERVICE, pod(sa, url, "10.1.0.7"), "r-a")
                feeds: list[Gb28181Feed | None] = []
                job = asyncio.create_task(lead_platform(lambda r: Gb28181Feed(settings, sched, list, relay=r),
                                                        VerdictRelay(engine, "r-a"), feeds.append, lambda: False, ours))
                await until(lambda: ours.claimed, 10, "the leader's claim")
                assert feeds and feeds[0] is not None
                got = {t: p for t, (_, p) in feeds[0].platform.addresses.items()}
                obj = api.objects[(NS, f"{SERVICE}-leader")]
                assert {p["name"]: p["port"] for p in obj["ports"]} == {"sip-udp": got["udp"], "sip-tcp": got["tcp"]}
                assert endpoints(api) == ["10.1.0.7"]
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job
                assert feeds[-1] is None and endpoints(api) == []
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_the_setting_needs_replicas_and_a_service_name(tmp_path: Path) -> None:
    base = {"database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'cw.db'}"}}
    for extra, key in [({"gb28181": {"enabled": True, "kubernetes_service": SERVICE}}, "collector.replicas"),
                       ({"gb28181": {"kubernetes_service": "GB_28181"}, "collector": {"replicas": True}}, "Service name")]:
        cfg = tmp_path / "camwatch.yaml"
        cfg.write_text(yaml.safe_dump(base | extra), encoding="utf-8")
        with pytest.raises(ConfigError, match=key):
            load_settings(cfg, environ={})


@pytest.mark.postgres
def test_camwatch_run_outside_a_pod_says_what_is_missing(tmp_path: Path, pg_url: str) -> None:
    migrated(pg_url)
    cfg = tmp_path / "camwatch.yaml"
    cfg.write_text(f"database:\n  url: {pg_url}\ncollector:\n  replicas: true\n"
                   f"gb28181:\n  enabled: true\n  port: 0\n  kubernetes_service: {SERVICE}\n", encoding="utf-8")
    r = camwatch(tmp_path, "--config", str(cfg), "run", env={"KUBERNETES_SERVICE_HOST": ""})
    assert r.returncode != 0
    assert "KUBERNETES_SERVICE_HOST" in r.stderr and "Traceback" not in r.stderr


# The replicas' `camwatch run`, with the one thing a pod has that this machine cannot give a
# process: the service account directory (/var/run/secrets/... cannot be written here), redirected.
RUN_IN_POD = ("import sys, os, pathlib; import collector.runtime.k8s_slice as k; "
              "k.SA_DIR = pathlib.Path(os.environ['CAMWATCH_TEST_SA_DIR']); "
              "from collector.cli import main; sys.argv = ['camwatch', 'run']; main()")


@pytest.mark.postgres
def test_the_service_follows_the_leader_across_a_kill(tmp_path: Path, pg_url: str) -> None:
    """Two real `camwatch run` replicas as pods (POD_IP 10.0.0.1 and .2) with the GB/T 28181
    platform and gb28181.kubernetes_service: the leader's pod is in the Service's EndpointSlice and
    /healthz says so; kill -9 of the leader: the other one hosts the platform and the slice names
    it; its clean stop empties the slice."""
    gb_inventory(tmp_path, pg_url)
    sip = _free_port()

    async def go() -> None:
        async with kube(tmp_path) as (api, sa, url):
            port = url.rsplit(":", 1)[1]

            def start(name: str, ip: str) -> Replica:
                env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port, "POD_IP": ip,
                       "POD_NAME": f"camwatch-{name}", "NODE_NAME": f"node-{name}", "CAMWATCH_TEST_SA_DIR": str(sa),
                       "CAMWATCH_GB28181__KUBERNETES_SERVICE": SERVICE}
                return Replica(tmp_path, pg_url, name, sip, extra_env=env, argv=[sys.executable, "-c", RUN_IN_POD])

            reps = {"a": start("a", "10.0.0.1"), "b": start("b", "10.0.0.2")}
            ips = {"a": "10.0.0.1", "b": "10.0.0.2"}
            try:
                def led() -> str | None:
                    if (NS, f"{SERVICE}-leader") not in api.objects or len(endpoints(api)) != 1:
                        return None
                    return next((n for n, ip in ips.items() if endpoints(api) == [ip]), None)
                await until(lambda: led() is not None, 60, "the leader's pod in the Service's EndpointSlice")
                first = led()
                assert first is not None
                other = "b" if first == "a" else "a"
                # (the slice may be claimed before the HTTP side answers: waited for)
                await until_in_thread(lambda: reps[first].health()["gb28181"]["kubernetes_service"] == {
                    "name": SERVICE, "points_here": True, "error": None}, 60, "/healthz: the Service points here")
                assert (await asyncio.to_thread(reps[first].health))["gb28181"]["platform_here"]
                await until_in_thread(lambda: reps[other].health()["gb28181"] is not None, 60, "the other answers")
                assert (await asyncio.to_thread(reps[other].health))["gb28181"]["kubernetes_service"] == {
                    "name": SERVICE, "points_here": False, "error": None}
                obj = api.objects[(NS, f"{SERVICE}-leader")]
                assert obj["ports"] == [{"name": "sip-udp", "protocol": "UDP", "port": sip}]
                assert obj["endpoints"][0]["nodeName"] == f"node-{first}"
                reps[first].proc.send_signal(signal.SIGKILL)
                reps[first].proc.wait(timeout=10)
                t0 = asyncio.get_running_loop().time()
                await until(lambda: led() == other, 60, "the Service on the next leader")
                print(f"\nthe Service followed the leader {asyncio.get_running_loop().time() - t0:.1f} s after kill -9")
                await until_in_thread(lambda: reps[other].health()["gb28181"]["platform_here"], 30, "it hosts the platform")
                await asyncio.to_thread(reps[other].stop)  # a clean stop: the slice emptied
                assert reps[other].proc.returncode == 0
                assert endpoints(api) == []
            finally:
                await asyncio.to_thread(stop_replicas, list(reps.values()))

    asyncio.run(go())
