"""The daprd a pod's annotations ask for, and its resources written for a standalone daprd."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.deployed.environment import Resolver
from tests.support.deployed.objects import ManifestError, RenderedObjects
from tests.support.deployed.sidecar import (
    app_container_env,
    daprd_env,
    sidecar_spec,
    write_standalone_resources,
)

ANNOTATIONS = {
    "dapr.io/enabled": "true",
    "dapr.io/app-id": "taskstream-notifier",
    "dapr.io/app-port": "8000",
    "dapr.io/config": "taskstream",
    "dapr.io/log-as-json": "true",
    "dapr.io/api-token-secret": "dapr-api-token",
    "dapr.io/app-token-secret": "dapr-app-token",
}


def test_annotations_give_the_app_id_port_config_and_token_secrets() -> None:
    spec = sidecar_spec(ANNOTATIONS, "pod")

    assert spec is not None
    assert (spec.app_id, spec.app_port, spec.config) == ("taskstream-notifier", 8000, "taskstream")
    assert (spec.app_protocol, spec.log_level, spec.log_as_json) == ("http", "info", True)
    assert (spec.api_token_secret, spec.app_token_secret) == ("dapr-api-token", "dapr-app-token")
    assert app_container_env(spec) == {
        "DAPR_HTTP_PORT": "3500",
        "DAPR_GRPC_PORT": "50001",
        "APP_PROTOCOL": "http",
    }


def test_a_pod_without_dapr_enabled_gets_no_sidecar() -> None:
    assert sidecar_spec({"dapr.io/app-id": "x"}, "pod") is None
    assert sidecar_spec({"dapr.io/enabled": "false"}, "pod") is None


def test_a_misspelt_dapr_annotation_is_refused_rather_than_ignored() -> None:
    with pytest.raises(ManifestError, match="app-token-secrets"):
        sidecar_spec({**ANNOTATIONS, "dapr.io/app-token-secrets": "x"}, "pod")


def test_the_token_secrets_key_token_becomes_daprds_token_variables() -> None:
    objects = RenderedObjects(
        "test",
        tuple(
            {
                "kind": "Secret",
                "metadata": {"name": n, "namespace": "ns"},
                "stringData": {"token": v},
            }
            for n, v in (("dapr-api-token", "api"), ("dapr-app-token", "[secret]"))
        ),
        ("a", "b"),
    )
    spec = sidecar_spec(ANNOTATIONS, "pod")
    assert spec is not None

    env = daprd_env(spec, "ns", Resolver(objects, lambda s, k: f"made-{s}"))

    assert env == {
        "NAMESPACE": "ns",
        "DAPR_API_TOKEN": "api",
        "APP_API_TOKEN": "made-dapr-app-token",
    }


def test_env_from_secret_fills_daprd_variables_and_cert_manager_secrets_are_stood_in() -> None:
    objects = RenderedObjects(
        "test",
        (
            {
                "kind": "Secret",
                "metadata": {"name": "kafka-notifier", "namespace": "ns"},
                "stringData": {"username": "taskstream-notifier", "password": "[secret]"},
            },
            {
                "kind": "Certificate",
                "metadata": {"name": "kafka-ca", "namespace": "ns"},
                "spec": {"secretName": "kafka-ca"},
            },
        ),
        ("a", "b"),
    )
    annotations = {
        **{k: v for k, v in ANNOTATIONS.items() if "token" not in k},
        "dapr.io/env-from-secret": (
            "KAFKA_USER=kafka-notifier:username, KAFKA_PASS=kafka-notifier:password,"
            "KAFKA_CA=kafka-ca:ca.crt"
        ),
    }
    spec = sidecar_spec(annotations, "pod")
    assert spec is not None

    env = daprd_env(spec, "ns", Resolver(objects, lambda s, k: f"made-{s}-{k}"))

    assert env["KAFKA_USER"] == "taskstream-notifier"
    assert env["KAFKA_PASS"] == "made-kafka-notifier-password"
    assert env["KAFKA_CA"] == "made-kafka-ca-ca.crt", "cert-manager's Secret is not stood in"


def test_resources_keep_everything_but_the_brokers_and_split_out_configurations(
    tmp_path: Path,
) -> None:
    component = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "pubsub", "namespace": "ns"},
        "spec": {
            "type": "pubsub.kafka",
            "version": "v1",
            "metadata": [
                {"name": "brokers", "value": "redpanda.svc:9093"},
                {"name": "consumerGroup", "value": "{appID}"},
            ],
        },
    }
    configuration = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Configuration",
        "metadata": {"name": "taskstream", "namespace": "ns"},
        "spec": {},
    }
    other_namespace = {**configuration, "metadata": {"name": "other", "namespace": "elsewhere"}}
    objects = RenderedObjects("t", (component, configuration, other_namespace), ("a", "b", "c"))

    written = write_standalone_resources(objects, "ns", brokers="127.0.0.1:1", directory=tmp_path)

    [path] = written.resources_dir.glob("*.yaml")
    loaded = yaml.safe_load(path.read_text())
    assert loaded["spec"]["metadata"] == [
        {"name": "brokers", "value": "127.0.0.1:1"},
        {"name": "consumerGroup", "value": "{appID}"},
    ], "only the broker address may change"
    assert loaded["metadata"]["namespace"] == "ns"
    assert written.config("taskstream") == tmp_path / "config-taskstream.yaml"
    with pytest.raises(ManifestError, match="'other'"):
        written.config("other")
