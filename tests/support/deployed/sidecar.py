"""The daprd the sidecar injector adds to a pod, read from the pod's dapr.io/* annotations.

Upstream facts encoded here (dapr v1.18, pkg/injector): daprd listens in the pod on 3500
(HTTP), 50001 (gRPC), 50002 (internal gRPC) and the metrics port; app containers get
DAPR_HTTP_PORT, DAPR_GRPC_PORT and APP_PROTOCOL unless they set them; the token annotations
name Secrets whose key `token` becomes daprd's DAPR_API_TOKEN and APP_API_TOKEN (never the
app's: an app that checks or sends a token must take it from the Secret itself);
`env-from-secret` (`NAME=secret:key,...`, pkg/injector/patcher/sidecar_container.go) adds
daprd variables from Secrets, where a missing `:key` means the key is the secret's name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.deployed.environment import Resolver
from tests.support.deployed.objects import (
    Manifest,
    ManifestError,
    RenderedObjects,
    iter_dapr_objects,
)
from tools.dev.dapr_resources import CONFIGURATION_KIND, file_name

PREFIX = "dapr.io/"
HTTP_PORT = 3500
GRPC_PORT = 50001
INTERNAL_GRPC_PORT = 50002
DEFAULT_METRICS_PORT = 9090
TOKEN_KEY = "token"
# Annotations the tier translates into daprd flags or env, or knowingly leaves to the cluster
# (resources, and what only Kubernetes mode has: the policy pack checks those).
TRANSLATED = {
    "enabled",
    "app-id",
    "app-port",
    "app-protocol",
    "config",
    "log-level",
    "log-as-json",
    "enable-metrics",
    "metrics-port",
    "graceful-shutdown-seconds",
    "api-token-secret",
    "app-token-secret",
    "env-from-secret",
}
CLUSTER_ONLY = {
    "sidecar-cpu-request",
    "sidecar-cpu-limit",
    "sidecar-memory-request",
    "sidecar-memory-limit",
    "disable-builtin-k8s-secret-store",
}


def truthy(value: str | None) -> bool:
    """Dapr's reading of a boolean annotation (utils.IsTruthy)."""
    return (value or "").strip().lower() in {"y", "yes", "true", "t", "on", "1"}


@dataclass(frozen=True)
class SidecarSpec:
    app_id: str
    app_port: int | None
    app_protocol: str
    config: str | None
    log_level: str
    log_as_json: bool
    metrics_port: int
    graceful_shutdown_seconds: int | None
    api_token_secret: str | None
    app_token_secret: str | None
    # (variable, Secret, key) for each dapr.io/env-from-secret entry.
    env_from_secret: tuple[tuple[str, str, str], ...] = ()


def _int(annotations: Mapping[str, str], key: str) -> int | None:
    raw = annotations.get(PREFIX + key)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ManifestError(f"annotation {PREFIX}{key}={raw!r} is not a number") from exc


def sidecar_spec(annotations: Mapping[str, str], pod_name: str) -> SidecarSpec | None:
    """None when the injector would leave the pod alone; unknown dapr.io/* keys are refused,
    since the injector ignores a misspelt annotation without a word."""
    if not truthy(annotations.get(PREFIX + "enabled")):
        return None
    unknown = sorted(
        key
        for key in annotations
        if key.startswith(PREFIX) and key[len(PREFIX) :] not in TRANSLATED | CLUSTER_ONLY
    )
    if unknown:
        raise ManifestError(f"dapr annotations the tier does not translate: {unknown}")
    return SidecarSpec(
        app_id=annotations.get(PREFIX + "app-id") or pod_name,
        app_port=_int(annotations, "app-port"),
        app_protocol=annotations.get(PREFIX + "app-protocol", "http"),
        config=annotations.get(PREFIX + "config"),
        log_level=annotations.get(PREFIX + "log-level", "info"),
        log_as_json=truthy(annotations.get(PREFIX + "log-as-json")),
        metrics_port=_int(annotations, "metrics-port") or DEFAULT_METRICS_PORT,
        graceful_shutdown_seconds=_int(annotations, "graceful-shutdown-seconds"),
        api_token_secret=annotations.get(PREFIX + "api-token-secret"),
        app_token_secret=annotations.get(PREFIX + "app-token-secret"),
        env_from_secret=_env_from_secret(annotations.get(PREFIX + "env-from-secret", "")),
    )


def _env_from_secret(raw: str) -> tuple[tuple[str, str, str], ...]:
    entries = []
    for part in re.split(r",\s*(?=[A-Za-z_][A-Za-z0-9_]*=)", raw.strip()) if raw.strip() else []:
        variable, _, ref = part.strip().partition("=")
        secret, _, key = ref.strip().partition(":")
        entries.append((variable, secret.strip(), key.strip() or secret.strip()))
    return tuple(entries)


def pod_ports(spec: SidecarSpec) -> list[int]:
    return [HTTP_PORT, GRPC_PORT, INTERNAL_GRPC_PORT, spec.metrics_port]


def app_container_env(spec: SidecarSpec) -> dict[str, str]:
    """What the injector adds to every app container (only where the name is unset)."""
    return {
        "DAPR_HTTP_PORT": str(HTTP_PORT),
        "DAPR_GRPC_PORT": str(GRPC_PORT),
        "APP_PROTOCOL": spec.app_protocol,
    }


def daprd_env(spec: SidecarSpec, namespace: str, resolver: Resolver) -> dict[str, str]:
    env = {"NAMESPACE": namespace}
    for variable, secret, key in spec.env_from_secret:
        env[variable] = _secret_value(resolver, namespace, secret, key)
    for variable, secret in (
        ("DAPR_API_TOKEN", spec.api_token_secret),
        ("APP_API_TOKEN", spec.app_token_secret),
    ):
        if secret is not None:
            value = resolver.lookup("Secret", namespace, secret, TOKEN_KEY, optional=False)
            assert value is not None
            env[variable] = value
    return env


def _secret_value(resolver: Resolver, namespace: str, secret: str, key: str) -> str:
    """A Secret's key from the render, or the stand-in for one cert-manager writes."""
    value = resolver.lookup("Secret", namespace, secret, key, optional=False)
    assert value is not None
    return value


@dataclass(frozen=True)
class StandaloneResources:
    resources_dir: Path
    configurations: dict[str, Path]

    def config(self, name: str | None) -> Path | None:
        if name is None:
            return None
        if name not in self.configurations:
            raise ManifestError(
                f"{PREFIX}config names {name!r}, but the render has Configurations "
                f"{sorted(self.configurations)}"
            )
        return self.configurations[name]


def _pointed_at(component: Manifest, brokers: str) -> Manifest:
    spec = dict(component["spec"])
    metadata = [dict(item) for item in spec.get("metadata", [])]
    if spec.get("type") == "pubsub.kafka":
        found = [item for item in metadata if item.get("name") == "brokers"]
        if not found:
            raise ManifestError(f"Kafka component {component['metadata']} names no brokers")
        for item in found:
            item["value"] = brokers
    spec["metadata"] = metadata
    return {**component, "spec": spec}


def write_standalone_resources(
    objects: RenderedObjects, namespace: str, *, brokers: str, directory: Path
) -> StandaloneResources:
    """The rendered dapr.io objects of `namespace` as files for a standalone daprd, with the
    Kafka components pointed at `brokers`; Configurations go to --config, the rest to
    --resources-path. Namespaces stay: daprd gets the pod's NAMESPACE, as injected."""
    resources_dir = directory / "resources"
    resources_dir.mkdir(parents=True, exist_ok=True)
    configurations: dict[str, Path] = {}
    for obj in iter_dapr_objects(objects, namespace):
        if obj["kind"] == CONFIGURATION_KIND:
            target = directory / f"config-{obj['metadata']['name']}.yaml"
            configurations[obj["metadata"]["name"]] = target
        else:
            if obj["kind"] == "Component":
                obj = _pointed_at(obj, brokers)
            target = resources_dir / file_name(obj)
        target.write_text(yaml.safe_dump(obj, sort_keys=False), encoding="utf-8")
    return StandaloneResources(resources_dir, configurations)
