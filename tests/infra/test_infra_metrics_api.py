"""HPAs can only scale where something serves metrics.k8s.io: each stack brings its own."""

from __future__ import annotations

from infra.render.recording import Recording, reveal
from policy.model import Resource
from policy.rules import evaluate
from tests.infra.stacks import recording

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
RELEASE = "kubernetes:helm.sh/v3:Release"


def _violations(rec: Recording, stack: str) -> list[str]:
    resources = [Resource(r.type, r.name, reveal(r.inputs), r.protect) for r in rec.resources]
    return [str(v) for v in evaluate(resources, stack) if v.policy == "hpa-needs-metrics-api"]


def test_no_stack_declares_an_hpa_without_a_metrics_api_provider(
    recorded: Recording, stack: str
) -> None:
    assert _violations(recorded, stack) == []


def test_prod_scales_on_cpu_and_installs_metrics_server_for_it() -> None:
    rec = recording("prod")
    assert rec.of_type(HPA), "prod declares no HPA, so this proves nothing"
    charts = {reveal(r.inputs)["chart"] for r in rec.of_type(RELEASE)}
    assert "metrics-server" in charts, f"prod installs {sorted(charts)}"


def test_every_doks_stack_has_the_metrics_api_for_kubectl_top_and_later_hpas() -> None:
    for stack in ("dev", "prod"):
        charts = {reveal(r.inputs)["chart"] for r in recording(stack).of_type(RELEASE)}
        assert "metrics-server" in charts, f"{stack} installs {sorted(charts)}"
