"""Workers scale on lag through KEDA, bounded by partitions, with one HPA each; lag alerts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import contract
from infra import alert_rules, kafka_access
from infra.components import autoscaling
from infra.config_model import ServiceConfig
from infra.render.recording import Recording, reveal
from tests.infra.test_infra_eventbus_security import _secret_keys

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
TRIGGER_AUTHENTICATION = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
RELEASE = "kubernetes:helm.sh/v3:Release"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
PARTITIONS = {topic.name: topic.partitions for topic in contract.TOPICS}


def _service(replicas: int, max_replicas: int) -> ServiceConfig:
    return ServiceConfig(replicas, max_replicas, "100m", "128Mi", "500m", "256Mi")


def test_a_worker_may_not_scale_past_the_partitions_of_a_topic_it_reads() -> None:
    ceiling = autoscaling.partition_ceiling(contract.NOTIFIER)
    spec = autoscaling.scaled_object_spec(
        contract.NOTIFIER, _service(1, ceiling), brokers="redpanda:9093"
    )
    assert spec["maxReplicaCount"] == ceiling
    with pytest.raises(ValueError, match="partitions"):
        autoscaling.scaled_object_spec(
            contract.NOTIFIER, _service(1, ceiling + 1), brokers="redpanda:9093"
        )


def test_each_lag_scaled_worker_has_one_scaled_object_and_no_hpa_of_ours(
    recorded: Recording, stack: str
) -> None:
    hpa_targets = [
        reveal(h.inputs)["spec"]["scaleTargetRef"]["name"] for h in recorded.of_type(HPA)
    ]
    scaled = [reveal(s.inputs)["spec"] for s in recorded.of_type(SCALED_OBJECT)]
    targets = [spec["scaleTargetRef"]["name"] for spec in scaled]
    assert len(targets) == len(set(targets)), f"{stack}: a worker has two ScaledObjects"
    assert not set(targets) & set(hpa_targets), (
        f"{stack}: KEDA makes its own HPA; these also have ours: {set(targets) & set(hpa_targets)}"
    )
    deployments = {reveal(d.inputs)["metadata"]["name"] for d in recorded.of_type(DEPLOYMENT)}
    assert set(targets) <= deployments
    keda_hpas = [s["advanced"]["horizontalPodAutoscalerConfig"]["name"] for s in scaled]
    assert not set(keda_hpas) & {
        reveal(h.inputs)["metadata"]["name"] for h in recorded.of_type(HPA)
    }, f"{stack}: KEDA's HPA would take the name of one we declare"


def test_scaled_objects_stay_within_the_partitions_and_read_as_the_scaler_user(
    recorded: Recording, stack: str
) -> None:
    for resource in recorded.of_type(SCALED_OBJECT):
        spec = reveal(resource.inputs)["spec"]
        kafka = [t for t in spec["triggers"] if t["type"] == "kafka"]
        assert kafka, f"{stack}: {resource.name} does not scale on lag"
        for trigger in kafka:
            meta = trigger["metadata"]
            assert spec["maxReplicaCount"] <= PARTITIONS[meta["topic"]], (
                f"{stack}: {resource.name} scales past the partitions of {meta['topic']}"
            )
            assert meta["sasl"] == "scram_sha512"
            assert meta["tls"] == "enable"
            assert trigger["authenticationRef"]["name"] == autoscaling.TRIGGER_AUTHENTICATION


def test_the_trigger_authentication_reads_secrets_that_exist(
    recorded: Recording, stack: str
) -> None:
    auths = recorded.of_type(TRIGGER_AUTHENTICATION)
    if not recorded.of_type(SCALED_OBJECT):
        assert not auths, f"{stack}: a TriggerAuthentication with nothing to scale"
        keda = [r for r in recorded.of_type(RELEASE) if reveal(r.inputs)["name"] == "keda"]
        assert not keda, f"{stack}: KEDA is installed where nothing scales on lag"
        return
    [auth] = auths
    namespace = auth.inputs["metadata"]["namespace"]
    existing = _secret_keys(recorded)
    refs = auth.inputs["spec"]["secretTargetRef"]
    assert {ref["parameter"] for ref in refs} == {"username", "password", "ca"}
    for ref in refs:
        assert (namespace, ref["name"], ref["key"]) in existing, f"{stack}: {ref} is never made"


def test_lag_readers_may_only_describe() -> None:
    readers = kafka_access.lag_readers()
    assert {user.name for user in readers} == {
        contract.LAG_EXPORTER.app_id,
        kafka_access.KEDA_USER,
    }
    for user in readers:
        for acl in user.acls:
            assert acl.operations == ("describe",), f"{user.name} may {acl.operations}"
    groups = {a.name for u in readers for a in u.acls if a.resource == "group"}
    assert groups == {contract.NOTIFIER.app_id, contract.RECURRER.app_id}


def _rules(recorded: Recording) -> dict[str, dict[str, object]]:
    [rule] = recorded.of_type(RULE)
    return {r["alert"]: r for group in rule.inputs["spec"]["groups"] for r in group["rules"]}


def test_every_stack_alerts_on_consumer_and_outbox_lag_with_a_runbook(
    recorded: Recording, stack: str
) -> None:
    rules = _rules(recorded)
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for name in ("TaskstreamConsumerFallingBehind", "TaskstreamConsumerLagUnknown"):
        assert name in rules, f"{stack}: no {name}"
    outbox = rules["TaskstreamOutboxLagging"]
    assert contract.METRIC_OUTBOX_OLDEST_PENDING in str(outbox["expr"])
    for name in (
        "TaskstreamConsumerFallingBehind",
        "TaskstreamConsumerLagUnknown",
        "TaskstreamOutboxLagging",
        "TaskstreamOutboxUnknown",
    ):
        annotations = rules[name]["annotations"]
        assert isinstance(annotations, dict)
        path, anchor = annotations["runbook_url"].split("#")
        assert path == alert_rules.RUNBOOK
        assert anchor in anchors, f"docs/operations.md has no section #{anchor}"


def test_falling_behind_needs_a_backlog_that_is_not_shrinking() -> None:
    expr = alert_rules.consumer_lag_expressions("taskstream")["TaskstreamConsumerFallingBehind"]
    # Replicas of the exporter repeat each partition: one value per partition, then a sum.
    per_topic = (
        f"sum by (group, topic) (max by (group, topic, partition) "
        f'({contract.METRIC_CONSUMER_LAG}{{namespace="taskstream"}}))'
    )
    assert expr == (
        f"({per_topic} > {alert_rules.LAG_THRESHOLD}) "
        f"and (deriv(({per_topic})[{alert_rules.LAG_TREND}:1m]) >= 0)"
    )
    assert alert_rules.LAG_THRESHOLD >= 2 * autoscaling.LAG_TARGET, (
        "the alert would fire before the scaler has asked for a second pod"
    )
