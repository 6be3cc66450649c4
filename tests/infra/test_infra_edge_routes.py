"""The edge (Envoy Gateway through the Gateway API): what it routes to the API, how it limits
and identifies clients, and that every stack on a public load balancer serves HTTPS."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app import contract
from app.main import API_PREFIX
from infra.components import app_network, edge, edge_specs
from infra.render.offline import run_offline
from infra.render.recording import Recording, reveal
from tests.infra.stacks import recording, stack_config

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
CLIENT_TRAFFIC = "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy"
BACKEND_TRAFFIC = "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy"
ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
RELEASE = "kubernetes:helm.sh/v3:Release"
PRIVATE = ("/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc", "/readyz")
PUBLIC_STACKS = ("dev", "prod")  # behind a DigitalOcean load balancer


def _api_route(rec: Recording) -> dict[str, Any]:
    [route] = [r for r in rec.of_type(HTTP_ROUTE) if r.inputs["metadata"]["name"] == "api"]
    return route.inputs  # type: ignore[no-any-return]


def _prefixes(rec: Recording) -> list[str]:
    [rule] = _api_route(rec)["spec"]["rules"]
    paths = [match["path"] for match in rule["matches"]]
    assert all(p["type"] == "PathPrefix" for p in paths), f"unexpected path types: {paths}"
    return [p["value"] for p in paths]


def _routed(prefixes: list[str], path: str) -> bool:
    # Gateway API PathPrefix matching compares whole path elements: /api matches /api/v1,
    # not /apix.
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def _one(rec: Recording, type_: str) -> dict[str, Any]:
    [resource] = rec.of_type(type_)
    return reveal(resource.inputs)  # type: ignore[no-any-return]


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
    spec = app_network.http_route_spec(contract.API, gateway="g", listener="http", host=None)
    prefixes = [match["path"]["value"] for match in spec["rules"][0]["matches"]]
    assert _routed(prefixes, API_PREFIX + "/tasks"), f"{API_PREFIX} is outside {prefixes}"


def test_the_api_route_sends_to_the_api_service_through_our_gateway(
    recorded: Recording, stack: str
) -> None:
    route = _api_route(recorded)
    gateway = _one(recorded, GATEWAY)
    [parent] = route["spec"]["parentRefs"]
    assert parent["name"] == gateway["metadata"]["name"] == edge.GATEWAY_NAME
    assert route["metadata"]["namespace"] == gateway["metadata"]["namespace"], (
        f"{stack}: the route is not in its Gateway's namespace, which admits only its own"
    )
    [rule] = route["spec"]["rules"]
    assert rule["backendRefs"] == [{"name": contract.API.name, "port": contract.API.port}]


def test_every_stack_limits_each_client_address_at_the_edge(
    recorded: Recording, stack: str
) -> None:
    # ingress-nginx had limit-rps 20 per client on the Ingress; the same limit must survive.
    policy = _one(recorded, BACKEND_TRAFFIC)
    [target] = policy["spec"]["targetRefs"]
    assert (target["kind"], target["name"]) == (
        "HTTPRoute",
        _api_route(recorded)["metadata"]["name"],
    )
    rate_limit = policy["spec"]["rateLimit"]
    assert set(rate_limit) == {"local"}, f"{stack}: a global limit needs a rate-limit service"
    rules = rate_limit["local"]["rules"]
    assert {r["clientSelectors"][0]["sourceCIDR"]["value"] for r in rules} == {
        "0.0.0.0/0",
        "::/0",
    }, f"{stack}: some client addresses are not limited"
    for rule in rules:
        [selector] = rule["clientSelectors"]
        assert selector["sourceCIDR"]["type"] == "Distinct", (
            f"{stack}: all clients share one bucket, so one client can starve everyone"
        )
        assert rule["limit"] == {"requests": 20, "unit": "Second"}, rule["limit"]
    assert policy["spec"]["requestBuffer"]["limit"] == "1Mi", "request bodies are unbounded"


@pytest.mark.parametrize("stack_name", PUBLIC_STACKS)
def test_behind_the_balancer_the_edge_takes_the_client_from_the_proxy_protocol(
    stack_name: str,
) -> None:
    rec = recording(stack_name)
    service = _one(rec, ENVOY_PROXY)["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["type"] == "LoadBalancer"
    annotations = service["annotations"]
    assert annotations[edge_specs.DO_LB_PROXY_PROTOCOL] == "true", (
        f"{stack_name}: the balancer does not pass the client address on"
    )
    assert service["externalTrafficPolicy"] == "Local", "traffic takes a second hop via kube-proxy"
    spec = _one(rec, CLIENT_TRAFFIC)["spec"]
    assert spec["proxyProtocol"] == {"optional": False}, (
        f"{stack_name}: Envoy and the balancer disagree about the PROXY protocol, or a "
        "connection without it may claim any address"
    )


def test_the_edge_never_believes_a_clients_own_forwarded_header(
    recorded: Recording, stack: str
) -> None:
    spec = _one(recorded, CLIENT_TRAFFIC)["spec"]
    [target] = spec["targetRefs"]
    assert (target["kind"], target["name"]) == ("Gateway", edge.GATEWAY_NAME)
    assert spec["clientIPDetection"] == {"xForwardedFor": {"numTrustedHops": 0}}, (
        f"{stack}: Envoy trusts X-Forwarded-For entries a client wrote"
    )


def test_without_a_cloud_balancer_the_edge_is_not_exposed_and_expects_no_proxy_header() -> None:
    rec = recording("local")
    service = _one(rec, ENVOY_PROXY)["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["type"] == "ClusterIP", "the local stack would ask for a load balancer"
    assert "proxyProtocol" not in _one(rec, CLIENT_TRAFFIC)["spec"], (
        "a port-forward sends no PROXY header; every connection would be refused"
    )


def test_with_a_domain_the_balancer_answers_to_it_inside_the_cluster_too() -> None:
    rec = recording("prod")
    service = _one(rec, ENVOY_PROXY)["spec"]["provider"]["kubernetes"]["envoyService"]
    hostname = service["annotations"].get(edge_specs.DO_LB_HOSTNAME)
    assert hostname == stack_config("prod").domain, "in-cluster clients bypass the balancer"


def test_the_proxy_fleet_states_its_requests_for_the_capacity_check(
    recorded: Recording, stack: str
) -> None:
    deployment = _one(recorded, ENVOY_PROXY)["spec"]["provider"]["kubernetes"]["envoyDeployment"]
    requests = deployment["container"]["resources"]["requests"]
    assert set(requests) == {"cpu", "memory"}, f"{stack}: proxy requests left to defaults"


@pytest.mark.parametrize("stack_name", PUBLIC_STACKS)
def test_every_stack_on_a_public_balancer_serves_the_api_over_https_only(
    stack_name: str,
) -> None:
    rec, domain = recording(stack_name), stack_config(stack_name).domain
    assert domain, f"{stack_name} has a public load balancer and no domain"
    gateway = _one(rec, GATEWAY)
    listeners = {lst["name"]: lst for lst in gateway["spec"]["listeners"]}
    https = listeners[edge_specs.HTTPS_LISTENER]
    assert (https["protocol"], https["port"], https["hostname"]) == ("HTTPS", 443, domain)
    assert https["tls"]["mode"] == "Terminate"
    assert https["tls"]["certificateRefs"] == [{"kind": "Secret", "name": edge.TLS_SECRET}]
    annotations = gateway["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == edge.CLUSTER_ISSUER, (
        f"{stack_name}: nothing issues the HTTPS listener's certificate"
    )
    [parent] = _api_route(rec)["spec"]["parentRefs"]
    assert parent["sectionName"] == edge_specs.HTTPS_LISTENER, (
        f"{stack_name}: the API is also served over plain HTTP"
    )
    redirects = [
        r.inputs
        for r in rec.of_type(HTTP_ROUTE)
        if r.inputs["spec"]["parentRefs"][0].get("sectionName") == edge_specs.HTTP_LISTENER
    ]
    [redirect] = redirects
    [rule] = redirect["spec"]["rules"]
    assert rule["filters"][0]["requestRedirect"]["scheme"] == "https", "HTTP is not redirected"
    assert "backendRefs" not in rule, "the plain-HTTP route forwards to a backend"


@pytest.mark.parametrize("stack_name", PUBLIC_STACKS)
def test_the_issuer_solves_http01_through_our_gateways_plain_http_listener(
    stack_name: str,
) -> None:
    rec = recording(stack_name)
    [issuer] = [
        reveal(r.inputs)
        for r in rec.of_type(ISSUER)
        if r.inputs["metadata"]["name"] == "letsencrypt"
    ]
    [solver] = issuer["spec"]["acme"]["solvers"]
    [parent] = solver["http01"]["gatewayHTTPRoute"]["parentRefs"]
    gateway = _one(rec, GATEWAY)
    assert (parent["kind"], parent["name"], parent["namespace"]) == (
        "Gateway",
        gateway["metadata"]["name"],
        gateway["metadata"]["namespace"],
    ), f"{stack_name}: the solver's route attaches to no Gateway of ours"
    assert parent["sectionName"] == edge_specs.HTTP_LISTENER, "Let's Encrypt checks over port 80"
    releases = {r.inputs["name"] for r in rec.of_type(RELEASE)}
    assert {"cert-manager", "envoy-gateway"} <= releases


def test_a_digitalocean_stack_without_a_domain_is_refused() -> None:
    config = dataclasses.replace(stack_config("dev"), domain=None)
    with pytest.raises(Exception, match="taskstream:domain") as caught:
        run_offline(config)
    assert "plain HTTP" in str(caught.value), caught.value


def test_the_local_stack_has_no_tls_and_no_acme_issuer() -> None:
    rec = recording("local")
    # cert-manager runs everywhere for the event bus's private CA; ACME needs a domain.
    acme = [r for r in rec.of_type(ISSUER) if "acme" in r.inputs["spec"]]
    assert not acme, "local has no domain to certify"
    listeners = [lst["name"] for lst in _one(rec, GATEWAY)["spec"]["listeners"]]
    assert listeners == [edge_specs.HTTP_LISTENER], listeners


def test_prometheus_scrapes_the_edge_proxies(recorded: Recording, stack: str) -> None:
    monitors = [
        reveal(r.inputs)
        for r in recorded.of_type("kubernetes:monitoring.coreos.com/v1:PodMonitor")
        if r.inputs["metadata"]["namespace"] == edge.EDGE_NAMESPACE
    ]
    assert len(monitors) == 1, f"{stack}: the edge's traffic (and 429s) are invisible"
    [monitor] = monitors
    assert monitor["spec"]["selector"]["matchLabels"] == edge.PROXY_POD_LABELS
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/stats/prometheus")
