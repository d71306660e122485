"""deploy/k8s: both overlays build, every object validates, and the pieces fit together.

Built objects are checked against the Kubernetes JSON schemas of ``kubernetes-validate``
(strict: unknown fields fail). Custom resources, which those schemas lack, are checked
against the structural schemas in ``crd_schemas.yaml``: ScaledObject and
TriggerAuthentication (KEDA), ServiceMonitor and PrometheusRule (Prometheus Operator).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from services.runtime.settings import ServiceSettings

from .support import K8S, MONITORING, RULES_FILE, common_env_names, kustomize, settings_env_names

KUBERNETES_VERSION = "1.30.0"
CRD_KINDS = {"ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PrometheusRule"}
SERVICES = ("ingest", "inference", "publish")
# every Deployment of the base: name suffix -> the symae command it runs
WORKLOADS = {
    **{s: ["serve", s] for s in SERVICES},
    "archive": ["serve", "archive"],
    "feed-seedlink": ["feed", "seedlink"],
}


def _hpa_build(tmp_path: Path, gpu: bool) -> list[dict[str, Any]]:
    """The base with components/hpa-cpu instead of KEDA (the documented fallback)."""

    def rel(path: Path) -> str:  # kustomize takes relative paths only
        return os.path.relpath(path, tmp_path)

    components = [rel(K8S / "components" / "hpa-cpu")]
    if gpu:
        components.append(rel(K8S / "components" / "gpu"))
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [rel(K8S / "base")],
                "components": components,
            }
        )
    )
    return kustomize(tmp_path)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    return {
        "cpu": kustomize(K8S / "overlays" / "cpu"),
        "gpu": kustomize(K8S / "overlays" / "gpu"),
        "cpu+hpa": _hpa_build(tmp_path_factory.mktemp("hpa-cpu"), gpu=False),
        "gpu+hpa": _hpa_build(tmp_path_factory.mktemp("hpa-gpu"), gpu=True),
        "train": kustomize(K8S / "train"),
    }


def _one(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name!r}, found {len(found)}"
    return found[0]


def _of_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def _pod_specs(objs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for o in objs:
        if o["kind"] in ("Deployment", "Job"):
            out.append((o["metadata"]["name"], o["spec"]["template"]["spec"]))
        elif o["kind"] == "CronJob":
            out.append(
                (o["metadata"]["name"], o["spec"]["jobTemplate"]["spec"]["template"]["spec"])
            )
    return out


def _configmap_data(objs: list[dict[str, Any]], prefix: str) -> dict[str, str]:
    """Data of the generated ConfigMap ``prefix-<hash>``."""
    found = [
        o for o in _of_kind(objs, "ConfigMap") if o["metadata"]["name"].rsplit("-", 1)[0] == prefix
    ]
    assert len(found) == 1, f"ConfigMap {prefix}-<hash>: found {len(found)}"
    return found[0]["data"]


def test_builds_are_not_empty(builds):
    for name, objs in builds.items():
        kinds = {o["kind"] for o in objs}
        expected = {"Job"} if name == "train" else {"Deployment", "CronJob", "ConfigMap", "Secret"}
        assert expected <= kinds, f"{name}: kinds {sorted(kinds)} lack {sorted(expected - kinds)}"


def test_every_object_validates_against_its_schema(builds):
    crd_doc = yaml.safe_load((Path(__file__).parent / "crd_schemas.yaml").read_text())
    checked: set[str] = set()
    for name, objs in builds.items():
        for obj in objs:
            where = f"{name}: {obj['kind']} {obj['metadata'].get('name')}"
            if obj["kind"] in CRD_KINDS:
                schema = {**crd_doc[obj["kind"]], "$defs": crd_doc["$defs"]}
                errors = list(jsonschema.Draft202012Validator(schema).iter_errors(obj))
                assert not errors, f"{where}: {[e.message for e in errors]}"
            else:
                try:
                    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
                except kubernetes_validate.ValidationError as exc:
                    pytest.fail(f"{where}: {exc}")
            checked.add(obj["kind"])
    assert CRD_KINDS <= checked, f"custom resources never built: {sorted(CRD_KINDS - checked)}"


def test_deployments_probe_health_and_readiness_on_the_metrics_port(builds):
    for name in ("cpu", "gpu"):
        objs = builds[name]
        port = int(_configmap_data(objs, "symae-common")["SYMAE_METRICS_PORT"])
        for service, argv in WORKLOADS.items():
            container = _one(objs, "Deployment", f"symae-{service}")["spec"]["template"]["spec"][
                "containers"
            ][0]
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports.get("metrics") == port, f"{name}/{service}: metrics port {ports}"
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
            res = container["resources"]
            assert {"cpu", "memory"} <= set(res["requests"]) and {"cpu", "memory"} <= set(
                res["limits"]
            ), f"{name}/{service}: resources {res}"
            assert container["args"] == argv


def test_pods_run_as_non_root_without_privileges(builds):
    for name, objs in builds.items():
        for owner, spec in _pod_specs(objs):
            pod = spec["securityContext"]
            assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0, f"{name}/{owner}: {pod}"
            assert pod["seccompProfile"]["type"] == "RuntimeDefault"
            for c in spec["containers"]:
                sc = c["securityContext"]
                assert sc["allowPrivilegeEscalation"] is False, f"{name}/{owner}/{c['name']}"
                assert sc["capabilities"]["drop"] == ["ALL"], f"{name}/{owner}/{c['name']}"
                assert sc["readOnlyRootFilesystem"] is True, f"{name}/{owner}/{c['name']}"


def _gpus(container: dict[str, Any]) -> int:
    return int(container["resources"].get("limits", {}).get("nvidia.com/gpu", 0))


def test_only_the_gpu_overlay_requests_gpus(builds):
    for name in ("cpu", "cpu+hpa"):
        for owner, spec in _pod_specs(builds[name]):
            assert all(_gpus(c) == 0 for c in spec["containers"]), f"{name}/{owner} asks for a GPU"
    for name in ("gpu", "gpu+hpa"):
        objs = builds[name]
        inference = _one(objs, "Deployment", "symae-inference")["spec"]["template"]["spec"]
        assert _gpus(inference["containers"][0]) == 1
        assert inference["containers"][0]["image"].endswith("-gpu")
        env = _configmap_data(objs, "symae-inference")
        assert env["SYMAE_EXPECT_GPU"] == "true", env
        for service in ("ingest", "publish", "archive", "feed-seedlink"):
            spec = _one(objs, "Deployment", f"symae-{service}")["spec"]["template"]["spec"]
            assert _gpus(spec["containers"][0]) == 0, f"{name}/{service} asks for a GPU"
    train = _one(builds["train"], "Job", "symae-train-once")["spec"]["template"]["spec"]
    assert _gpus(train["containers"][0]) >= 1


def _autoscaled(objs: list[dict[str, Any]]) -> dict[str, list[tuple[str, int]]]:
    """Deployment name -> [(autoscaler kind, max replicas)]."""
    out: dict[str, list[tuple[str, int]]] = {}
    for so in _of_kind(objs, "ScaledObject"):
        target = so["spec"]["scaleTargetRef"]["name"]
        out.setdefault(target, []).append(("ScaledObject", so["spec"]["maxReplicaCount"]))
    for hpa in _of_kind(objs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        target = hpa["spec"]["scaleTargetRef"]["name"]
        out.setdefault(target, []).append(("HorizontalPodAutoscaler", hpa["spec"]["maxReplicas"]))
    return out


def test_ingest_and_inference_have_exactly_one_autoscaler_within_the_partitions(builds):
    expected_kind = {
        "cpu": "ScaledObject",
        "gpu": "ScaledObject",
        "cpu+hpa": "HorizontalPodAutoscaler",
        "gpu+hpa": "HorizontalPodAutoscaler",
    }
    for name, kind in expected_kind.items():
        objs = builds[name]
        partitions = int(_configmap_data(objs, "symae-common")["SYMAE_TOPIC_PARTITIONS"])
        scaled = _autoscaled(objs)
        assert set(scaled) == {"symae-ingest", "symae-inference"}, f"{name}: {scaled}"
        for target, scalers in scaled.items():
            assert [k for k, _ in scalers] == [kind], f"{name}: {target} scaled by {scalers}"
            assert scalers[0][1] <= partitions, (
                f"{name}: {target} may grow to {scalers[0][1]} replicas but the topics have "
                f"{partitions} partitions"
            )
            deployment = _one(objs, "Deployment", target)
            assert "replicas" not in deployment["spec"], f"{target} pins replicas"


def test_keda_triggers_name_the_services_consumer_groups_and_topics(builds):
    objs = builds["gpu"]
    common = _configmap_data(objs, "symae-common")
    settings = ServiceSettings(topic_prefix=common["SYMAE_TOPIC_PREFIX"])
    for so in _of_kind(objs, "ScaledObject"):
        service = so["spec"]["scaleTargetRef"]["name"].removeprefix("symae-")
        (trigger,) = so["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka"
        assert meta["consumerGroup"] == settings.group_id(service)
        assert meta["bootstrapServersFromEnv"] in common
        if "topic" in meta:
            assert meta["topic"] in {
                settings.topic(t) for t in ("bundles", "origins", "waveforms.raw")
            }
        auth = _one(objs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        for ref in auth["spec"]["secretTargetRef"]:
            secret = _one(objs, "Secret", ref["name"])
            assert ref["key"] in secret.get("stringData", secret.get("data", {})), ref


def test_references_resolve_within_each_build(builds):
    for name, objs in builds.items():
        if name == "train":
            continue
        names = {(o["kind"], o["metadata"]["name"]) for o in objs}
        for owner, spec in _pod_specs(objs):
            for c in spec["containers"]:
                for src in c.get("envFrom", []):
                    assert ("ConfigMap", src["configMapRef"]["name"]) in names, (name, owner, src)
                for env in c.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        secret = _one(objs, "Secret", ref["name"])
                        assert ref["key"] in secret["stringData"], (name, owner, ref)
            for vol in spec.get("volumes", []):
                if "secret" in vol:
                    assert ("Secret", vol["secret"]["secretName"]) in names, (name, owner, vol)
                if "persistentVolumeClaim" in vol:
                    claim = vol["persistentVolumeClaim"]["claimName"]
                    assert ("PersistentVolumeClaim", claim) in names, (name, owner, claim)
        for pdb in _of_kind(objs, "PodDisruptionBudget"):
            selected = [
                d
                for d in _of_kind(objs, "Deployment")
                if pdb["spec"]["selector"]["matchLabels"].items()
                <= d["spec"]["template"]["metadata"]["labels"].items()
            ]
            assert len(selected) == 1, f"{name}: PDB {pdb['metadata']['name']} selects {selected}"
        assert len(_of_kind(objs, "PodDisruptionBudget")) == len(_of_kind(objs, "Deployment"))


def test_servicemonitor_selects_every_service_on_its_metrics_port(builds):
    objs = builds["cpu"]
    (monitor,) = _of_kind(objs, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    port = monitor["spec"]["endpoints"][0]["port"]
    selected = {
        s["metadata"]["name"]
        for s in _of_kind(objs, "Service")
        if selector.items() <= s["metadata"].get("labels", {}).items()
        and port in {p["name"] for p in s["spec"]["ports"]}
    }
    assert selected == {f"symae-{s}" for s in WORKLOADS}


def test_networkpolicy_admits_prometheus_and_kafka(builds):
    objs = builds["cpu"]
    policies = _of_kind(objs, "NetworkPolicy")
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and "ingress" not in p["spec"]
    ]
    assert deny, "no default-deny policy"
    port = int(_configmap_data(objs, "symae-common")["SYMAE_METRICS_PORT"])
    ingress_ports = {
        rule_port["port"]
        for p in policies
        for rule in p["spec"].get("ingress", [])
        for rule_port in rule.get("ports", [])
    }
    assert port in ingress_ports, f"metrics port {port} not admitted: {ingress_ports}"
    bootstrap = _configmap_data(objs, "symae-common")["SYMAE_KAFKA_BOOTSTRAP_SERVERS"]
    kafka_ports = {int(hp.rsplit(":", 1)[1]) for hp in bootstrap.split(",")}
    egress = [
        (rp["port"], rp.get("endPort", rp["port"]))
        for p in policies
        for rule in p["spec"].get("egress", [])
        for rp in rule.get("ports", [])
    ]
    for kp in kafka_ports:
        assert any(lo <= kp <= hi for lo, hi in egress), f"Kafka port {kp} not in egress {egress}"


def test_configmap_and_container_env_names_are_service_settings(builds):
    common = common_env_names()
    per_service = {s: settings_env_names(argv) for s, argv in WORKLOADS.items()}
    for name in ("cpu", "gpu", "cpu+hpa", "gpu+hpa"):
        objs = builds[name]
        unknown = set(_configmap_data(objs, "symae-common")) - common
        assert not unknown, f"{name}: symae-common sets names no service reads: {sorted(unknown)}"
        for service, names in per_service.items():
            data = _configmap_data(objs, f"symae-{service}")
            assert set(data) <= names, f"{name}/{service}: unknown {sorted(set(data) - names)}"
            container = _one(objs, "Deployment", f"symae-{service}")["spec"]["template"]["spec"][
                "containers"
            ][0]
            explicit = {e["name"] for e in container.get("env", [])}
            assert explicit <= names, f"{name}/{service}: unknown {sorted(explicit - names)}"


def test_kafka_tls_settings_point_into_the_mounted_secret(builds):
    objs = builds["gpu"]
    common = _configmap_data(objs, "symae-common")
    assert common["SYMAE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    cafile = Path(common["SYMAE_KAFKA_SSL_CAFILE"])
    tls = _one(objs, "Secret", "symae-kafka-tls")
    assert cafile.name in tls["stringData"]
    for service in WORKLOADS:
        spec = _one(objs, "Deployment", f"symae-{service}")["spec"]["template"]["spec"]
        mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        tls_volume = next(
            n
            for n, v in volumes.items()
            if v.get("secret", {}).get("secretName") == "symae-kafka-tls"
        )
        assert Path(mounts[tls_volume]) == cafile.parent, f"{service}: {mounts}"
    # a valid SASL_SSL configuration passes the services' own settings validation
    ServiceSettings(
        kafka_security_protocol=common["SYMAE_KAFKA_SECURITY_PROTOCOL"],
        kafka_sasl_mechanism=common["SYMAE_KAFKA_SASL_MECHANISM"],
        kafka_sasl_username="user",
        kafka_sasl_password="secret",
    )


def test_prometheusrule_carries_the_same_rules_as_the_rules_file():
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert rule["spec"] == yaml.safe_load(RULES_FILE.read_text())


def _mounted_claim(spec: dict[str, Any], path: str) -> str:
    """The PersistentVolumeClaim mounted at the folder holding ``path`` (fails if none)."""
    volumes = {v["name"]: v for v in spec["volumes"]}
    for mount in spec["containers"][0]["volumeMounts"]:
        if Path(path).is_relative_to(mount["mountPath"]):
            claim = volumes[mount["name"]].get("persistentVolumeClaim")
            assert claim, f"{path} is on volume {mount['name']}, not a claim"
            return claim["claimName"]
    raise AssertionError(f"{path} is on no mounted volume")


def test_archive_and_feed_are_single_writers_on_persistent_volumes(builds):
    objs = builds["cpu"]
    for service in ("archive", "feed-seedlink"):
        deployment = _one(objs, "Deployment", f"symae-{service}")
        assert deployment["spec"]["replicas"] == 1, service
        assert deployment["spec"]["strategy"]["type"] == "Recreate", service
    feed = _one(objs, "Deployment", "symae-feed-seedlink")["spec"]["template"]["spec"]
    state = _configmap_data(objs, "symae-feed-seedlink")["SYMAE_STATE_FILE"]
    assert _mounted_claim(feed, state) == "symae-feed-state"
    # the archiver writes where the retraining CronJob reads, on the same claim
    archive = _one(objs, "Deployment", "symae-archive")["spec"]["template"]["spec"]
    url = _configmap_data(objs, "symae-archive")["SYMAE_ARCHIVE_URL"]
    cron = _one(objs, "CronJob", "symae-train")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    args = cron["containers"][0]["args"]
    assert args[args.index("--archive") + 1] == url
    assert _mounted_claim(archive, url) == _mounted_claim(cron, url) == "symae-training-data"


def test_networkpolicy_lets_the_feed_reach_seedlink_and_fdsn(builds):
    objs = builds["cpu"]
    labels = _one(objs, "Deployment", "symae-feed-seedlink")["spec"]["template"]["metadata"][
        "labels"
    ]
    server = _configmap_data(objs, "symae-feed-seedlink")["SYMAE_SEEDLINK_SERVER"]
    ports = {
        rp["port"]
        for p in _of_kind(objs, "NetworkPolicy")
        if p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
        for rule in p["spec"].get("egress", [])
        for rp in rule.get("ports", [])
    }
    assert {int(server.rsplit(":", 1)[1]), 443} <= ports, ports
