"""The trace path of every stack: the app and daprd -> collector -> Tempo <- Grafana, wired
through one set of names (infra/components/tracing_specs.py)."""

from __future__ import annotations

from typing import Any

import pytest

from app import contract
from infra import versions
from infra.components import tracing_specs
from infra.config import ConfigError, parse_stack_config
from infra.config_model import TracingConfig
from infra.render.recording import Recording, reveal
from tests.infra.stacks import stack_config
from tests.infra.test_infra_config import VALID_DO

RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIGURATION = "kubernetes:dapr.io/v1alpha1:Configuration"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _release(recorded: Recording, name: str) -> dict[str, Any]:
    [release] = [
        inputs
        for inputs in (reveal(r.inputs) for r in recorded.of_type(RELEASE))
        if inputs["name"] == name
    ]
    return release


def test_every_stack_installs_the_pinned_collector_and_trace_store(
    recorded: Recording, stack: str
) -> None:
    for name, chart in (
        (tracing_specs.COLLECTOR_RELEASE, versions.OPENTELEMETRY_COLLECTOR),
        (tracing_specs.TEMPO_RELEASE, versions.TEMPO),
    ):
        release = _release(recorded, name)
        assert (release["chart"], release["version"]) == (chart.name, chart.version), stack
        assert release["namespace"] == tracing_specs.NAMESPACE, stack


def test_dapr_exports_its_spans_to_the_collector_at_the_stacks_rate(
    recorded: Recording, stack: str
) -> None:
    [configuration] = recorded.of_type(CONFIGURATION)
    tracing = reveal(configuration.inputs)["spec"]["tracing"]
    collector = _release(recorded, tracing_specs.COLLECTOR_RELEASE)["values"]
    # The Service is <fullname>.<namespace>; the receiver listens on the port daprd dials.
    host = f"{collector['fullnameOverride']}.{tracing_specs.NAMESPACE}.svc.cluster.local"
    receiver = collector["alternateConfig"]["receivers"]["otlp"]["protocols"]["http"]
    port = receiver["endpoint"].rsplit(":", 1)[1]
    assert tracing["otel"] == {
        "endpointAddress": f"{host}:{port}",
        "isSecure": False,
        "protocol": "http",
    }, stack
    assert tracing["samplingRate"] == stack_config(stack).tracing.sampling_rate


def test_the_collector_forwards_traces_to_tempos_otlp_receiver(recorded: Recording) -> None:
    config = _release(recorded, tracing_specs.COLLECTOR_RELEASE)["values"]["alternateConfig"]
    traces = config["service"]["pipelines"]["traces"]
    [exporter] = traces["exporters"]
    tempo_http = f"http://{tracing_specs.TEMPO_RELEASE}.{tracing_specs.NAMESPACE}.svc.cluster.local"
    # Tempo's chart receives OTLP/HTTP on 4318 by default (values.yaml tempo.receivers.otlp).
    assert config["exporters"][exporter]["endpoint"] == f"{tempo_http}:4318"
    assert traces["receivers"] == ["otlp"]
    assert "health_check" in config["service"]["extensions"], "the chart refuses to render"


def test_every_process_sends_spans_to_the_collector(recorded: Recording, stack: str) -> None:
    endpoint = tracing_specs.collector_endpoint()
    deployments = recorded.of_type(DEPLOYMENT)
    names = {d.inputs["metadata"]["name"] for d in deployments}
    assert {p.name for p in contract.PROCESSES} <= names, names
    for deployment in deployments:
        if deployment.inputs["metadata"]["name"] not in {p.name for p in contract.PROCESSES}:
            continue
        [container] = deployment.inputs["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env[tracing_specs.ENV_OTEL_ENDPOINT] == endpoint, (stack, deployment.name)
        assert env[tracing_specs.ENV_TASKSTREAM_OTLP_ENDPOINT] == endpoint
        assert "OTEL_EXPORTER_OTLP_PROTOCOL" not in env, "a variable nothing in the image reads"


def test_grafana_queries_tempo_as_a_data_source(recorded: Recording, stack: str) -> None:
    grafana = _release(recorded, "kube-prometheus-stack")["values"]["grafana"]
    [source] = grafana["additionalDataSources"]
    assert source["type"] == "tempo"
    assert source["url"] == (
        f"http://{tracing_specs.TEMPO_RELEASE}.{tracing_specs.NAMESPACE}.svc.cluster.local:"
        f"{tracing_specs.TEMPO_HTTP_PORT}"
    ), stack


def test_tempo_keeps_its_blocks_on_a_volume_for_the_stacks_retention(
    recorded: Recording, stack: str
) -> None:
    values = _release(recorded, tracing_specs.TEMPO_RELEASE)["values"]
    config = stack_config(stack).tracing
    assert values["persistence"] == {"enabled": True, "size": config.storage}
    assert values["tempo"]["retention"] == config.retention
    limits = values["tempo"]["resources"]["limits"]
    assert "memory" in limits, f"{stack}: Tempo without a memory limit"


# --- config --------------------------------------------------------------------------------


def test_tracing_defaults_to_a_tenth_of_requests_and_three_days() -> None:
    assert parse_stack_config("test", VALID_DO).tracing == TracingConfig("0.1", "72h", "5Gi")


@pytest.mark.parametrize("rate", ["0", "1", "0.25", "1.0"])
def test_a_sampling_rate_is_a_probability(rate: str) -> None:
    config = parse_stack_config("test", {**VALID_DO, "tracingSamplingRate": rate})
    assert config.tracing.sampling_rate == rate


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("tracingSamplingRate", "1.5"),
        ("tracingSamplingRate", "10%"),
        ("tracingSamplingRate", "-0.1"),
        # Tempo reads Go durations, which know no days.
        ("tracingRetention", "3d"),
        ("tracingStorage", "lots"),
    ],
)
def test_a_bad_tracing_value_names_its_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"taskstream:{key}:"):
        parse_stack_config("test", {**VALID_DO, key: value})
