"""Rendered objects checked against the OpenAPI schema of the pinned Kubernetes minor.

kubernetes-validate is a development dependency: this module is for tests and tooling,
and imports it only when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra import versions

# Groups whose schemas come from CRDs the charts install, not from Kubernetes itself.
CRD_GROUPS = (
    "dapr.io/",
    "monitoring.coreos.com/",
    "cert-manager.io/",
    "gateway.networking.k8s.io/",
    "gateway.envoyproxy.io/",
    "keda.sh/",
)


def is_custom_resource(manifest: Mapping[str, Any]) -> bool:
    api_version = str(manifest.get("apiVersion", ""))
    return any(api_version.startswith(group) for group in CRD_GROUPS)


def schema_errors(manifest: Mapping[str, Any], minor: str = versions.KUBERNETES_MINOR) -> list[str]:
    """Why `manifest` is not a valid object for Kubernetes `minor`; [] when it is.

    Strict: a field the schema does not know is an error, as `kubectl apply` would warn.
    """
    import kubernetes_validate

    try:
        kubernetes_validate.validate(dict(manifest), minor, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{error.message} at {list(error.path)}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"no schema for {manifest.get('apiVersion')}/{manifest.get('kind')}: {error}"]
    return []
