"""`render`: run the program offline, write its files and plan, and judge it by the policy pack."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.render import documents
from infra.render.documents import Document
from infra.render.graph import components
from infra.render.mermaid import mermaid
from infra.render.plan import Plan, summarize
from infra.render.recording import Recording
from infra.render.source import load_source, record
from infra.render.verdict import check, policy_resources
from policy.model import Violation

GRAPH = "graph.mmd"
# What a render owns inside --out; only these are cleared, so a stale file never survives.
OWNED = ("kubernetes", "helm", "cloud", "plan.json", GRAPH)


@dataclass
class Render:
    """What one render produced, for the CLI to print and the tests to check."""

    stack: str
    out: Path
    plan: Plan
    files: list[Path]
    violations: list[Violation]
    stand_ins: tuple[str, ...]
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def render(stack: str, out: Path, project_dir: Path) -> Render:
    """Render `stack` from `project_dir/Pulumi.<stack>.yaml` into `out`."""
    started = time.perf_counter()
    source = load_source(stack, project_dir)
    recording = record(source)
    docs = list(_documents(recording))
    violations = check(policy_resources(recording), stack)
    plan = summarize(stack, recording)
    _clear(out)
    files = [_write(out, doc) for doc in docs]
    plan_json = {**plan.to_json(), "violations": [str(v) for v in violations]}
    (out / "plan.json").write_text(json.dumps(plan_json, indent=2) + "\n", encoding="utf-8")
    (out / GRAPH).write_text(mermaid(recording, components(recording)), encoding="utf-8")
    counts: dict[str, int] = {}
    for doc in docs:
        counts[doc.path.parts[0]] = counts.get(doc.path.parts[0], 0) + 1
    result = Render(stack, out, plan, files, violations, source.stand_ins, counts=counts)
    result.seconds = time.perf_counter() - started
    return result


def _documents(recording: Recording) -> Iterator[Document]:
    component = components(recording)
    names = {r.urn: r.name for r in recording.resources}
    taken: set[str] = set()
    for resource in recording.resources:
        urn_component = component[resource.urn]
        if documents.is_kubernetes_object(resource):
            doc = documents.kubernetes_document(resource, urn_component)
            if str(doc.path) in taken:
                doc = documents.disambiguated(doc, resource)
        elif documents.is_helm_release(resource):
            doc = documents.helm_document(resource, urn_component)
        elif documents.is_cloud_resource(resource):
            doc = documents.cloud_document(resource, urn_component, names)
        else:
            continue
        taken.add(str(doc.path))
        yield doc


def _clear(out: Path) -> None:
    for name in OWNED:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


# libyaml's emitter writes the same text as PyYAML's pure-Python one, several times faster.
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """Multi-line strings (dashboards, rules, scripts) as literal blocks: readable diffs."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def dump(body: Any) -> str:
    return yaml.dump(body, Dumper=_Dumper, sort_keys=True, allow_unicode=True, width=100)


def _write(out: Path, doc: Document) -> Path:
    path = out.joinpath(*doc.path.parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {doc.header}\n{dump(doc.body)}", encoding="utf-8")
    return path
