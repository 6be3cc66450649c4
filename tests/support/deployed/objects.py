"""The objects of one render, looked up the way the API server resolves a pod's references."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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
    wave: int = 0  # the render's dependency wave: a workload waits for every earlier wave

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
    # The Pulumi resource each object came from, parallel to `objects`.
    resources: tuple[str, ...] = ()
    # The dependency wave of each Pulumi resource, by "type name" (the render's plan.json).
    waves: Mapping[str, int] = field(default_factory=dict)

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
        for obj, resource in zip(self.objects, self.resources, strict=True):
            if obj.get("kind") not in WORKLOAD_KINDS:
                continue
            meta = obj["metadata"]
            # Pulumi names a Job without metadata.name at creation; the resource name is
            # what a failure should point at.
            name = meta.get("name") or resource.split(" ", 1)[-1]
            namespace = meta.get("namespace", "default")
            wave = self.waves.get(resource, 0)
            found.append(Workload(obj["kind"], name, namespace, obj["spec"], wave))
        return sorted(found, key=lambda w: w.wave)


def load_objects(stack: str, render_dir: Path) -> RenderedObjects:
    """Read every YAML document under `render_dir/kubernetes` (the render's own layout)."""
    objects: list[Manifest] = []
    resources: list[str] = []
    for path in sorted((render_dir / "kubernetes").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        # The render heads each file with "# <type> <resource name>".
        header = text.splitlines()[0].removeprefix("# ") if text.startswith("# ") else ""
        for document in yaml.safe_load_all(text):
            if isinstance(document, dict):
                objects.append(document)
                resources.append(header)
    plan = json.loads((render_dir / "plan.json").read_text(encoding="utf-8"))
    waves = {f"{step['type']} {step['name']}": int(step["wave"]) for step in plan["order"]}
    return RenderedObjects(stack, tuple(objects), tuple(resources), waves)


def iter_dapr_objects(objects: RenderedObjects, namespace: str) -> Iterator[Manifest]:
    """The dapr.io objects of `namespace`, which the operator would hand a pod's daprd."""
    for obj in objects.objects:
        api = str(obj.get("apiVersion", ""))
        if api.startswith("dapr.io/") and obj.get("metadata", {}).get("namespace") == namespace:
            yield obj
