"""The way in: Envoy Gateway behind the Gateway API, and cert-manager with a Let's Encrypt
issuer when the stack has a domain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from infra import chart_values, versions
from infra.components import edge_specs, helm
from infra.components.placement import InCluster, api, labels

# Where the controller and the proxy fleet run: Envoy Gateway deploys each Gateway's proxies
# into its own namespace by default (deploy type ControllerNamespace).
EDGE_NAMESPACE = "envoy-gateway-system"
CERT_MANAGER_NAMESPACE = "cert-manager"
GATEWAY_CLASS = "taskstream"
# The one Gateway; it lives in the app's namespace beside its routes and TLS Secret.
GATEWAY_NAME = "taskstream"
ENVOY_PROXY_CONFIG = "taskstream-edge"
# The proxy fleet's Service, named so operators and the stack can find the load balancer.
PROXY_SERVICE = "taskstream-edge"
# Labels Envoy Gateway v1.9.0 puts on every proxy pod of our Gateway
# (internal/infrastructure/kubernetes/proxy/resource.go EnvoyAppLabel, plus the owning
# Gateway's name from internal/gatewayapi/translator.go); NetworkPolicies select on them.
PROXY_POD_LABELS: dict[str, str] = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
    "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
}
# The pod network the proxies connect to the API from: DOKS without VPC-native networking,
# kind and minikube all assign pods 10.244.0.0/16. The API believes X-Forwarded-For only from
# here, and NetworkPolicies admit only the proxies (and Prometheus) to its port.
PROXY_SOURCE_NETWORKS: tuple[str, ...] = ("10.244.0.0/16",)
# cert-manager v1.21.1 runs each HTTP-01 solver pod in the Certificate's namespace with this
# label, listening on this port (pkg/issuer/acme/http/pod.go, http.go acmeSolverListenPort).
ACME_SOLVER_POD_LABELS: dict[str, str] = {"acme.cert-manager.io/http01-solver": "true"}
ACME_SOLVER_PORT = 8089
CLUSTER_ISSUER = "letsencrypt"
LETSENCRYPT_SERVER = "https://acme-v02.api.letsencrypt.org/directory"
TLS_SECRET = "taskstream-api-tls"  # noqa: S105  (a Secret's name)


@dataclass(frozen=True)
class EdgeArgs:
    placement: InCluster
    ha: bool
    load_balancer_name: str | None
    acme_email: str | None
    # The namespace the Gateway (and so its certificate and HTTP-01 solver) lives in.
    gateway_namespace: str
    # The proxies' PodMonitor needs kube-prometheus-stack's CRDs.
    monitoring_ready: pulumi.Resource
    # The public host name, which the load balancer answers to inside the cluster too.
    domain: str | None = None
    # The Gateway's namespace must exist before the Gateway.
    namespace_ready: Sequence[pulumi.Resource] = field(default_factory=tuple)


class Edge(pulumi.ComponentResource):
    """Creates the Envoy Gateway release (with the Gateway API CRDs), the EnvoyProxy config,
    GatewayClass, Gateway, ClientTrafficPolicy, the proxies' PodMonitor and cert-manager, and
    with an ACME email a Let's Encrypt ClusterIssuer solving HTTP-01 through the Gateway and
    an HTTPS redirect.

    Outputs: gateway, gateway_namespace, https (whether the Gateway terminates TLS),
    cluster_issuer (None without TLS), ready (what routes must wait for), cert_manager (the
    release; the event bus's certificates come from it too).
    """

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        _validate(args)
        super().__init__("taskstream:platform:Edge", name, None, opts)
        self._args = args
        placement = args.placement
        edge_ns = helm.namespace(
            EDGE_NAMESPACE, placement=placement, parent=self, labels=labels("edge")
        )
        self.release = helm.release(
            "envoy-gateway",
            chart=versions.ENVOY_GATEWAY,
            namespace=edge_ns.metadata.name,
            values=chart_values.envoy_gateway_values(ha=args.ha),
            placement=placement,
            parent=self,
            depends_on=[edge_ns, args.monitoring_ready],
        )
        self.gateway = GATEWAY_NAME
        self.gateway_namespace = args.gateway_namespace
        self.https = args.acme_email is not None and args.domain is not None
        self.cluster_issuer: str | None = None
        gateway = self._create_gateway(edge_ns)
        self._create_proxy_monitor()
        self.ready: list[pulumi.Resource] = [self.release, gateway]
        # Every stack runs cert-manager: the event bus's TLS certificates need it.
        self.cert_manager = self._create_cert_manager()
        if args.acme_email is not None:
            self._create_acme_issuer(args.acme_email, gateway)
        self.register_outputs(
            {
                "gateway": self.gateway,
                "gateway_namespace": self.gateway_namespace,
                "https": self.https,
                "cluster_issuer": self.cluster_issuer,
            }
        )

    def _custom(
        self,
        name: str,
        kind: str,
        meta: dict[str, object],
        spec: dict[str, object],
        depends_on: Sequence[pulumi.Resource],
        group: str = edge_specs.GATEWAY_GROUP,
        version: str = "v1",
    ) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            name,
            api_version=f"{group}/{version}",
            kind=kind,
            metadata=api({**meta, "labels": labels("edge")}),
            spec=api(spec),
            opts=self._args.placement.opts(self, depends_on=depends_on),
        )

    def _create_gateway(self, edge_ns: k8s.core.v1.Namespace) -> pulumi.Resource:
        args = self._args
        proxy_config = self._custom(
            "edge-proxy-config",
            "EnvoyProxy",
            {"name": ENVOY_PROXY_CONFIG, "namespace": EDGE_NAMESPACE},
            edge_specs.envoy_proxy_spec(
                ha=args.ha,
                service_name=PROXY_SERVICE,
                load_balancer_name=args.load_balancer_name,
                load_balancer_hostname=args.domain,
            ),
            [self.release, edge_ns],
            group=edge_specs.ENVOY_GATEWAY_GROUP,
            version="v1alpha1",
        )
        gateway_class = self._custom(
            "edge-gateway-class",
            "GatewayClass",
            {"name": GATEWAY_CLASS},
            edge_specs.gateway_class_spec(
                parameters_name=ENVOY_PROXY_CONFIG, parameters_namespace=EDGE_NAMESPACE
            ),
            [self.release, proxy_config],
        )
        meta: dict[str, object] = {"name": GATEWAY_NAME, "namespace": args.gateway_namespace}
        if self.https:
            # cert-manager's gateway-shim turns this into a Certificate for the HTTPS listener.
            meta["annotations"] = {"cert-manager.io/cluster-issuer": CLUSTER_ISSUER}
        gateway = self._custom(
            "edge-gateway",
            "Gateway",
            meta,
            edge_specs.gateway_spec(
                gateway_class=GATEWAY_CLASS,
                host=args.domain,
                tls_secret=TLS_SECRET if self.https else None,
            ),
            [gateway_class, *args.namespace_ready],
        )
        self._custom(
            "edge-client-traffic",
            "ClientTrafficPolicy",
            {"name": GATEWAY_NAME, "namespace": args.gateway_namespace},
            edge_specs.client_traffic_spec(
                gateway=GATEWAY_NAME, proxy_protocol=args.load_balancer_name is not None
            ),
            [gateway],
            group=edge_specs.ENVOY_GATEWAY_GROUP,
            version="v1alpha1",
        )
        return gateway

    def _create_proxy_monitor(self) -> None:
        # Envoy serves Prometheus text on its stats port, named "metrics" in the proxy pods
        # (Envoy Gateway v1.9.0 proxy/resource.go, bootstrap EnvoyStatsPort 19001).
        endpoint = {"port": "metrics", "path": "/stats/prometheus", "interval": "30s"}
        self._custom(
            "edge-proxies",
            "PodMonitor",
            {"name": "edge-proxies", "namespace": EDGE_NAMESPACE},
            {
                "selector": {"matchLabels": dict(PROXY_POD_LABELS)},
                "podMetricsEndpoints": [endpoint],
            },
            [self.release, self._args.monitoring_ready],
            group="monitoring.coreos.com",
        )

    def _create_cert_manager(self) -> pulumi.Resource:
        args = self._args
        placement = args.placement
        ns = helm.namespace(
            CERT_MANAGER_NAMESPACE, placement=placement, parent=self, labels=labels("tls")
        )
        return helm.release(
            "cert-manager",
            chart=versions.CERT_MANAGER,
            namespace=ns.metadata.name,
            values=chart_values.cert_manager_values(ha=args.ha),
            placement=placement,
            parent=self,
            # Its Gateway API support watches Gateways and HTTPRoutes: their CRDs come first.
            depends_on=[ns, args.monitoring_ready, self.release],
        )

    def _create_acme_issuer(self, email: str, gateway: pulumi.Resource) -> None:
        args = self._args
        listener = edge_specs.gateway_ref(GATEWAY_NAME, edge_specs.HTTP_LISTENER)
        solver_route = {"parentRefs": [{**listener, "namespace": args.gateway_namespace}]}
        issuer = k8s.apiextensions.CustomResource(
            "letsencrypt-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata=api({"name": CLUSTER_ISSUER, "labels": labels("tls")}),
            spec={
                "acme": {
                    "server": LETSENCRYPT_SERVER,
                    "email": email,
                    "privateKeySecretRef": {"name": f"{CLUSTER_ISSUER}-account-key"},
                    # The solver's HTTPRoute attaches to our Gateway's port-80 listener.
                    "solvers": [{"http01": {"gatewayHTTPRoute": solver_route}}],
                }
            },
            opts=args.placement.opts(self, depends_on=[self.cert_manager, gateway]),
        )
        self.cluster_issuer = CLUSTER_ISSUER
        self.ready.append(issuer)
        if self.https and args.domain is not None:
            self._custom(
                "edge-https-redirect",
                "HTTPRoute",
                {"name": "https-redirect", "namespace": args.gateway_namespace},
                edge_specs.https_redirect_route_spec(gateway=GATEWAY_NAME, host=args.domain),
                [gateway],
            )


def _validate(args: EdgeArgs) -> None:
    if args.acme_email is not None and "@" not in args.acme_email:
        raise ValueError(
            f"Edge: {args.acme_email!r} is not an email; set taskstream:acmeEmail to one"
        )
    if args.load_balancer_name is not None and (args.domain is None or args.acme_email is None):
        raise ValueError(
            "Edge: a public load balancer without a domain and certificate would serve the API "
            "over plain HTTP; set taskstream:domain and taskstream:acmeEmail"
        )
