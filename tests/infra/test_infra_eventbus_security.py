"""The event bus admits only authenticated apps over TLS, each allowed only what it does."""

from __future__ import annotations

import re
from typing import Any

from app import contract
from infra import chart_values, kafka_access
from infra.components import eventbus_security
from infra.render.recording import Recording, reveal

COMPONENT = "kubernetes:dapr.io/v1alpha1:Component"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SECRET = "kubernetes:core/v1:Secret"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
RELEASE = "kubernetes:helm.sh/v3:Release"
JOB = "kubernetes:batch/v1:Job"


def _pubsub(recorded: Recording) -> dict[str, Any]:
    [component] = [
        r.inputs for r in recorded.of_type(COMPONENT) if r.inputs["spec"]["type"] == "pubsub.kafka"
    ]
    return component


def _secret_keys(recorded: Recording) -> set[tuple[str, str, str]]:
    """(namespace, name, key) of every Secret the stack declares or has cert-manager write."""
    keys = set()
    for secret in recorded.of_type(SECRET):
        meta = secret.inputs["metadata"]
        for key in reveal(secret.inputs.get("stringData", {})):
            keys.add((str(meta.get("namespace")), meta["name"], key))
    for cert in recorded.of_type(CERTIFICATE):
        meta = cert.inputs["metadata"]
        for key in ("ca.crt", "tls.crt", "tls.key"):
            keys.add((str(meta.get("namespace")), cert.inputs["spec"]["secretName"], key))
    return keys


def _redpanda_values(recorded: Recording) -> dict[str, Any]:
    [release] = [r for r in recorded.of_type(RELEASE) if r.inputs["name"] == "redpanda"]
    values: dict[str, Any] = reveal(release.inputs["values"])
    return values


def test_no_stack_lets_a_sidecar_reach_kafka_without_sasl_and_tls(
    recorded: Recording, stack: str
) -> None:
    items = {item["name"]: item for item in _pubsub(recorded)["spec"]["metadata"]}

    assert items["authType"].get("value") == "password", f"{stack}: the broker is open"
    assert items["saslMechanism"].get("value") == kafka_access.DAPR_SASL_MECHANISM
    assert "disableTls" not in items, f"{stack}: TLS is off"
    assert "skipVerify" not in items, f"{stack}: the broker's certificate goes unchecked"
    for name in ("saslUsername", "saslPassword", "caCert"):
        assert "value" not in items[name], f"{stack}: {name} is written into the Component"
        assert items[name].get("envRef"), f"{stack}: {name} has no source"


def test_each_sidecar_that_loads_the_component_gets_every_variable_it_reads_from_a_secret(
    recorded: Recording, stack: str
) -> None:
    component = _pubsub(recorded)
    wanted = {item["envRef"] for item in component["spec"]["metadata"] if "envRef" in item}
    existing = _secret_keys(recorded)
    processes = {process.name for process in contract.PROCESSES}
    for deployment in recorded.of_type(DEPLOYMENT):
        if deployment.name not in processes:
            continue  # the lag exporter: no sidecar (tests/infra/test_infra_program.py)
        namespace = deployment.inputs["metadata"]["namespace"]
        annotations = deployment.inputs["spec"]["template"]["metadata"]["annotations"]
        app_id = annotations["dapr.io/app-id"]
        raw = annotations.get("dapr.io/env-from-secret")
        if app_id not in component["scopes"]:
            assert raw is None, f"{stack}: {app_id} loads no pub/sub yet holds Kafka credentials"
            continue
        assert raw, f"{stack}: {app_id}'s daprd gets no Kafka credentials"
        pairs = dict(re.findall(r"([A-Z_]+)=([^,]+)", raw))
        assert set(pairs) == wanted, f"{stack}: {app_id} gets {sorted(pairs)}, reads {wanted}"
        for variable, ref in pairs.items():
            secret, key = ref.split(":")
            assert (namespace, secret, key) in existing, (
                f"{stack}: {app_id}'s {variable} names {secret}:{key}, which nothing creates"
            )


def test_each_app_user_secret_names_its_own_user(recorded: Recording) -> None:
    secrets = {
        s.inputs["metadata"]["name"]: reveal(s.inputs["stringData"])
        for s in recorded.of_type(SECRET)
    }
    for user in kafka_access.all_users():
        assert secrets[user.secret_name][kafka_access.USERNAME_KEY] == user.name


def test_redpanda_requires_scram_and_tls_and_has_one_superuser(
    recorded: Recording, stack: str
) -> None:
    values = _redpanda_values(recorded)
    sasl = values["auth"]["sasl"]

    assert sasl["enabled"] is True, f"{stack}: Redpanda accepts anonymous clients"
    assert sasl["mechanism"] == kafka_access.SASL_MECHANISM
    # Every user in the chart's list becomes a superuser (configwatcher sets superusers).
    assert sasl["users"] == [], f"{stack}: the chart would make these users superusers"
    assert values["tls"]["enabled"] is True, f"{stack}: the listeners speak plaintext"
    assert values["config"]["cluster"]["admin_api_require_auth"] is True, (
        f"{stack}: anyone on the admin port could create a superuser"
    )
    ref = sasl["bootstrapUser"]["secretKeyRef"]
    assert ("redpanda", ref["name"], ref["key"]) in _secret_keys(recorded), (
        f"{stack}: the superuser's password Secret is not created"
    )
    assert ("redpanda", sasl["secretRef"], "users.txt") in _secret_keys(recorded)
    issuer = values["tls"]["certs"]["default"]["issuerRef"]
    issuers = {r.inputs["metadata"]["name"] for r in recorded.of_type(CLUSTER_ISSUER)}
    assert issuer == {"name": chart_values.REDPANDA_CA_ISSUER, "kind": "ClusterIssuer"}
    assert issuer["name"] in issuers, f"{stack}: the brokers' issuer does not exist"


def test_the_release_waits_for_its_secrets_and_issuer(recorded: Recording) -> None:
    [release] = [r for r in recorded.of_type(RELEASE) if r.inputs["name"] == "redpanda"]
    needed = {chart_values.REDPANDA_ADMIN_SECRET_NAME, chart_values.REDPANDA_USERS_SECRET_NAME}
    urns = {
        r.urn
        for r in [*recorded.of_type(SECRET), *recorded.of_type(CLUSTER_ISSUER)]
        if r.inputs["metadata"]["name"] in needed | {chart_values.REDPANDA_CA_ISSUER}
    }
    assert urns <= set(release.dependencies), "the release can start before its Secrets exist"


def test_users_are_allowed_only_their_own_topics_and_groups() -> None:
    by_process = {user.process: user for user in kafka_access.users()}

    def allowed(process: str, resource: str, name: str, operation: str) -> bool:
        user = by_process.get(process)
        return user is not None and any(
            a.resource == resource and a.name == name and operation in a.operations
            for a in user.acls
        )

    assert contract.API.name not in by_process, "the API publishes nothing itself"
    for topic in contract.TOPICS:
        assert allowed("relay", "topic", topic.name, "write")
        assert not allowed("relay", "topic", topic.name, "read"), "the relay reads events"
    for process in (contract.NOTIFIER, contract.RECURRER):
        subscribed = {s.topic.name for s in process.subscriptions}
        for topic in contract.TOPICS:
            assert not allowed(process.name, "topic", topic.name, "write"), "a worker forges"
            reads = allowed(process.name, "topic", topic.name, "read")
            assert reads == (topic.name in subscribed), f"{process.name} reads {topic.name}"
        for other in contract.PROCESSES:
            group = allowed(process.name, "group", other.app_id, "read")
            assert group == (other is process), f"{process.name} joins {other.app_id}'s group"


def test_the_access_job_creates_every_user_and_acl_as_the_superuser_over_tls(
    recorded: Recording,
) -> None:
    job = next(r for r in recorded.of_type(JOB) if r.name == "eventbus-topics")
    container = job.inputs["spec"]["template"]["spec"]["containers"][0]
    script = container["command"][-1]
    env = {e["name"]: e for e in container["env"]}
    secrets = {
        (s.inputs["metadata"]["name"], key)
        for s in recorded.of_type(SECRET)
        for key in reveal(s.inputs["stringData"])
    }

    assert env["RPK_USER"]["value"] == kafka_access.ADMIN_USER
    assert env["RPK_TLS_ENABLED"]["value"] == env["RPK_ADMIN_TLS_ENABLED"]["value"] == "true"
    for user in kafka_access.all_users():
        assert f"rpk security user create {user.name} " in script, f"{user.name} never created"
        for acl in user.acls:
            assert f"--{acl.resource} {acl.name} --operation {','.join(acl.operations)}" in script
        variable = kafka_access.password_variable(user)
        ref = env[variable]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) in secrets, f"{variable} comes from no Secret"
        assert ref["name"] == eventbus_security.APP_PASSWORDS_SECRET_NAME
    assert "mock-secret-value" not in script, "a password is written into the script"
