"""The exact Helm values each stack passes to each chart, and that every key is the chart's.

Snapshots live in tests/infra/snapshots/<stack>/<release>.yaml. After an intended change,
regenerate them with `TASKSTREAM_UPDATE_SNAPSHOTS=1 uv run pytest tests/infra` and review the diff.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import versions
from infra.render.recording import Recording, reveal

HERE = Path(__file__).resolve().parent
SNAPSHOTS = HERE / "snapshots"
CHART_KEYS = HERE / "data" / "chart_keys.yaml"
UPDATE = os.environ.get("TASKSTREAM_UPDATE_SNAPSHOTS") == "1"


def _releases(rec: Recording) -> dict[str, dict[str, Any]]:
    releases = {}
    for resource in rec.of_type("kubernetes:helm.sh/v3:Release"):
        inputs = reveal(resource.inputs)
        releases[inputs["name"]] = inputs
    return releases


def _leaf_paths(values: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from _leaf_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif prefix:  # an empty top level sets no key (a chart installed with its defaults)
        yield prefix


def _known(path: str, allowed: list[str]) -> bool:
    for entry in allowed:
        if entry.endswith(".*") and path.startswith(entry[:-1]):
            return True
        if path == entry:
            return True
    return False


def test_each_stack_passes_exactly_the_snapshotted_values_to_each_chart(
    recorded: Recording, stack: str
) -> None:
    for name, release in _releases(recorded).items():
        path = SNAPSHOTS / stack / f"{name}.yaml"
        rendered = yaml.safe_dump(
            {"chart": release["chart"], "version": release["version"], "values": release["values"]},
            sort_keys=True,
        )
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rendered, encoding="utf-8")
        assert path.exists(), f"no snapshot {path}; run with TASKSTREAM_UPDATE_SNAPSHOTS=1"
        assert path.read_text(encoding="utf-8") == rendered, (
            f"{stack}/{name} values changed; review, then regenerate with "
            "TASKSTREAM_UPDATE_SNAPSHOTS=1"
        )
    on_disk = {p.stem for p in (SNAPSHOTS / stack).glob("*.yaml")}
    assert on_disk == set(_releases(recorded)), f"stale or missing snapshots in {stack}: {on_disk}"


def test_every_values_key_is_one_the_pinned_chart_defines(recorded: Recording) -> None:
    known: dict[str, list[str]] = yaml.safe_load(CHART_KEYS.read_text(encoding="utf-8"))
    for name, release in _releases(recorded).items():
        # An OCI chart is named by its URL; its last segment is the chart's name.
        chart_key = f"{release['chart'].rsplit('/', 1)[-1]} {release['version']}"
        assert chart_key in known, (
            f"{chart_key} has no verified key list; check its values.yaml, add it to {CHART_KEYS}"
        )
        unknown = [p for p in _leaf_paths(release["values"]) if not _known(p, known[chart_key])]
        assert not unknown, f"{name} sets keys {chart_key} does not define: {unknown}"


@pytest.mark.parametrize("chart", versions.CHARTS, ids=lambda chart: chart.name)
def test_every_pinned_chart_has_a_verified_key_list(chart: versions.Chart) -> None:
    known = yaml.safe_load(CHART_KEYS.read_text(encoding="utf-8"))
    assert f"{chart.name} {chart.version}" in known, f"{chart.name} {chart.version} unverified"


def test_the_edge_controller_and_cert_manager_state_their_requests_and_gateway_support(
    recorded: Recording, stack: str
) -> None:
    releases = _releases(recorded)
    controller = releases["envoy-gateway"]["values"]["deployment"]["envoyGateway"]
    assert set(controller["resources"]["requests"]) == {"cpu", "memory"}, (
        f"{stack}: the edge controller's requests are left to the chart's defaults"
    )
    if "cert-manager" in releases:
        config = releases["cert-manager"]["values"]["config"]
        assert config["gatewayAPI"]["enabled"] is True, (
            f"{stack}: cert-manager ignores Gateways and cannot solve through an HTTPRoute"
        )


# Charts whose projects no longer ship fixes. ingress-nginx: retired by Kubernetes SIG Network
# (kubernetes.io/blog/2025/11/11/ingress-nginx-retirement), 4.15.1 is its last chart.
RETIRED_CHARTS = {"ingress-nginx"}


def test_no_stack_installs_a_retired_chart(recorded: Recording, stack: str) -> None:
    charts = {release["chart"].rsplit("/", 1)[-1] for release in _releases(recorded).values()}
    assert not charts & RETIRED_CHARTS, f"{stack} installs {charts & RETIRED_CHARTS}"
    pinned = {chart.name for chart in versions.CHARTS}
    assert not pinned & RETIRED_CHARTS, f"versions.py still pins {pinned & RETIRED_CHARTS}"


def test_no_stack_installs_the_dapr_scheduler_nor_lets_a_sidecar_dial_it(
    recorded: Recording, stack: str
) -> None:
    # Nothing uses the Jobs API, actor reminders or workflows (docs/infra.md). With
    # global.scheduler.enabled false the chart renders no scheduler StatefulSet, volumes or
    # Service, and its injector gives sidecars no scheduler address (dapr/dapr v1.18.3
    # charts/dapr/charts/dapr_scheduler/templates, pkg/injector/patcher/sidecar_container.go).
    values = _releases(recorded)["dapr"]["values"]
    assert values["global"]["scheduler"] == {"enabled": False}, f"{stack} installs the scheduler"
    assert "dapr_scheduler" not in values, f"{stack} still sizes the scheduler's volumes"
    policies = [
        reveal(p.inputs) for p in recorded.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    ]
    assert policies, f"{stack}: no network policies recorded"
    assert "dapr-scheduler-server" not in str(policies), f"{stack} still lets daprd dial it"
