"""The way in: ingress-nginx, and cert-manager with a Let's Encrypt issuer when a domain is set."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra import chart_values, versions
from infra.components import helm
from infra.components.placement import InCluster, api, labels

INGRESS_NAMESPACE = "ingress-nginx"
CERT_MANAGER_NAMESPACE = "cert-manager"
INGRESS_CLASS = "nginx"
CLUSTER_ISSUER = "letsencrypt"
LETSENCRYPT_SERVER = "https://acme-v02.api.letsencrypt.org/directory"


@dataclass(frozen=True)
class EdgeArgs:
    placement: InCluster
    ha: bool
    load_balancer_name: str | None
    acme_email: str | None
    # Both charts ship ServiceMonitors, whose CRD comes with kube-prometheus-stack.
    monitoring_ready: pulumi.Resource
    # The public host name, which the load balancer answers to inside the cluster too.
    domain: str | None = None


class Edge(pulumi.ComponentResource):
    """Creates the ingress-nginx release, cert-manager and, with an ACME email, a Let's
    Encrypt ClusterIssuer.

    Outputs: ingress_class, cluster_issuer (None without TLS), ingress_ready, controller_service,
    cert_manager (the release; the event bus's certificates come from it too).
    """

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        _validate(args)
        super().__init__("taskstream:platform:Edge", name, None, opts)
        placement = args.placement
        ingress_ns = helm.namespace(
            INGRESS_NAMESPACE, placement=placement, parent=self, labels=labels("ingress")
        )
        self.ingress_release = helm.release(
            "ingress-nginx",
            chart=versions.INGRESS_NGINX,
            namespace=ingress_ns.metadata.name,
            values=chart_values.ingress_nginx_values(
                ha=args.ha,
                load_balancer_name=args.load_balancer_name,
                load_balancer_hostname=args.domain,
            ),
            placement=placement,
            parent=self,
            depends_on=[ingress_ns, args.monitoring_ready],
        )
        self.ingress_class = INGRESS_CLASS
        self.controller_service = f"{INGRESS_NAMESPACE}/ingress-nginx-controller"
        self.cluster_issuer: str | None = None
        self.issuer_ready: list[pulumi.Resource] = []
        # Every stack runs cert-manager: the event bus's TLS certificates need it.
        self.cert_manager = self._create_cert_manager(args)
        if args.acme_email is not None:
            self._create_acme_issuer(args, args.acme_email)
        self.register_outputs(
            {"ingress_class": self.ingress_class, "cluster_issuer": self.cluster_issuer}
        )

    def _create_cert_manager(self, args: EdgeArgs) -> pulumi.Resource:
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
            depends_on=[ns, args.monitoring_ready],
        )

    def _create_acme_issuer(self, args: EdgeArgs, email: str) -> None:
        placement = args.placement
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
                    "solvers": [{"http01": {"ingress": {"ingressClassName": INGRESS_CLASS}}}],
                }
            },
            opts=placement.opts(self, depends_on=[self.cert_manager, self.ingress_release]),
        )
        self.cluster_issuer = CLUSTER_ISSUER
        self.issuer_ready = [issuer]


def _validate(args: EdgeArgs) -> None:
    if args.acme_email is not None and "@" not in args.acme_email:
        raise ValueError(
            f"Edge: {args.acme_email!r} is not an email; set taskstream:acmeEmail to one"
        )
