"""Each pod rule accepts a compliant workload and names what is wrong with a broken one."""

from __future__ import annotations

from typing import Any

import pytest
from policy_builders import DEPLOYMENT, container, deployment, deployment_inputs, single

from policy.model import UNKNOWN, Resource
from policy.pod_rules import image_problem, is_secret_like
from policy.rules import evaluate


def messages(resources: list[Resource], rule: str, stack: str = "dev") -> list[str]:
    return [v.message for v in evaluate(resources, stack) if v.policy == rule]


def test_a_container_with_requests_and_limits_passes() -> None:
    assert messages([deployment()], "container-resources") == []


@pytest.mark.parametrize(
    ("resources", "missing"),
    [
        ({}, "requests.cpu, requests.memory, limits.cpu, limits.memory"),
        ({"requests": {"cpu": "100m", "memory": "64Mi"}}, "limits.cpu, limits.memory"),
        ({"requests": {"cpu": "1"}, "limits": {"cpu": "1", "memory": "1Gi"}}, "requests.memory"),
    ],
)
def test_a_container_missing_requests_or_limits_fails(
    resources: dict[str, Any], missing: str
) -> None:
    found = messages(
        [deployment(containers=[container(resources=resources)])], "container-resources"
    )
    assert len(found) == 1, found
    assert missing in found[0], found


def test_an_init_container_without_resources_fails_too() -> None:
    inputs = deployment_inputs(
        pod_spec={"initContainers": [container(name="migrate", resources={})]}
    )
    found = messages([Resource(DEPLOYMENT, "api", inputs)], "container-resources")
    assert "'migrate'" in single(found)


def test_a_cronjob_container_is_inspected_through_its_job_template() -> None:
    job_spec = {"template": {"spec": {"containers": [container(name="sweep", resources={})]}}}
    cronjob = Resource(
        "kubernetes:batch/v1:CronJob",
        "sweeper",
        {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": job_spec}}},
    )
    assert messages([cronjob], "container-resources"), "a CronJob's containers were not checked"


@pytest.mark.parametrize(
    "image",
    [
        "registry.digitalocean.com/taskstream/taskstream:3f2a9c1",
        "docker.io/redpandadata/redpanda:v24.2.4",
        "localhost:5000/taskstream:1.0",
        "ghcr.io/dapr/daprd@sha256:" + "a" * 64,
    ],
)
def test_an_image_with_a_version_tag_or_a_digest_passes(image: str) -> None:
    assert image_problem(image) is None
    assert messages([deployment(containers=[container(image=image)])], "pinned-images") == []


@pytest.mark.parametrize(
    ("image", "complaint"),
    [
        ("taskstream", "has no tag"),
        ("localhost:5000/taskstream", "has no tag"),
        ("registry.digitalocean.com/taskstream/taskstream:latest", "'latest'"),
        ("nginx:LATEST", "'latest'"),
        ("", "has no image"),
    ],
)
def test_an_untagged_or_latest_image_fails(image: str, complaint: str) -> None:
    found = messages([deployment(containers=[container(image=image)])], "pinned-images")
    assert complaint in single(found)


def test_an_image_not_known_until_the_registry_exists_is_not_judged() -> None:
    assert messages([deployment(containers=[container(image=UNKNOWN)])], "pinned-images") == []


def test_an_unprivileged_pod_on_its_own_namespaces_passes() -> None:
    hardened = container(securityContext={"privileged": False, "runAsNonRoot": True})
    resource = deployment(containers=[hardened], pod_spec={"hostNetwork": False})
    assert messages([resource], "no-privilege") == []


def test_a_privileged_container_fails() -> None:
    resource = deployment(containers=[container(securityContext={"privileged": True})])
    found = messages([resource], "no-privilege")
    assert found == ["container 'api' runs privileged"], found


@pytest.mark.parametrize("field", ["hostNetwork", "hostPID", "hostIPC"])
def test_a_pod_sharing_a_host_namespace_fails(field: str) -> None:
    found = messages([deployment(pod_spec={field: True})], "no-privilege")
    assert field in single(found)


DAPR_OK = {
    "dapr.io/enabled": "true",
    "dapr.io/app-id": "taskstream-api",
    "dapr.io/config": "taskstream",
    "dapr.io/app-port": "8000",
}


def test_a_dapr_enabled_deployment_with_app_id_and_config_passes() -> None:
    assert messages([deployment(annotations=DAPR_OK)], "dapr-identity") == []


def test_a_deployment_without_dapr_needs_no_dapr_annotations() -> None:
    assert messages([deployment(annotations={"dapr.io/enabled": "false"})], "dapr-identity") == []


@pytest.mark.parametrize("missing", ["dapr.io/app-id", "dapr.io/config"])
def test_a_dapr_enabled_deployment_without_app_id_or_config_fails(missing: str) -> None:
    annotations = {k: v for k, v in DAPR_OK.items() if k != missing}
    found = messages([deployment(annotations=annotations)], "dapr-identity")
    assert missing in single(found)


def test_secret_like_variables_read_from_secret_objects_pass() -> None:
    assert messages([deployment()], "secrets-from-secret-objects") == []


def test_a_secret_like_variable_with_a_literal_value_fails() -> None:
    env = [{"name": "TASKSTREAM_JWT_SECRET", "value": "hunter2hunter2"}]
    found = messages([deployment(containers=[container(env=env)])], "secrets-from-secret-objects")
    assert "TASKSTREAM_JWT_SECRET" in single(found)


def test_a_secret_like_variable_computed_from_another_resource_still_fails() -> None:
    env = [{"name": "DB_PASSWORD", "value": UNKNOWN}]
    found = messages([deployment(containers=[container(env=env)])], "secrets-from-secret-objects")
    assert len(found) == 1, "a computed literal secret would still land in the pod spec"


def test_a_secret_like_variable_read_from_a_configmap_fails() -> None:
    ref = {"configMapKeyRef": {"name": "settings", "key": "token"}}
    env = [{"name": "apiToken", "valueFrom": ref}]
    found = messages([deployment(containers=[container(env=env)])], "secrets-from-secret-objects")
    assert "apiToken" in single(found)


@pytest.mark.parametrize(
    "name",
    [
        "PASSWORD",
        "DB_PASSWORD",
        "jwtSecret",
        "API_KEY",
        "apiKey",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
    ],
)
def test_names_that_hold_secrets_are_secret_like(name: str) -> None:
    assert is_secret_like(name), name


@pytest.mark.parametrize(
    "name",
    [
        "TASKSTREAM_DATABASE_URL",
        "KEYCLOAK_URL",
        "AWS_ACCESS_KEY_ID",
        "TOKEN_TTL_SECONDS",
        "JWT_SECRET_FILE",
    ],
)
def test_names_about_secrets_but_not_secrets_are_not_secret_like(name: str) -> None:
    assert not is_secret_like(name), name


TOKENLESS = {"automountServiceAccountToken": False}
NO_K8S_STORE = {**DAPR_OK, "dapr.io/disable-builtin-k8s-secret-store": "true"}


def test_a_tokenless_dapr_pod_that_disables_the_builtin_kubernetes_secret_store_passes() -> None:
    # dapr/docs#5014: without the token only the built-in store fails, so disabling it is enough.
    resource = deployment(annotations=NO_K8S_STORE, pod_spec=TOKENLESS)
    assert messages([resource], "dapr-sidecar-without-token") == []


def test_a_tokenless_dapr_pod_that_keeps_the_builtin_kubernetes_secret_store_fails() -> None:
    # daprd in Kubernetes mode loads the built-in Kubernetes secret store by default; with no
    # token it cannot build a client, the component's init fails and daprd exits.
    found = messages(
        [deployment(annotations=DAPR_OK, pod_spec=TOKENLESS)], "dapr-sidecar-without-token"
    )
    assert "dapr.io/disable-builtin-k8s-secret-store" in single(found)


@pytest.mark.parametrize(
    ("annotations", "pod_spec"),
    [
        (DAPR_OK, {}),
        (DAPR_OK, {"automountServiceAccountToken": True}),
        ({"dapr.io/enabled": "false"}, TOKENLESS),
    ],
)
def test_a_pod_with_its_token_or_without_dapr_is_not_judged_by_the_secret_store_rule(
    annotations: dict[str, str], pod_spec: dict[str, object]
) -> None:
    resource = deployment(annotations=annotations, pod_spec=pod_spec)
    assert messages([resource], "dapr-sidecar-without-token") == []


def test_the_secret_store_annotation_is_read_as_dapr_reads_booleans() -> None:
    for value, disabled in (("True", True), ("1", True), ("yes", True), ("false", False)):
        annotations = {**DAPR_OK, "dapr.io/disable-builtin-k8s-secret-store": value}
        found = messages(
            [deployment(annotations=annotations, pod_spec=TOKENLESS)],
            "dapr-sidecar-without-token",
        )
        assert (found == []) is disabled, f"{value!r} read wrongly: {found}"
