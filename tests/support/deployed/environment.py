"""A container's environment as the kubelet builds it: image ENV, envFrom, env, injected."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

from infra.render.redact import REDACTED
from tests.support.deployed.objects import Manifest, ManifestError, RenderedObjects, Workload

# (Secret name, key) -> the value a test stands in for one the render redacted.
StandIns = Callable[[str, str], str]
# Kubernetes expands $(NAME) from variables defined earlier; $$ escapes a literal $.
_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(value: str, defined: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: unknown references stay as written, $$( is a literal $(."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return defined.get(name, match.group(0))

    return _REFERENCE.sub(substitute, value)


def _data(obj: Manifest) -> dict[str, str]:
    """A Secret's or ConfigMap's values as strings (data is base64 for Secrets, as stored)."""
    values = {k: str(v) for k, v in (obj.get("stringData") or {}).items()}
    for key, encoded in (obj.get("data") or {}).items():
        text = str(encoded)
        if obj.get("kind") == "Secret" and text != REDACTED:
            text = base64.b64decode(text).decode()
        values.setdefault(key, text)
    return values


class Resolver:
    """Resolves a pod's Secret and ConfigMap references against one render."""

    def __init__(self, objects: RenderedObjects, test_values: StandIns) -> None:
        self.objects = objects
        self.test_values = test_values
        # Cluster addresses the tier serves itself, as the cluster DNS would resolve them:
        # the rendered broker address to the test broker's (DeployedStack.start_deployments).
        self.addresses: dict[str, str] = {}

    def issued(self, namespace: str, secret: str) -> bool:
        """Whether cert-manager writes `secret` from a rendered Certificate: the cluster makes
        it, so the test's stand-in (the suite's own CA) takes its place."""
        return any(
            cert.get("metadata", {}).get("namespace") == namespace
            and cert.get("spec", {}).get("secretName") == secret
            for cert in self.objects.of_kind("Certificate")
        )

    def lookup(self, kind: str, namespace: str, name: str, key: str, optional: bool) -> str | None:
        if kind == "Secret" and self.issued(namespace, name):
            return self.test_values(name, key)
        try:
            values = _data(self.objects.get(kind, namespace, name))
        except ManifestError:
            if optional:
                return None
            raise
        if key not in values:
            if optional:
                return None
            raise ManifestError(f"{kind} {namespace}/{name} has no key {key!r}")
        value = values[key]
        return self.test_values(name, key) if value == REDACTED else value

    def all_of(self, kind: str, namespace: str, name: str, optional: bool) -> dict[str, str]:
        try:
            obj = self.objects.get(kind, namespace, name)
        except ManifestError:
            if optional:
                return {}
            raise
        values = _data(obj)
        return {k: self.test_values(name, k) if v == REDACTED else v for k, v in values.items()}


def _value_from(
    source: Manifest, workload: Workload, pod_name: str, resolver: Resolver
) -> str | None:
    namespace = workload.namespace
    if "secretKeyRef" in source or "configMapKeyRef" in source:
        kind, ref = (
            ("Secret", source["secretKeyRef"])
            if "secretKeyRef" in source
            else ("ConfigMap", source["configMapKeyRef"])
        )
        optional = bool(ref.get("optional", False))
        return resolver.lookup(kind, namespace, ref["name"], ref["key"], optional)
    if "fieldRef" in source:
        path = source["fieldRef"]["fieldPath"]
        fields = {"metadata.name": pod_name, "metadata.namespace": namespace}
        if path not in fields:
            raise ManifestError(f"{workload}: fieldRef {path} is not translated by the tier")
        return fields[path]
    raise ManifestError(f"{workload}: valueFrom {sorted(source)} is not translated by the tier")


def container_environment(
    container: Manifest,
    workload: Workload,
    *,
    image_env: Mapping[str, str],
    resolver: Resolver,
    pod_name: str,
) -> dict[str, str]:
    """Image ENV, then envFrom in order, then env in order; later definitions win.

    $(VAR) in a value expands from what the container itself defined before it, never from
    the image's ENV, which the kubelet does not see.
    """
    defined: dict[str, str] = {}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        kind, ref = (
            ("Secret", source["secretRef"])
            if "secretRef" in source
            else ("ConfigMap", source["configMapRef"])
        )
        values = resolver.all_of(kind, workload.namespace, ref["name"], ref.get("optional", False))
        defined.update({f"{prefix}{k}": v for k, v in values.items()})
    for entry in container.get("env", []):
        name = entry["name"]
        if "valueFrom" in entry:
            resolved = _value_from(entry["valueFrom"], workload, pod_name, resolver)
            if resolved is not None:
                defined[name] = resolved
        else:
            value = expand(str(entry.get("value", "")), defined)
            defined[name] = resolver.addresses.get(value, value)
    return {**image_env, **defined}


def add_absent(env: dict[str, str], injected: Mapping[str, Any]) -> dict[str, str]:
    """The injector adds its variables to app containers only where the name is unset."""
    return {**{k: str(v) for k, v in injected.items()}, **env}
