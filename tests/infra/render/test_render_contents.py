"""What the render writes is valid Kubernetes, free of secrets, and counts what was declared."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from infra import versions
from infra.render.mock_answers import SECRET_MARKER
from infra.render.redact import REDACTED
from infra.render.schema import is_custom_resource, schema_errors
from tests.infra.render.rendered import Rendered


def _manifests(out: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [
        (p.relative_to(out), yaml.safe_load(p.read_text(encoding="utf-8")))
        for p in sorted((out / "kubernetes").rglob("*.yaml"))
    ]


def test_every_rendered_object_validates_against_the_pinned_kubernetes_schema(
    render: Rendered,
) -> None:
    failures = []
    checked = 0
    for path, manifest in _manifests(render.out):
        # dapr.io, monitoring.coreos.com and cert-manager.io kinds are defined by CRDs the
        # charts install; Kubernetes' own schema cannot judge them (tests/infra checks shapes).
        if is_custom_resource(manifest):
            continue
        checked += 1
        failures += [f"{path}: {error}" for error in schema_errors(manifest)]
    assert checked > 20, f"only {checked} built-in objects rendered for {render.stack}"
    assert not failures, f"invalid for Kubernetes {versions.KUBERNETES_MINOR}: {failures}"


def test_no_rendered_file_contains_a_secret_value(render: Rendered) -> None:
    texts = {p: p.read_text(encoding="utf-8") for p in render.out.rglob("*") if p.is_file()}
    leaked = [str(p.relative_to(render.out)) for p, text in texts.items() if SECRET_MARKER in text]
    assert not leaked, f"secret values reached {leaked}"
    assert SECRET_MARKER not in render.output, "a secret value was printed"
    assert any(REDACTED in text for text in texts.values()), "no secret shown redacted at all"


def test_the_app_settings_secret_keeps_its_keys_with_redacted_values(render: Rendered) -> None:
    path = render.out / "kubernetes" / "app-foundation" / "secret-taskstream-settings.yaml"
    secret = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert "database-url" in secret["stringData"], "the settings Secret lost its keys"
    assert set(secret["stringData"].values()) == {REDACTED}, "a settings value is not redacted"


def test_the_plan_counts_equal_the_recording(render: Rendered) -> None:
    plan = json.loads((render.out / "plan.json").read_text(encoding="utf-8"))
    resources = render.recording.resources
    assert plan["resources"] == len(resources), "plan total differs from the recording"
    assert plan["byType"] == dict(Counter(r.type for r in resources)), "counts by type differ"
    assert sum(plan["byComponent"].values()) == len(resources), "components miss resources"
    assert plan["violations"] == [], f"shipped stack has violations: {plan['violations']}"
    assert f"{len(resources)} resources" in render.output, "the plan table was not printed"


def test_the_plan_orders_every_resource_after_its_parent_and_dependencies(
    render: Rendered,
) -> None:
    plan = json.loads((render.out / "plan.json").read_text(encoding="utf-8"))
    position = {(s["type"], s["name"]): i for i, s in enumerate(plan["order"])}
    assert len(position) == len(render.recording.resources), "order misses resources"
    by_urn = {r.urn: r for r in render.recording.resources}
    for r in render.recording.resources:
        for urn in [r.parent, *r.dependencies]:
            if urn in by_urn:
                before = by_urn[urn]
                assert position[(before.type, before.name)] < position[(r.type, r.name)], (
                    f"{r.name} is ordered before {before.name}, which it waits for"
                )
