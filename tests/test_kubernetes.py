"""The Kubernetes manifests (config/kubernetes): every file parses, the pieces point at each other
(ports, labels, the config map, the Secret), the probes read /healthz, and the config map's
camwatch.yaml loads with the project's settings loader (unknown keys rejected).

No cluster, kubectl or kubeconform here: the checks are the parse and these cross-references.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml

from collector.runtime import k8s_slice
from collector.runtime.interval_writer import IntervalWriter
from collector.runtime.k8s_slice import PORT_NAMES, InCluster
from collector.runtime.replicas import Replica
from collector.settings import ConfigError, HttpSettings, load_settings

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "config" / "kubernetes"
KEY = "dGVzdC1rZXktbWF0ZXJpYWwtZm9yLWt1YmVybmV0ZXM9PT0="


def docs() -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of every manifest, by (kind, name)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert isinstance(doc, dict), f"{path.name}: a document is not a mapping"
            for key in ("apiVersion", "kind", "metadata"):
                assert key in doc, f"{path.name}: no {key}"
            name = doc["metadata"]["name"]
            assert (doc["kind"], name) not in out, f"{path.name}: {doc['kind']} {name} twice"
            out[(doc["kind"], name)] = doc
    return out


@pytest.fixture(scope="module")
def objs() -> dict[tuple[str, str], dict[str, Any]]:
    return docs()


@pytest.fixture(scope="module")
def deployment(objs: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    return objs[("Deployment", "camwatch")]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (c,) = workload["spec"]["template"]["spec"]["containers"]
    return dict(c)


def config_yaml(objs: dict[tuple[str, str], dict[str, Any]], workload: dict[str, Any], tmp: Path) -> Path:
    """The camwatch.yaml the workload reads (CAMWATCH_CONFIG, in its mounted config map), as a file."""
    c = container(workload)
    env = {e["name"]: e for e in c["env"]}
    path = Path(env["CAMWATCH_CONFIG"]["value"])
    mount = next(m for m in c["volumeMounts"] if path.parent == Path(m["mountPath"]))
    volume = next(v for v in workload["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    data = objs[("ConfigMap", volume["configMap"]["name"])]["data"]
    out = tmp / "camwatch.yaml"
    out.write_text(data[path.name], encoding="utf-8")
    return out


def test_kustomization_lists_files_that_exist() -> None:
    k = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert k["kind"] == "Kustomization"
    for res in k["resources"]:
        assert (K8S / res).is_file(), res
    # the operator's CRD may be missing and the Job runs once per release: both applied by hand
    assert {"deployment.yaml", "service.yaml", "configmap.yaml"} <= set(k["resources"])
    assert "servicemonitor.yaml" not in k["resources"]


def test_every_manifest_parses(objs: dict[tuple[str, str], dict[str, Any]]) -> None:
    kinds = {kind for kind, _ in objs}
    assert {"Deployment", "Service", "ConfigMap", "ServiceMonitor", "PodDisruptionBudget", "Job"} <= kinds
    assert objs[("ServiceMonitor", "camwatch")]["apiVersion"] == "monitoring.coreos.com/v1"


def test_three_replicas_on_camwatch_default_port(deployment: dict[str, Any]) -> None:
    assert deployment["spec"]["replicas"] == 3
    c = container(deployment)
    (port,) = c["ports"]
    assert port["containerPort"] == HttpSettings().port == 9850
    assert port["name"] == "http"
    ann = deployment["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert ann["prometheus.io/port"] == str(port["containerPort"])
    assert ann["prometheus.io/path"] == "/metrics"
    assert deployment["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_probes_read_healthz_on_the_http_port(deployment: dict[str, Any], probe: str) -> None:
    c = container(deployment)
    get = c[probe]["httpGet"]
    assert get["path"] == "/healthz"
    assert get["port"] in ("http", c["ports"][0]["containerPort"])
    assert c[probe]["timeoutSeconds"] < c[probe]["periodSeconds"] or probe == "startupProbe"


def test_resources_and_a_grace_period_longer_than_the_stop(deployment: dict[str, Any]) -> None:
    c = container(deployment)
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert "memory" in c["resources"]["limits"]
    # the stop: the final write (settle the batch in flight, then flush: each bounded by close's
    # timeout), then the coordination session's close (bounded by the replica's query timeout)
    close_s = inspect.signature(IntervalWriter.close).parameters["timeout_s"].default
    rep = Replica(None, "", None, replica_id="r", collector_id="default", shards=256, takeover_s=120)  # type: ignore[arg-type]
    stop_s = 2 * close_s + rep.timeout
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert stop_s + 5 <= grace <= 120, (stop_s, grace)


def test_service_and_servicemonitor_select_the_pods(objs: dict[tuple[str, str], dict[str, Any]],
                                                     deployment: dict[str, Any]) -> None:
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    svc = objs[("Service", "camwatch")]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    (port,) = svc["spec"]["ports"]
    assert port["targetPort"] in ("http", HttpSettings().port) and port["name"] == "http"
    sm = objs[("ServiceMonitor", "camwatch")]["spec"]
    assert sm["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    (ep,) = sm["endpoints"]
    assert ep["port"] == port["name"] and ep["path"] == "/metrics"
    assert int(ep["scrapeTimeout"].rstrip("s")) < int(ep["interval"].rstrip("s"))
    pdb = objs[("PodDisruptionBudget", "camwatch")]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= pod_labels.items()


@pytest.mark.parametrize(("kind", "name"), [("Deployment", "camwatch"), ("Job", "camwatch-migrate")])
def test_database_and_key_come_from_the_secret(objs: dict[tuple[str, str], dict[str, Any]], kind: str, name: str) -> None:
    env = {e["name"]: e for e in container(objs[(kind, name)])["env"]}
    assert env["CAMWATCH_DB"]["valueFrom"]["secretKeyRef"]["name"] == "camwatch"
    if kind == "Deployment":
        assert env["CAMWATCH_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "camwatch"
    assert all("value" not in e or "postgresql" not in str(e["value"]) for e in env.values())


@pytest.mark.parametrize(("kind", "name"), [("Deployment", "camwatch"), ("Job", "camwatch-migrate")])
def test_config_map_loads_with_the_settings_loader(objs: dict[tuple[str, str], dict[str, Any]], kind: str, name: str,
                                                    tmp_path: Path) -> None:
    workload = objs[(kind, name)]
    path = config_yaml(objs, workload, tmp_path)
    # the environment the pod gets, the Secret's values stood in for
    environ = {e["name"]: e.get("value", "") for e in container(workload)["env"]}
    environ.update(CAMWATCH_CONFIG=str(path), CAMWATCH_DB="postgresql://camwatch@db.example/camwatch")
    if "CAMWATCH_SECRET_KEY" in environ:
        environ["CAMWATCH_SECRET_KEY"] = KEY
    settings = load_settings(path, environ=environ, db_url=environ["CAMWATCH_DB"])
    assert settings.collector.replicas is True
    assert settings.http.host == "0.0.0.0"
    assert settings.http.port == container(objs[("Deployment", "camwatch")])["ports"][0]["containerPort"]
    assert settings.database.url.startswith("postgresql://")


def test_an_unknown_key_in_the_config_map_is_refused(objs: dict[tuple[str, str], dict[str, Any]],
                                                      deployment: dict[str, Any], tmp_path: Path) -> None:
    path = config_yaml(objs, deployment, tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["collector"]["replica"] = True  # a typo of replicas
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"collector\.replica: unknown key"):
        load_settings(path, environ={"CAMWATCH_DB": "postgresql://camwatch@db.example/camwatch"})


# -- the gb28181 component (config/kubernetes/gb28181/): the Service follows the GB/T 28181 leader --

COMPONENT = K8S / "gb28181"


def component() -> dict[tuple[str, str], dict[str, Any]]:
    k = yaml.safe_load((COMPONENT / "kustomization.yaml").read_text(encoding="utf-8"))
    assert k["kind"] == "Component" and k["apiVersion"] == "kustomize.config.k8s.io/v1alpha1"
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for name in [*k["resources"], *(p["path"] for p in k["patches"])]:
        for doc in yaml.safe_load_all((COMPONENT / name).read_text(encoding="utf-8")):
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


def patched_env(patch: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (c,) = patch["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in c["env"]}


def test_the_component_is_offered_and_patches_the_deployment(deployment: dict[str, Any]) -> None:
    base = (K8S / "kustomization.yaml").read_text(encoding="utf-8")
    assert "#   - gb28181" in base  # (offered, commented out: not every county has GB/T 28181 devices)
    objs = component()
    patch = objs[("Deployment", deployment["metadata"]["name"])]
    (c,) = patch["spec"]["template"]["spec"]["containers"]
    assert c["name"] == container(deployment)["name"]
    spec = patch["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is True  # (the base turns it off)
    assert ("ServiceAccount", spec["serviceAccountName"]) in objs


def test_the_pod_tells_camwatch_who_it_is_through_the_downward_api() -> None:
    env = patched_env(component()[("Deployment", "camwatch")])
    fields = {name: e["valueFrom"]["fieldRef"]["fieldPath"] for name, e in env.items() if "fieldRef" in e.get("valueFrom", {})}
    assert fields == {"POD_IP": "status.podIP", "POD_NAME": "metadata.name", "NODE_NAME": "spec.nodeName"}
    src = inspect.getsource(InCluster.from_env)
    assert all(f'"{name}"' in src for name in fields)


def test_the_service_has_no_selector_and_the_leaders_port_names() -> None:
    objs = component()
    service = patched_env(objs[("Deployment", "camwatch")])["CAMWATCH_GB28181__KUBERNETES_SERVICE"]["value"]
    svc = objs[("Service", service)]["spec"]
    assert "selector" not in svc  # (the endpoints controller would overwrite the leader's slice otherwise)
    assert {(p["name"], p["protocol"]) for p in svc["ports"]} == {(n, t.upper()) for t, n in PORT_NAMES.items()}
    assert svc["externalTrafficPolicy"] == "Local"
    (c,) = objs[("Deployment", "camwatch")]["spec"]["template"]["spec"]["containers"]
    assert {(p["name"], p["protocol"], p["containerPort"]) for p in c["ports"]} == {
        (p["name"], p["protocol"], p["targetPort"]) for p in svc["ports"]}


def test_the_role_grants_what_the_leader_calls_and_no_more() -> None:
    objs = component()
    service = patched_env(objs[("Deployment", "camwatch")])["CAMWATCH_GB28181__KUBERNETES_SERVICE"]["value"]
    role = objs[("Role", "camwatch-gb28181-leader")]
    granted = {(verb, name) for rule in role["rules"] for verb in rule["verbs"]
               for name in rule.get("resourceNames", ["*"])
               if rule["apiGroups"] == ["discovery.k8s.io"] and rule["resources"] == ["endpointslices"]}
    assert granted == {("create", "*"), ("get", f"{service}-leader"), ("update", f"{service}-leader")}
    src = inspect.getsource(k8s_slice.LeaderSlice)
    used = {m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if f'"{m}"' in src}
    assert used == {"GET", "POST", "PUT"}  # get, create, update
    binding = objs[("RoleBinding", "camwatch-gb28181-leader")]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
    account = objs[("Deployment", "camwatch")]["spec"]["template"]["spec"]["serviceAccountName"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account}]


def test_the_config_map_with_the_component_loads(objs: dict[tuple[str, str], dict[str, Any]], deployment: dict[str, Any],
                                                 tmp_path: Path) -> None:
    path = config_yaml(objs, deployment, tmp_path)
    environ = {e["name"]: e.get("value", "") for e in container(deployment)["env"]}
    environ.update({n: e["value"] for n, e in patched_env(component()[("Deployment", "camwatch")]).items() if "value" in e})
    environ.update(CAMWATCH_CONFIG=str(path), CAMWATCH_DB="postgresql://camwatch@db.example/camwatch",
                   CAMWATCH_SECRET_KEY=KEY, CAMWATCH_GB28181__PASSWORD="a-default-Pw1")
    settings = load_settings(path, environ=environ, db_url=environ["CAMWATCH_DB"])
    assert settings.gb28181.enabled and settings.gb28181.kubernetes_service == "camwatch-gb28181"
    assert settings.collector.replicas
