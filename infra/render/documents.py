"""The render's files: raw Kubernetes objects, Helm releases and cloud resources as YAML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from infra.render.recording import RecordedResource
from infra.render.redact import redact

HELM_RELEASE = "kubernetes:helm.sh/"
CLOUD_PROVIDERS = ("digitalocean:", "random:")


@dataclass(frozen=True)
class Document:
    """One file of the render: its path under the output directory and its YAML body."""

    path: PurePosixPath
    header: str
    body: dict[str, Any]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-")


def is_kubernetes_object(resource: RecordedResource) -> bool:
    inputs = resource.inputs
    return (
        resource.custom
        and resource.type.startswith("kubernetes:")
        and not resource.type.startswith(HELM_RELEASE)
        and "apiVersion" in inputs
        and "kind" in inputs
    )


def is_helm_release(resource: RecordedResource) -> bool:
    return resource.custom and resource.type.startswith(HELM_RELEASE)


def is_cloud_resource(resource: RecordedResource) -> bool:
    return resource.custom and resource.type.startswith(CLOUD_PROVIDERS)


def kubernetes_document(resource: RecordedResource, component: str) -> Document:
    """The object as `kubectl apply` would take it, under kubernetes/<component>/."""
    manifest = redact(resource.inputs)
    metadata = manifest.get("metadata") or {}
    # Objects the program lets Pulumi auto-name (Jobs) have no name until created.
    name = metadata.get("name") or resource.name
    stem = f"{_slug(manifest['kind'])}-{_slug(name)}"
    path = PurePosixPath("kubernetes", _slug(component), f"{stem}.yaml")
    return Document(path, f"{resource.type} {resource.name}", manifest)


def disambiguated(document: Document, resource: RecordedResource) -> Document:
    """The same document under a path that adds the Pulumi name, unique per type."""
    stem = document.path.stem + "-" + _slug(resource.name)
    return Document(document.path.with_name(f"{stem}.yaml"), document.header, document.body)


def helm_document(resource: RecordedResource, component: str) -> Document:
    """The release's chart coordinates and the values the program passes, merged."""
    inputs = redact(resource.inputs)
    release = str(inputs.get("name") or resource.name)
    body = {
        "release": release,
        "component": component,
        "namespace": inputs.get("namespace"),
        "chart": inputs.get("chart"),
        "repo": (inputs.get("repositoryOpts") or {}).get("repo"),
        "version": inputs.get("version"),
        "values": merged_values(resource.inputs),
    }
    path = PurePosixPath("helm", f"{_slug(release)}.yaml")
    return Document(path, f"{resource.type} {resource.name}", body)


def merged_values(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`valueYamlFiles` first, then `values` over them, as Helm layers them; redacted.

    The chart's own defaults are not included: reading them needs the chart, i.e. network.
    """
    merged: dict[str, Any] = {}
    for asset in inputs.get("valueYamlFiles") or []:
        text = Path(asset.path).read_text(encoding="utf-8")
        merged = _deep_merge(merged, yaml.safe_load(text) or {})
    return _deep_merge(merged, redact(inputs.get("values") or {}))


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _deep_merge(dict(result[key]), value)
        else:
            result[key] = value
    return result


def cloud_document(
    resource: RecordedResource, component: str, names: Mapping[str, str]
) -> Document:
    """A DigitalOcean or random resource: its inputs and how it is guarded."""
    type_name = resource.type.rsplit(":", 1)[-1]
    body = {
        "type": resource.type,
        "name": resource.name,
        "component": component,
        "protect": resource.protect,
        "dependsOn": sorted(names[u] for u in resource.dependencies if u in names),
        "inputs": redact(resource.inputs),
    }
    path = PurePosixPath("cloud", f"{_slug(type_name)}-{_slug(resource.name)}.yaml")
    return Document(path, f"{resource.type} {resource.name}", body)
