"""Pure specs of the edge's Gateway API and Envoy Gateway objects (Envoy Gateway v1.9.0 CRDs)."""

from __future__ import annotations

from typing import Any

Manifest = dict[str, Any]

GATEWAY_GROUP = "gateway.networking.k8s.io"
ENVOY_GATEWAY_GROUP = "gateway.envoyproxy.io"
# The controller name the chart registers (values: config.envoyGateway.gateway.controllerName).
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
HTTP_LISTENER = "http"
HTTPS_LISTENER = "https"
# DigitalOcean's load balancer annotations (docs.digitalocean.com, Kubernetes load balancer
# annotations): the balancer's name, PROXY protocol towards the nodes, and the host name
# its Service reports instead of the IP.
DO_LB_NAME = "service.beta.kubernetes.io/do-loadbalancer-name"
DO_LB_PROXY_PROTOCOL = "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol"
DO_LB_HOSTNAME = "service.beta.kubernetes.io/do-loadbalancer-hostname"


def envoy_proxy_spec(
    *,
    ha: bool,
    service_name: str,
    load_balancer_name: str | None,
    load_balancer_hostname: str | None,
) -> Manifest:
    """How the controller runs the proxy fleet: replicas, requests, and the Service in front."""
    service: Manifest = {"name": service_name}
    if load_balancer_name is None:
        # No cloud balancer (kind, minikube): reach the proxy with a port-forward.
        service["type"] = "ClusterIP"
    else:
        annotations = {DO_LB_NAME: load_balancer_name, DO_LB_PROXY_PROTOCOL: "true"}
        if load_balancer_hostname is not None:
            # With an IP in the Service's status, in-cluster clients of the domain (cert-manager's
            # HTTP-01 self-check) would skip the balancer and reach Envoy without a PROXY header.
            annotations[DO_LB_HOSTNAME] = load_balancer_hostname
        service.update(
            type="LoadBalancer",
            # Only nodes running a proxy take traffic: no second hop through another node.
            externalTrafficPolicy="Local",
            annotations=annotations,
        )
    kubernetes: Manifest = {
        "envoyDeployment": {
            "replicas": 2 if ha else 1,
            "container": {
                # Explicit, so the capacity check reads what the scheduler will reserve.
                "resources": {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"memory": "512Mi"},
                }
            },
        },
        "envoyService": service,
    }
    if ha:
        kubernetes["envoyPDB"] = {"minAvailable": 1}
    return {"provider": {"type": "Kubernetes", "kubernetes": kubernetes}}


def gateway_class_spec(*, parameters_name: str, parameters_namespace: str) -> Manifest:
    return {
        "controllerName": CONTROLLER_NAME,
        "parametersRef": {
            "group": ENVOY_GATEWAY_GROUP,
            "kind": "EnvoyProxy",
            "name": parameters_name,
            "namespace": parameters_namespace,
        },
    }


def gateway_spec(*, gateway_class: str, host: str | None, tls_secret: str | None) -> Manifest:
    """Port 80 always (HTTP-01 challenges arrive there); 443 for the host when it has TLS."""
    same_namespace = {"namespaces": {"from": "Same"}}
    listeners: list[Manifest] = [
        {"name": HTTP_LISTENER, "protocol": "HTTP", "port": 80, "allowedRoutes": same_namespace}
    ]
    if host is not None and tls_secret is not None:
        listeners.append(
            {
                "name": HTTPS_LISTENER,
                "protocol": "HTTPS",
                "port": 443,
                # cert-manager issues a certificate for each listener with a host name,
                # Terminate mode and a certificateRef (its gateway-shim).
                "hostname": host,
                "tls": {
                    "mode": "Terminate",
                    "certificateRefs": [{"kind": "Secret", "name": tls_secret}],
                },
                "allowedRoutes": same_namespace,
            }
        )
    return {"gatewayClassName": gateway_class, "listeners": listeners}


def gateway_ref(gateway: str, section: str | None = None) -> Manifest:
    ref: Manifest = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": gateway}
    if section is not None:
        ref["sectionName"] = section
    return ref


def client_traffic_spec(*, gateway: str, proxy_protocol: bool) -> Manifest:
    """Where Envoy takes the client's address from: the PROXY header, never a client's XFF."""
    spec: Manifest = {
        "targetRefs": [gateway_ref(gateway)],
        # The balancer passes the client in the PROXY header, not in X-Forwarded-For: no XFF
        # entry is trusted, so Envoy uses the connection's (PROXY-restored) address and appends
        # it to X-Forwarded-For, where the API reads it as the right-most untrusted hop.
        "clientIPDetection": {"xForwardedFor": {"numTrustedHops": 0}},
    }
    if proxy_protocol:
        # Required, not optional: a connection without the header is refused, so nothing
        # that bypasses the balancer can claim an address.
        spec["proxyProtocol"] = {"optional": False}
    return spec


def https_redirect_route_spec(*, gateway: str, host: str) -> Manifest:
    """Plain HTTP for the host redirects to HTTPS. cert-manager's solver route matches its
    exact challenge path, which outranks this catch-all, so HTTP-01 still reaches the solver."""
    return {
        "parentRefs": [gateway_ref(gateway, HTTP_LISTENER)],
        "hostnames": [host],
        "rules": [
            {
                "filters": [
                    {
                        "type": "RequestRedirect",
                        "requestRedirect": {"scheme": "https", "statusCode": 301},
                    }
                ]
            }
        ],
    }
