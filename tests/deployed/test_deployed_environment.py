"""A container's environment resolved against rendered Secrets and ConfigMaps."""

from __future__ import annotations

import base64

import pytest

from tests.support.deployed.environment import Resolver, add_absent, container_environment
from tests.support.deployed.objects import ManifestError, RenderedObjects, Workload

WORKLOAD = Workload("Deployment", "api", "ns", {"template": {"spec": {"containers": []}}})
OBJECTS = RenderedObjects(
    "test",
    (
        {
            "kind": "Secret",
            "metadata": {"name": "settings", "namespace": "ns"},
            "stringData": {"database-url": "[secret]", "plain": "visible"},
            "data": {"encoded": base64.b64encode(b"decoded").decode()},
        },
        {
            "kind": "ConfigMap",
            "metadata": {"name": "tuning", "namespace": "ns"},
            "data": {"LEVEL": "debug", "SIZE": "3"},
        },
        {
            "kind": "Secret",
            "metadata": {"name": "settings", "namespace": "elsewhere"},
            "stringData": {"plain": "wrong namespace"},
        },
    ),
    ("a", "b", "c"),
)


def resolver() -> Resolver:
    return Resolver(OBJECTS, lambda secret, key: f"test-value-for-{secret}/{key}")


def env_of(container: dict[str, object]) -> dict[str, str]:
    return container_environment(
        {"name": "c", **container},
        WORKLOAD,
        image_env={"HOME": "/tmp", "LEVEL": "image"},
        resolver=resolver(),
        pod_name="api-0",
    )


def ref(kind: str, name: str, key: str, **extra: object) -> dict[str, object]:
    return {"valueFrom": {kind: {"name": name, "key": key, **extra}}}


def test_secret_and_configmap_references_resolve_in_the_pods_namespace() -> None:
    env = env_of(
        {
            "env": [
                {"name": "PLAIN", **ref("secretKeyRef", "settings", "plain")},
                {"name": "DECODED", **ref("secretKeyRef", "settings", "encoded")},
                {"name": "LEVEL", **ref("configMapKeyRef", "tuning", "LEVEL")},
            ]
        }
    )

    assert env["PLAIN"] == "visible", "resolved from another namespace's Secret"
    assert env["DECODED"] == "decoded", "a Secret's data is base64"
    assert env["LEVEL"] == "debug", "the manifest's env must override the image's ENV"
    assert env["HOME"] == "/tmp", "the image's ENV was dropped"


def test_a_redacted_secret_value_is_replaced_by_the_tests_stand_in() -> None:
    env = env_of({"env": [{"name": "URL", **ref("secretKeyRef", "settings", "database-url")}]})

    assert env["URL"] == "test-value-for-settings/database-url"


def test_env_from_with_a_prefix_comes_first_and_env_overrides_it() -> None:
    env = env_of(
        {
            "envFrom": [{"configMapRef": {"name": "tuning"}, "prefix": "T_"}],
            "env": [{"name": "T_SIZE", "value": "$(T_LEVEL)-$(HOME)"}],
        }
    )

    assert env["T_LEVEL"] == "debug"
    assert env["T_SIZE"] == "debug-$(HOME)", "only the container's own variables expand"


def test_a_missing_key_fails_unless_the_reference_is_optional() -> None:
    with pytest.raises(ManifestError, match="no key 'absent'"):
        env_of({"env": [{"name": "X", **ref("secretKeyRef", "settings", "absent")}]})
    with pytest.raises(ManifestError, match="no Secret ns/nowhere"):
        env_of({"env": [{"name": "X", **ref("secretKeyRef", "nowhere", "k")}]})

    env = env_of({"env": [{"name": "X", **ref("secretKeyRef", "nowhere", "k", optional=True)}]})
    assert "X" not in env, "an optional reference to nothing must leave the variable unset"


def test_injected_variables_never_override_what_the_container_sets() -> None:
    env = add_absent({"DAPR_HTTP_PORT": "4000"}, {"DAPR_HTTP_PORT": 3500, "DAPR_GRPC_PORT": 1})

    assert env == {"DAPR_HTTP_PORT": "4000", "DAPR_GRPC_PORT": "1"}
