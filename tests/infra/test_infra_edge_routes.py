"""What the edge routes to the API: the REST API only, unless a stack publishes the docs."""

from __future__ import annotations

import dataclasses

from app import contract
from app.main import API_PREFIX
from infra.components import app_network
from infra.offline import Recording, run_offline
from tests.infra.stacks import stack_config

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
PRIVATE = ("/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc", "/readyz")


def _prefixes(rec: Recording) -> list[str]:
    [ingress] = rec.of_type(INGRESS)
    [rule] = ingress.inputs["spec"]["rules"]
    paths = rule["http"]["paths"]
    assert all(p["pathType"] == "Prefix" for p in paths), f"unexpected path types: {paths}"
    return [p["path"] for p in paths]


def _routed(prefixes: list[str], path: str) -> bool:
    # Kubernetes Prefix matching compares whole path segments: /api matches /api/v1, not /apix.
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def test_by_default_the_edge_routes_the_api_and_not_metrics_or_docs(
    recorded: Recording, stack: str
) -> None:
    prefixes = _prefixes(recorded)
    assert _routed(prefixes, "/api/v1/tasks"), f"{stack} does not route the API: {prefixes}"
    exposed = [path for path in PRIVATE if _routed(prefixes, path)]
    assert not exposed, f"{stack} exposes {exposed} through the edge ({prefixes})"


def test_a_stack_with_public_docs_routes_the_docs_but_never_metrics() -> None:
    config = dataclasses.replace(stack_config("dev"), public_docs=True)
    prefixes = _prefixes(run_offline(config))
    for path in ("/api/v1/tasks", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"):
        assert _routed(prefixes, path), f"{path} is not routed with publicDocs: {prefixes}"
    assert not _routed(prefixes, "/metrics"), "publicDocs must not expose /metrics"


def test_the_api_prefix_the_edge_routes_covers_every_api_route() -> None:
    spec = app_network.ingress_spec(
        contract.API, ingress_class="nginx", host=None, tls_secret=None, public_docs=False
    )
    prefixes = [p["path"] for p in spec["rules"][0]["http"]["paths"]]
    assert _routed(prefixes, API_PREFIX + "/tasks"), f"{API_PREFIX} is outside {prefixes}"
