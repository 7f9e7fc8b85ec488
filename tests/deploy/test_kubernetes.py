"""The Kubernetes examples (``deploy/kubernetes/``, shown in ``docs/deploy.md``) are valid
manifests and agree with the code they configure.

The built-in kinds are checked against Kubernetes' own OpenAPI schemas (the
``kubernetes-validate`` package ships them: no download at run time), strictly, so an
unknown or misspelt field fails. KEDA's ScaledObject is a custom resource without a
schema there: its fields are checked here, against the names the queue really uses.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from server.drain import CLOSE_GRACE_S
from server.live_metrics import LiveMetrics
from server.settings import Settings
from server.supervisor import GRACEFUL_SHUTDOWN_S
from storage.queue import open_queue
from storage.queue.redis_streams import RedisStreamsQueue

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
K8S_VERSION = "1.30.0"


def _documents() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        found.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return found


def _by_kind(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.mark.parametrize(
    "doc",
    [d for d in _documents() if "keda.sh" not in d["apiVersion"]],
    ids=lambda d: f"{d['kind']}-{d['metadata']['name']}",
)
def test_built_in_kinds_match_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    doc = _by_kind("PodDisruptionBudget", "intrvuer-server")
    broken = {**doc, "spec": {**doc["spec"], "maxUnavailabel": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_the_docs_show_the_manifests_as_they_are() -> None:
    text = DEPLOY_DOC.read_text()
    section = text[text.index("### Kubernetes") :]
    section = section[: section.index("\n## ")] if "\n## " in section else section
    shown: list[dict[str, Any]] = []
    for block in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL):
        shown.extend(doc for doc in yaml.safe_load_all(block) if doc)
    assert _key(shown) == _key(_documents())


def _key(docs: list[dict[str, Any]]) -> list[str]:
    return sorted(yaml.safe_dump(doc, sort_keys=True) for doc in docs)


def test_the_server_drains_within_its_grace_period() -> None:
    deployment = _by_kind("Deployment", "intrvuer-server")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    drain_s = float(env.get("DRAIN_TIMEOUT_S", Settings.model_fields["drain_timeout_s"].default))
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    needed = float(pre_stop[1]) + drain_s + CLOSE_GRACE_S + GRACEFUL_SHUTDOWN_S
    assert pod["terminationGracePeriodSeconds"] >= needed
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["args"][:2] == ["intrvuer", "serve"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    budget = _by_kind("PodDisruptionBudget", "intrvuer-server")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = _by_kind("Service", "intrvuer-server")
    assert service["spec"]["selector"].items() <= labels.items()


def test_the_autoscaler_reads_a_metric_the_server_exports() -> None:
    hpa = _by_kind("HorizontalPodAutoscaler", "intrvuer-server")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "intrvuer-server")
    exported = {metric.name for metric in LiveMetrics().registry.collect()}
    for metric in hpa["spec"]["metrics"]:
        assert metric["type"] == "Pods"
        assert metric["pods"]["metric"]["name"] in exported


def test_keda_scales_workers_on_the_queue_stream() -> None:
    scaled = _by_kind("ScaledObject", "intrvuer-worker")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    assert set(spec) <= {
        "scaleTargetRef", "minReplicaCount", "maxReplicaCount", "cooldownPeriod",
        "pollingInterval", "triggers", "advanced", "fallback", "idleReplicaCount",
    }  # fmt: skip
    assert spec["scaleTargetRef"]["name"] == "intrvuer-worker"
    _by_kind("Deployment", "intrvuer-worker")
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "redis-streams"
    metadata = trigger["metadata"]
    defaults = inspect.signature(RedisStreamsQueue.__init__).parameters
    assert metadata["consumerGroup"] == defaults["group"].default
    assert metadata["stream"] == inspect.signature(open_queue).parameters["stream"].default
    # Exactly one way to scale: lag, pending entries, or the stream's length.
    assert len({"lagCount", "pendingEntriesCount", "streamLength"} & set(metadata)) == 1
    assert all(isinstance(value, str) for value in metadata.values())
    worker = _by_kind("Deployment", "intrvuer-worker")["spec"]["template"]["spec"]
    env = {item["name"] for item in worker["containers"][0]["env"]}
    assert metadata["addressFromEnv"] in env
