"""Where pods land: on DOKS our workloads and the heavy chart pods select the worker pool.

The default pool is fixed and small (resizing it replaces the cluster), so it keeps DOKS's
own pods and the light control-plane charts; it is not tainted, which would push those onto
the autoscaled pool too and need a toleration in every chart. On kind the nodes carry no
pool label, so nothing may select one there or every pod stays Pending.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from infra.components.placement import POOL_LABEL, WORKER_POOL
from infra.render.recording import Recording, reveal
from policy.kube import WORKLOAD_TYPES, pod_spec
from tests.infra.stacks import recording

RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
# The chart values that place each chart's heavy pods: release -> key path to a nodeSelector.
CHART_SELECTORS: dict[str, tuple[tuple[str, ...], ...]] = {
    "redpanda": (("statefulset", "podTemplate", "spec", "nodeSelector"),),
    "kube-prometheus-stack": (
        ("prometheus", "prometheusSpec", "nodeSelector"),
        ("grafana", "nodeSelector"),
    ),
}


def _pod_selectors(rec: Recording) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for resource in rec.resources:
        if resource.type in WORKLOAD_TYPES:
            spec = pod_spec(resource.type, reveal(resource.inputs)) or {}
            yield f"{resource.type} {resource.name}", spec.get("nodeSelector") or {}


def _chart_selectors(rec: Recording) -> Iterator[tuple[str, Mapping[str, Any]]]:
    releases = {reveal(r.inputs)["name"]: reveal(r.inputs)["values"] for r in rec.of_type(RELEASE)}
    for release, paths in CHART_SELECTORS.items():
        for path in paths:
            value: Any = releases[release]
            for key in path:
                value = value.get(key, {}) if isinstance(value, dict) else {}
            yield f"{release} values {'.'.join(path)}", value or {}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_on_doks_every_pod_we_render_and_every_heavy_chart_pod_selects_the_worker_pool(
    stack: str,
) -> None:
    rec = recording(stack)
    found = [*_pod_selectors(rec), *_chart_selectors(rec)]
    assert len(found) > len(CHART_SELECTORS), f"{stack}: no pod templates found"
    stray = [where for where, selector in found if selector != {POOL_LABEL: WORKER_POOL}]
    assert not stray, f"{stack}: not pinned to the worker pool: {stray}"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_label_the_pods_select_is_the_one_the_worker_pool_carries(stack: str) -> None:
    [pool] = recording(stack).of_type(NODE_POOL)
    assert pool.inputs["labels"] == {POOL_LABEL: WORKER_POOL}, pool.inputs["labels"]


def test_on_kind_nothing_selects_a_pool_label_the_nodes_do_not_carry() -> None:
    rec = recording("local")
    selecting = [
        where for where, selector in [*_pod_selectors(rec), *_chart_selectors(rec)] if selector
    ]
    assert not selecting, f"local: pods would stay Pending on kind: {selecting}"
