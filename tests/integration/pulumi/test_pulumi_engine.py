"""The real Pulumi CLI, language host and providers accept the program, its stacks and config.

The mock-engine tests (tests/infra) prove what the program declares; these prove that
`pulumi preview` and `pulumi up` with the built engine take it: Pulumi.yaml, the stack files,
the config keys, the provider schemas and checks, and the resource graph.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.render.run import render
from infra.render.schema import is_custom_resource, schema_errors
from tests.infra.expected_resources import EXPECTED_RESOURCES
from tests.infra.stacks import STACKS
from tests.integration.pulumi.conftest import OWNER_REGISTRY, FakeInternet, make_project
from tests.support.engines import REPO_ROOT
from tests.support.pulumi import Project, Run
from tests.support.workloads import IMAGE_WORKLOADS

pytestmark = pytest.mark.integration

# What the real engine plans beyond what the program declares: the root Stack resource.
# (Default providers are registered too, but `preview --json` does not list them.)
ENGINE_CREATES = {"pulumi:pulumi:Stack": 1}
# `Resource.get` reads an existing object; the mock engine records declarations only. Every
# DigitalOcean stack has a domain, so no api_url reads a Service (infra/program.py _api_url).
EXTERNAL_READS: dict[str, list[str]] = {
    "dev": [],
    # prod reads the registry name from dev's outputs (infra/components/registry.py).
    "prod": ["pulumi:pulumi:StackReference::registry-owner"],
    "local": [],
}
# A reused DigitalOcean registry, named by the owning stack: every image must come from it.
PROD_IMAGE_PREFIX = f"registry.digitalocean.com/{OWNER_REGISTRY}/taskstream:"

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def projects(
    tmp_path_factory: pytest.TempPathFactory,
    pulumi_env: dict[str, str],
    fake_internet: FakeInternet,
) -> Iterator[dict[str, Project]]:
    made = {
        stack: make_project(
            stack, tmp_path_factory.mktemp(f"pulumi-{stack}"), pulumi_env, fake_internet
        )
        for stack in STACKS
    }
    yield made
    if TIMINGS:
        print("\npulumi timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in TIMINGS.items()))


@pytest.fixture(scope="module")
def previews(projects: dict[str, Project]) -> dict[str, Run]:
    """One plain `pulumi preview --diff --json` per stack, shared by the assertions below."""
    runs: dict[str, Run] = {}
    for stack, project in projects.items():
        runs[stack] = project.preview("--json")
        TIMINGS[f"preview {stack}"] = runs[stack].seconds
    return runs


def _steps(run: Run) -> list[dict[str, Any]]:
    assert run.returncode == 0, f"preview failed:\n{run.output}"
    return list(run.json()["steps"])


def _short_urn(urn: str) -> str:
    return urn.split("::", 2)[2].rsplit("$", 1)[-1]


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_previews_with_exactly_the_resources_the_mock_engine_expects(
    stack: str, previews: dict[str, Run]
) -> None:
    steps = _steps(previews[stack])
    ops = Counter(step["op"] for step in steps)
    assert set(ops) <= {"create", "read"}, f"{stack}: unexpected operations {dict(ops)}"
    planned = Counter(step["newState"]["type"] for step in steps if step["op"] == "create")
    expected = Counter(EXPECTED_RESOURCES[stack]) + Counter(ENGINE_CREATES)
    missing, extra = expected - planned, planned - expected
    assert (dict(missing), dict(extra)) == ({}, {}), (
        f"{stack}: the real preview plans a different set than tests/infra/expected_resources.py"
        f"\n  not planned: {dict(missing)}\n  unexpected: {dict(extra)}"
    )
    reads = sorted(_short_urn(step["urn"]) for step in steps if step["op"] == "read")
    assert reads == EXTERNAL_READS[stack], f"{stack}: reads of existing objects: {reads}"


@pytest.mark.parametrize("stack", STACKS)
def test_each_preview_reports_no_warning_or_error(stack: str, previews: dict[str, Run]) -> None:
    diagnostics = previews[stack].json().get("diagnostics", [])
    loud = [d for d in diagnostics if d.get("severity") in ("warning", "error")]
    assert not loud, f"{stack}: " + "\n".join(f"{d.get('urn')}: {d['message']}" for d in loud)


def test_the_digitalocean_previews_ask_the_api_only_for_kubernetes_versions(
    previews: dict[str, Run], fake_internet: FakeInternet
) -> None:
    assert previews, "no preview ran"
    api_calls = sorted({path for path in fake_internet.requests if path.startswith("/v2/")})
    assert api_calls == ["/v2/kubernetes/options"], f"DigitalOcean API reads: {api_calls}"


def test_the_local_preview_loads_every_chart_it_installs_from_the_mirror(
    previews: dict[str, Run], fake_internet: FakeInternet
) -> None:
    releases = [
        step["newState"]["inputs"]
        for step in _steps(previews["local"])
        if step["newState"]["type"] == "kubernetes:helm.sh/v3:Release"
    ]
    wanted = sorted(f"/charts/{r['chart']}-{r['version']}.tgz" for r in releases)
    fetched = sorted({path for path in fake_internet.requests if path.endswith(".tgz")})
    assert wanted, "the local preview plans no Helm release"
    assert fetched == wanted, f"the provider's Check loaded {fetched}, the releases need {wanted}"


def test_prod_images_come_from_the_reused_registry(previews: dict[str, Run]) -> None:
    images = [
        container["image"]
        for step in _steps(previews["prod"])
        if step["newState"]["type"] == "kubernetes:apps/v1:Deployment"
        for container in step["newState"]["inputs"]["spec"]["template"]["spec"]["containers"]
        if container["name"] != "daprd"
    ]
    assert images, "prod plans no Deployment containers"
    wrong = [image for image in images if not image.startswith(PROD_IMAGE_PREFIX)]
    assert not wrong, f"prod images not from {PROD_IMAGE_PREFIX}…: {wrong}"


def test_the_dev_preview_plans_the_image_build_before_every_workload_that_runs_it(
    previews: dict[str, Run],
) -> None:
    # With DOCKER_HOST pointing nowhere (conftest): the plan needs no Docker daemon.
    steps = _steps(previews["dev"])
    images = [i for i, s in enumerate(steps) if s["newState"]["type"] == "docker-build:index:Image"]
    assert len(images) == 1, f"dev plans {len(images)} image builds"
    image = steps[images[0]]
    assert image["op"] == "create"
    workloads = {
        step["urn"].rsplit("::", 1)[1]: (index, step["newState"].get("dependencies", []))
        for index, step in enumerate(steps)
        if "taskstream:platform:App$" in step["urn"]
        and step["newState"]["type"] in ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job")
    }
    assert sorted(workloads) == list(IMAGE_WORKLOADS)
    early = [name for name, (index, _) in workloads.items() if index < images[0]]
    assert not early, f"planned before the image build: {early}"
    unordered = [name for name, (_, deps) in workloads.items() if image["urn"] not in deps]
    assert not unordered, f"not dependent on the image build: {unordered}"


def test_prod_plans_no_image_build(previews: dict[str, Run]) -> None:
    types = {step["newState"]["type"] for step in _steps(previews["prod"])}
    assert "docker-build:index:Image" not in types, "prod must deploy the image CI built"


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_the_policy_pack_finds_no_mandatory_violation_in_a_real_preview(
    stack: str, projects: dict[str, Project], policy_pack: Path
) -> None:
    # Without --diff: the diff display leaves out the Policies summary.
    run = projects[stack].pulumi("preview", "--policy-pack", str(policy_pack))
    TIMINGS[f"preview {stack} + policy"] = run.seconds
    assert "✅ taskstream@" in run.stdout, f"{stack}: the pack did not run or failed:\n{run.output}"
    assert "[mandatory]" not in run.output, f"{stack}: mandatory policy violation:\n{run.output}"
    assert run.returncode == 0, f"{stack}: preview with the policy pack failed:\n{run.output}"


def test_a_bad_config_value_fails_the_real_preview_with_a_message_naming_the_key(
    tmp_path: Path, pulumi_env: dict[str, str], fake_internet: FakeInternet
) -> None:
    project = make_project("dev", tmp_path, pulumi_env, fake_internet)
    project.config("taskstream:dbNodeCount", "4")
    run = project.preview()
    TIMINGS["preview dev, bad config"] = run.seconds
    assert run.returncode != 0, f"a database of 4 nodes previewed:\n{run.output}"
    assert "taskstream:dbNodeCount: 4 is out of range" in run.output, (
        f"the failure does not name the key:\n{run.output}"
    )
    assert "Traceback" not in run.output, f"a stack trace instead of a message:\n{run.output}"


# --------------------------------------------------------- pulumi up, rendering YAML

# What the provider adds to an object it renders, on top of the program's inputs.
PULUMI_ANNOTATIONS = ("pulumi.com/autonamed",)


def _rendered_by_provider(directory: Path) -> list[dict[str, Any]]:
    manifests = []
    for path in sorted(directory.rglob("*.yaml")):
        manifests.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return manifests


def _rendered_offline(out: Path) -> list[dict[str, Any]]:
    render("local", out, REPO_ROOT)
    return [yaml.safe_load(p.read_text()) for p in sorted((out / "kubernetes").rglob("*.yaml"))]


def _key(manifest: dict[str, Any], autonamed: bool) -> tuple[str, str, str, str]:
    metadata = manifest.get("metadata") or {}
    name = str(metadata.get("name", ""))
    if autonamed:
        # Auto-named objects (the Jobs) get "<pulumi name>-<8 random chars>" from the provider.
        name = name.rsplit("-", 1)[0]
    return (manifest["apiVersion"], manifest["kind"], str(metadata.get("namespace", "")), name)


def _normalised(manifest: dict[str, Any]) -> dict[str, Any]:
    body = dict(manifest)
    metadata = dict(body.get("metadata") or {})
    annotations = {
        k: v for k, v in (metadata.get("annotations") or {}).items() if k not in PULUMI_ANNOTATIONS
    }
    metadata.pop("annotations", None)
    if annotations:
        metadata["annotations"] = annotations
    metadata.pop("name", None)
    body["metadata"] = metadata
    # The offline render shows secret values as a placeholder; the provider writes them.
    if body.get("kind") == "Secret":
        body.pop("data", None)
        body.pop("stringData", None)
    return body


@pytest.fixture(scope="module")
def rendered_local(
    tmp_path_factory: pytest.TempPathFactory,
    pulumi_env: dict[str, str],
    fake_internet: FakeInternet,
) -> tuple[Run, Path]:
    root = tmp_path_factory.mktemp("pulumi-local-render")
    project = make_project("local", root, pulumi_env, fake_internet)
    out = root / "manifests"
    project.config("taskstream:renderYamlTo", str(out))
    started = time.perf_counter()
    run = project.pulumi("up", "--yes", "--skip-preview")
    TIMINGS["up local (render YAML)"] = time.perf_counter() - started
    return run, out


def test_pulumi_up_of_the_local_stack_renders_manifests_without_a_cluster(
    rendered_local: tuple[Run, Path],
) -> None:
    run, out = rendered_local
    assert run.returncode == 0, f"pulumi up with renderYamlToDirectory failed:\n{run.output}"
    assert _rendered_by_provider(out), f"pulumi up wrote no manifest under {out}"


def test_the_rendered_manifests_validate_against_the_pinned_kubernetes_schema(
    rendered_local: tuple[Run, Path],
) -> None:
    run, out = rendered_local
    assert run.returncode == 0, f"pulumi up failed:\n{run.output}"
    errors = {
        f"{m['kind']}/{m['metadata'].get('name')}": schema_errors(m)
        for m in _rendered_by_provider(out)
        if not is_custom_resource(m)
    }
    invalid = {name: problems for name, problems in errors.items() if problems}
    assert errors, "no built-in Kubernetes object was rendered"
    assert not invalid, f"rendered objects the schema rejects: {invalid}"


def test_the_rendered_manifests_are_the_objects_of_the_offline_render(
    rendered_local: tuple[Run, Path], tmp_path: Path
) -> None:
    run, out = rendered_local
    assert run.returncode == 0, f"pulumi up failed:\n{run.output}"
    real = _rendered_by_provider(out)
    offline = _rendered_offline(tmp_path / "render")

    def autonamed(manifest: dict[str, Any]) -> bool:
        annotations = (manifest.get("metadata") or {}).get("annotations") or {}
        return annotations.get("pulumi.com/autonamed") == "true"

    real_by_key = {_key(m, autonamed(m)): m for m in real}
    offline_by_key: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for manifest in offline:
        metadata = manifest.get("metadata") or {}
        if "name" not in metadata:
            continue  # auto-named: matched below by kind and namespace
        offline_by_key[_key(manifest, False)] = manifest
    unnamed = [m for m in offline if "name" not in (m.get("metadata") or {})]
    real_named = {k: m for k, m in real_by_key.items() if not autonamed(m)}
    real_unnamed = [m for m in real if autonamed(m)]
    assert sorted(real_named) == sorted(offline_by_key), (
        "objects differ:\n  only pulumi up: "
        f"{sorted(set(real_named) - set(offline_by_key))}\n  only offline: "
        f"{sorted(set(offline_by_key) - set(real_named))}"
    )
    assert len(real_unnamed) == len(unnamed), (
        f"auto-named objects: pulumi up {len(real_unnamed)}, offline {len(unnamed)}"
    )
    different = [
        key
        for key, manifest in offline_by_key.items()
        if _normalised(manifest) != _normalised(real_named[key])
    ]
    assert not different, f"objects whose bodies differ: {different}"
    real_jobs = sorted(yaml.safe_dump(_normalised(m)) for m in real_unnamed)
    offline_jobs = sorted(yaml.safe_dump(_normalised(m)) for m in unnamed)
    assert real_jobs == offline_jobs, "auto-named objects' bodies differ"
