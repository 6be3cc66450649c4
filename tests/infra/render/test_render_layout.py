"""`taskstream render` writes every object, release and cloud resource where the layout says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from infra.render.recording import RecordedResource, reveal
from infra.render.redact import REDACTED
from tests.infra.render.rendered import FOREIGN, STALE, Rendered, component


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-")


def _files(out: Path, folder: str) -> set[Path]:
    return {p.relative_to(out) for p in (out / folder).rglob("*.yaml")}


def _is_raw_object(r: RecordedResource) -> bool:
    return (
        r.custom
        and r.type.startswith("kubernetes:")
        and not r.type.startswith("kubernetes:helm.sh/")
        and "kind" in r.inputs
    )


def test_the_render_exits_cleanly_and_prints_its_policy_verdict_and_runtime(
    render: Rendered,
) -> None:
    assert render.exit_code == 0, f"render {render.stack} failed:\n{render.output}"
    assert "policy: no violations" in render.output, f"no policy verdict:\n{render.output}"
    assert re.search(rf"rendered {render.stack} in \d+\.\d\d s", render.output), (
        f"the render did not print its runtime:\n{render.output}"
    )


def test_every_raw_kubernetes_object_is_written_under_its_component(render: Rendered) -> None:
    expected = set()
    for r in render.recording.resources:
        if _is_raw_object(r):
            name = (r.inputs.get("metadata") or {}).get("name") or r.name
            file = f"{_slug(r.inputs['kind'])}-{_slug(name)}.yaml"
            expected.add(Path("kubernetes", component(r, render.recording), file))
    written = _files(render.out, "kubernetes")
    assert len(expected) > 20, f"only {len(expected)} raw objects recorded for {render.stack}"
    assert expected - written == set(), f"objects not written: {sorted(expected - written)}"
    assert written - expected == set(), f"files that match no object: {sorted(written - expected)}"


def test_every_helm_release_names_its_chart_repo_version_and_values(render: Rendered) -> None:
    releases = [r for r in render.recording.resources if r.type.startswith("kubernetes:helm.sh/")]
    assert releases, f"no Helm release recorded for {render.stack}"
    assert len(_files(render.out, "helm")) == len(releases), "helm/ holds a file per release"
    for r in releases:
        document: Any = render.load(Path("helm", f"{r.inputs['name']}.yaml"))
        assert document["chart"] == r.inputs["chart"], f"{r.name}: wrong chart"
        # An OCI chart names its registry in `chart` and has no repository.
        repo = (r.inputs.get("repositoryOpts") or {}).get("repo")
        assert document["repo"] == repo, f"{r.name}: wrong repo"
        assert document["version"] == r.inputs["version"], f"{r.name}: wrong version"
        values = reveal(r.inputs["values"], REDACTED)
        assert set(document["values"]) == set(values), f"{r.name}: values differ from the program"


def test_every_cloud_resource_is_written_with_its_inputs_and_protection(render: Rendered) -> None:
    cloud = [
        r for r in render.recording.resources if r.type.startswith(("digitalocean:", "random:"))
    ]
    assert len(_files(render.out, "cloud")) == len(cloud), "cloud/ holds a file per resource"
    for r in cloud:
        type_name = r.type.rsplit(":", 1)[-1].lower()
        document: Any = render.load(Path("cloud", f"{type_name}-{r.name}.yaml"))
        assert document["type"] == r.type, f"{r.name}: wrong type in its file"
        assert document["protect"] is r.protect, f"{r.name}: protect not shown as recorded"
        assert set(document["inputs"]) == set(r.inputs), f"{r.name}: inputs missing"


def test_a_render_clears_what_an_earlier_render_left_and_keeps_other_files(
    render: Rendered,
) -> None:
    assert not (render.out / STALE).exists(), "a stale object file survived the render"
    assert (render.out / FOREIGN).exists(), "the render deleted a file it does not own"
