"""The objects of one render, looked up the way the API server resolves a pod's references."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
WORKLOAD_KINDS = ("Deployment", "Job")


class ManifestError(ValueError):
    """A rendered object cannot be started as the kubelet would start it."""


@dataclass(frozen=True)
class Workload:
    """A Deployment or Job: its pod template is what the kubelet starts."""

    kind: str
    name: str
    namespace: str
    spec: Manifest  # the Deployment's or Job's spec

    @property
    def template(self) -> Manifest:
        template: Manifest = self.spec["template"]
        return template

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.template.get("metadata", {}).get("annotations") or {})

    @property
    def pod(self) -> Manifest:
        spec: Manifest = self.template["spec"]
        return spec

    @property
    def containers(self) -> list[Manifest]:
        return [*self.pod.get("initContainers", []), *self.pod["containers"]]

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


@dataclass(frozen=True)
class RenderedObjects:
    """Every Kubernetes object a render wrote under kubernetes/."""

    stack: str
    objects: tuple[Manifest, ...]
    # The file each object came from (kind-resource.yaml), parallel to `objects`.
    files: tuple[str, ...] = ()

    def of_kind(self, kind: str) -> list[Manifest]:
        return [o for o in self.objects if o.get("kind") == kind]

    def get(self, kind: str, namespace: str, name: str) -> Manifest:
        for candidate in self.of_kind(kind):
            meta = candidate.get("metadata", {})
            if meta.get("name") == name and meta.get("namespace") == namespace:
                return candidate
        raise ManifestError(f"{self.stack}: no {kind} {namespace}/{name} in the render")

    def workloads(self) -> list[Workload]:
        found = []
        for obj, file in zip(self.objects, self.files, strict=True):
            if obj.get("kind") not in WORKLOAD_KINDS:
                continue
            meta = obj["metadata"]
            # Pulumi names a Job without metadata.name at creation; the render names its
            # file after the resource, which is what a failure should point at.
            name = meta.get("name") or file.split("-", 1)[-1]
            found.append(Workload(obj["kind"], name, meta.get("namespace", "default"), obj["spec"]))
        return found


def load_objects(stack: str, render_dir: Path) -> RenderedObjects:
    """Read every YAML document under `render_dir/kubernetes` (the render's own layout)."""
    objects: list[Manifest] = []
    files: list[str] = []
    for path in sorted((render_dir / "kubernetes").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict):
                objects.append(document)
                files.append(path.stem)
    return RenderedObjects(stack, tuple(objects), tuple(files))


def iter_dapr_objects(objects: RenderedObjects, namespace: str) -> Iterator[Manifest]:
    """The dapr.io objects of `namespace`, which the operator would hand a pod's daprd."""
    for obj in objects.objects:
        api = str(obj.get("apiVersion", ""))
        if api.startswith("dapr.io/") and obj.get("metadata", {}).get("namespace") == namespace:
            yield obj
