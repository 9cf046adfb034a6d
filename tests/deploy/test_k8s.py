"""The rendered Kubernetes manifests: valid against the API schemas (kubernetes-validate,
offline), and the operational rules a schema cannot see."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from tests.deploy.artefacts import K8S, OVERLAYS, is_learnloop, pod_spec, rendered, renderer

Manifest = dict[str, Any]
# the oldest release still common on managed clusters, and the newest the schemas know
VERSIONS = ("1.30.0", latest_version())


def by_kind(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def workloads(objects: list[Manifest]) -> list[Manifest]:
    return [o for o in objects if pod_spec(o) is not None]


@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_match_the_kubernetes_schemas(version: str) -> None:
    # in-cluster holds every object managed has (asserted below), and the data services
    failures = []
    for obj in rendered("in-cluster"):
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    assert failures == []


def test_strict_validation_rejects_an_unknown_field() -> None:
    deployment = copy.deepcopy(by_kind(rendered("managed"), "Deployment")["slack"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, latest_version(), strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_render_matches_kubectl_kustomize(overlay: str) -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout

    def keyed(objs: list[Manifest]) -> dict[tuple[str, str], Manifest]:
        return {(o["kind"], o["metadata"]["name"]): o for o in objs}

    assert keyed(rendered(overlay)) == keyed(list(yaml.safe_load_all(out)))


def test_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    render = renderer()
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatches: []\n", encoding="utf-8")
    with pytest.raises(render.RenderError, match="patches"):
        render.render(tmp_path)


def test_overlays_differ_only_by_the_data_services() -> None:
    local = {(o["kind"], o["metadata"]["name"]): o for o in rendered("in-cluster")}
    managed = {(o["kind"], o["metadata"]["name"]): o for o in rendered("managed")}
    assert {name for _, name in set(local) - set(managed)} == {"postgres", "redis"}
    assert all(local[key] == obj for key, obj in managed.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_retagged_for_the_registry(overlay: str) -> None:
    for obj in workloads(rendered(overlay)):
        for container in pod_spec(obj)["containers"]:  # type: ignore[index]
            image = container["image"]
            assert ":" in image and not image.endswith(":latest"), image


def test_every_container_requests_resources_and_bounds_memory() -> None:
    for obj in workloads(rendered("in-cluster")):
        for container in pod_spec(obj)["containers"]:  # type: ignore[index]
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), obj["metadata"]["name"]
            assert "memory" in resources["limits"], obj["metadata"]["name"]


def test_learnloop_processes_probe_the_operations_port() -> None:
    for obj in workloads(rendered("managed")):
        name = obj["metadata"]["name"]
        for container in pod_spec(obj)["containers"]:  # type: ignore[index]
            if not is_learnloop(container["image"]) or obj["kind"] == "Job" or name == "chroma":
                continue
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports["ops"] == 9000, name
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}


def test_every_deployment_has_a_disruption_budget_and_the_bots_autoscale() -> None:
    objects = rendered("managed")
    deployments = by_kind(objects, "Deployment")
    budgets = by_kind(objects, "PodDisruptionBudget")
    flower = {"flower"}  # a dashboard: losing it in a drain costs nothing
    for name, deployment in deployments.items():
        if name in flower:
            continue
        selector = budgets[name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    scalers = by_kind(objects, "HorizontalPodAutoscaler")
    for bot in ("slack", "teams", "web"):
        assert scalers[bot]["spec"]["scaleTargetRef"]["name"] == bot
        assert scalers[bot]["spec"]["minReplicas"] >= 2
        assert budgets[bot]["spec"]["minAvailable"] < scalers[bot]["spec"]["minReplicas"]


def test_services_select_a_workload() -> None:
    objects = rendered("in-cluster")
    labels = [o["spec"]["template"]["metadata"]["labels"] for o in workloads(objects)]
    for name, service in by_kind(objects, "Service").items():
        selector = service["spec"]["selector"]
        assert any(selector.items() <= lab.items() for lab in labels), name


def test_volumes_and_secrets_refer_to_what_exists() -> None:
    objects = rendered("in-cluster")
    claims = set(by_kind(objects, "PersistentVolumeClaim"))
    configs = set(by_kind(objects, "ConfigMap"))
    for obj in workloads(objects):
        spec = pod_spec(obj)
        assert spec is not None
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configs
                else:
                    # made by the operator from deploy/.env, never committed
                    assert source["secretRef"]["name"] == "learnloop"


def test_vllm_takes_a_gpu_and_shares_adapters_with_the_training_worker() -> None:
    deployments = by_kind(rendered("managed"), "Deployment")

    def claims(name: str) -> dict[str, str]:
        spec = deployments[name]["spec"]["template"]["spec"]
        volumes = {
            v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in spec["volumes"]
            if "persistentVolumeClaim" in v
        }
        mounts = spec["containers"][0]["volumeMounts"]
        return {m["mountPath"]: volumes[m["name"]] for m in mounts if m["name"] in volumes}

    for name in ("vllm", "worker-training"):
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert claims(name)["/adapters"] == "adapters"
    env = {
        e["name"]: e
        for e in deployments["vllm"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"]["value"] == "1"
    assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "LEARNLOOP_INFERENCE_API_KEY"


def test_migration_is_a_job_and_processes_do_not_migrate_on_start() -> None:
    objects = rendered("managed")
    job = by_kind(objects, "Job")["migrate"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["learnloop", "migrate"]
    assert (
        by_kind(objects, "ConfigMap")["learnloop-config"]["data"]["LEARNLOOP_MIGRATE_ON_START"]
        == "false"
    )


def test_renderer_command_line_says_what_is_wrong(tmp_path: Path) -> None:
    script = str(K8S / "render.py")
    usage = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and usage.stderr.startswith("usage:")
    missing = subprocess.run(
        [sys.executable, script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 1
    assert missing.stderr == f"render.py: {tmp_path} has no kustomization.yaml\n"
    ok = subprocess.run(
        [sys.executable, script, str(K8S / "overlays" / "managed")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert list(yaml.safe_load_all(ok.stdout)) == rendered("managed")


def container(deployment: Manifest) -> dict[str, Any]:
    found: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return found


def test_the_web_console_serves_its_port_through_its_service_with_shared_uploads() -> None:
    objects = rendered("managed")
    web = by_kind(objects, "Deployment")["web"]
    command = container(web)["command"]
    assert command[:2] == ["learnloop", "web"]
    ports = {p["name"]: p["containerPort"] for p in container(web)["ports"]}
    assert ports["http"] == int(command[command.index("--port") + 1])
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - a pod
    service = by_kind(objects, "Service")["web"]
    assert {"name": "http", "port": 80, "targetPort": "http"} in service["spec"]["ports"]
    # questions wait for their stream in the database: any replica serves it, no affinity
    assert "sessionAffinity" not in service["spec"]
    # uploads land on the claim the ingest workers read, at the configured folder
    upload_dir = by_kind(objects, "ConfigMap")["learnloop-config"]["data"]["LEARNLOOP_UPLOAD_DIR"]

    def upload_claim(deployment: Manifest) -> str:
        spec = deployment["spec"]["template"]["spec"]
        claims = {
            v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in spec["volumes"]
            if "persistentVolumeClaim" in v
        }
        mounts = {m["mountPath"]: m["name"] for m in container(deployment)["volumeMounts"]}
        return claims[mounts[upload_dir]]

    assert upload_claim(web) == upload_claim(by_kind(objects, "Deployment")["worker-ingest"])
    assert container(web)["securityContext"]["readOnlyRootFilesystem"] is True
    assert web["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("version", VERSIONS)
def test_the_example_ingress_is_valid_and_routes_to_the_console(version: str) -> None:
    ingress = yaml.safe_load((K8S / "web" / "ingress.example.yaml").read_text(encoding="utf-8"))
    kubernetes_validate.validate(ingress, version, strict=True)
    service = by_kind(rendered("managed"), "Service")[ingress["metadata"]["name"]]
    named = {p["name"] for p in service["spec"]["ports"]}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] in named
