"""The platform as one function of a stack config, so the CLI, tests and `render` share it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.chart_values import REDPANDA_KAFKA_PORT
from infra.components.app import App, AppArgs
from infra.components.app_foundation import AppFoundation, AppFoundationArgs
from infra.components.app_network import Peers
from infra.components.cluster import Cluster, ClusterArgs
from infra.components.dapr import Dapr, DaprArgs
from infra.components.database import Database, DatabaseArgs
from infra.components.edge import CERT_MANAGER_NAMESPACE, Edge, EdgeArgs
from infra.components.eventbus import EventBus, EventBusArgs
from infra.components.local_database import InClusterDatabase, InClusterDatabaseArgs
from infra.components.monitoring import GRAFANA_SERVICE, Monitoring, MonitoringArgs
from infra.components.placement import InCluster
from infra.components.registry import Registry, RegistryArgs
from infra.config_model import InClusterDatabaseConfig, Platform, StackConfig

APP_NAMESPACE = "taskstream"


@dataclass(frozen=True)
class _DatabaseAccess:
    url: pulumi.Output[str]  # the app role's connection
    admin_url: pulumi.Output[str]  # the admin's, used only to grant the app role
    role: str
    peer: tuple[str | None, int]  # where NetworkPolicies must let the app reach it


def build(config: StackConfig) -> dict[str, Any]:
    """Declare every resource of the stack and return the stack outputs (not yet exported)."""
    prod_like = config.environment == "prod"
    name = f"taskstream-{config.stack}"
    outputs: dict[str, Any] = {}
    cluster: Cluster | None = None
    if config.platform is Platform.DIGITALOCEAN:
        assert config.cluster is not None, "parse_stack_config guarantees a cluster on DO"
        cluster = Cluster(
            "cluster",
            ClusterArgs(name=name, config=config.cluster, ha=config.ha, protect=prod_like),
        )
        placement = InCluster(
            provider=cluster.provider,
            deleted_with=cluster.cluster,
            chart_repository=config.chart_repository,
        )
        outputs.update(
            cluster_name=cluster.cluster_name,
            cluster_id=cluster.cluster_id,
            kubeconfig=cluster.kubeconfig,
        )
    else:
        placement = InCluster(
            provider=k8s.Provider(
                "local-k8s",
                # The provider refuses a context together with renderYamlToDirectory.
                context=None if config.render_yaml_to else config.kube_context,
                render_yaml_to_directory=config.render_yaml_to,
            ),
            chart_repository=config.chart_repository,
            render_only=config.render_yaml_to is not None,
        )
        outputs.update(cluster_name=config.kube_context, cluster_id=config.kube_context)

    database = _database(config, cluster, placement, prod_like, name)
    image: pulumi.Input[str]
    pull_json: pulumi.Output[str] | None = None
    if config.registry is not None and cluster is not None and config.cluster is not None:
        registry = Registry(
            "registry",
            RegistryArgs(config=config.registry, region=config.cluster.region, protect=prod_like),
        )
        pull_json = registry.docker_config_json
        repository = config.image.repository
        image = (
            f"{repository}:{config.image.tag}"
            if repository
            else registry.image_repository.apply(lambda repo: f"{repo}:{config.image.tag}")
        )
        outputs["registry_endpoint"] = registry.endpoint
    else:
        image = f"{config.image.repository}:{config.image.tag}"

    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            config=config.monitoring,
            placement=placement,
            ha=config.ha,
            managed_control_plane=cluster is not None,
            app_namespace_name=APP_NAMESPACE,
        ),
    )
    edge = Edge(
        "edge",
        EdgeArgs(
            placement=placement,
            ha=config.ha,
            load_balancer_name=name if cluster is not None else None,
            acme_email=config.acme_email,
            monitoring_ready=monitoring.release,
            domain=config.domain,
        ),
    )
    eventbus = EventBus(
        "eventbus",
        EventBusArgs(
            config=config.redpanda,
            placement=placement,
            cert_manager_namespace=CERT_MANAGER_NAMESPACE,
            cert_manager_ready=[edge.cert_manager],
            depends_on=[monitoring.release],
        ),
    )
    foundation = AppFoundation(
        "app-foundation",
        AppFoundationArgs(
            namespace=APP_NAMESPACE,
            placement=placement,
            database_url=database.url,
            database_admin_url=database.admin_url,
            docker_config_json=pull_json,
        ),
    )
    dapr = Dapr(
        "dapr",
        DaprArgs(
            placement=placement,
            ha=config.ha,
            app_namespace=foundation.namespace.metadata.name,
            app_namespace_name=APP_NAMESPACE,
            brokers=eventbus.brokers,
            scheduler_storage="16Gi" if prod_like else "1Gi",
            topics_ready=eventbus.topics_job,
            kafka_passwords=eventbus.user_passwords,
            kafka_ready=eventbus.ca,
        ),
    )
    App(
        "app",
        AppArgs(
            namespace=APP_NAMESPACE,
            placement=placement,
            image=image,
            database_role=database.role,
            environment=config.environment,
            services=config.services,
            pull_secret=pull_json is not None,
            dapr_config=dapr.configuration_name,
            peers=Peers(
                ingress_namespace="ingress-nginx",
                monitoring_namespace="monitoring",
                dapr_namespace="dapr-system",
                broker_namespace="redpanda",
                broker_port=REDPANDA_KAFKA_PORT,
                database_namespace=database.peer[0],
                database_port=database.peer[1],
            ),
            ingress_class=edge.ingress_class,
            domain=config.domain,
            public_docs=config.public_docs,
            cluster_issuer=edge.cluster_issuer,
            foundation=[foundation.namespace, *foundation.ready],
            dapr_ready=[dapr.release, *dapr.resources],
            monitoring_ready=monitoring.release,
            ingress_ready=[edge.ingress_release, *edge.issuer_ready],
        ),
    )
    outputs["api_url"] = _api_url(config, edge, placement, cluster)
    outputs["grafana_url"] = f"http://{monitoring.grafana_service}"
    outputs["grafana_hint"] = f"kubectl -n monitoring port-forward svc/{GRAFANA_SERVICE} 3000:80"
    return outputs


def _database(
    config: StackConfig,
    cluster: Cluster | None,
    placement: InCluster,
    prod_like: bool,
    name: str,
) -> _DatabaseAccess:
    """How the app and its admin reach the database, and where NetworkPolicies must allow."""
    if isinstance(config.database, InClusterDatabaseConfig):
        local = InClusterDatabase(
            "database", InClusterDatabaseArgs(config=config.database, placement=placement)
        )
        return _DatabaseAccess(
            local.url, local.admin_url, local.role, (local.namespace_name, local.port)
        )
    assert cluster is not None, "a managed database needs DOKS"
    assert config.cluster is not None, "a managed database needs a region"
    managed = Database(
        "database",
        DatabaseArgs(
            name=f"{name}-pg",
            region=config.cluster.region,
            config=config.database,
            vpc_id=cluster.vpc.id,
            cluster_id=cluster.cluster_id,
            protect=prod_like,
        ),
    )
    # 25060 is the server itself (the admin's grant), 25061 the pool (the app).
    return _DatabaseAccess(managed.url, managed.admin_url, managed.role, (None, 25061))


def _api_url(
    config: StackConfig, edge: Edge, placement: InCluster, cluster: Cluster | None
) -> pulumi.Input[str]:
    if config.domain is not None:
        return f"https://{config.domain}"
    if cluster is None:
        return "http://localhost:8000 (kubectl -n taskstream port-forward svc/api 8000:8000)"
    # Without a domain the API answers on the load balancer's address.
    controller = k8s.core.v1.Service.get(
        "ingress-controller",
        edge.controller_service,
        opts=pulumi.ResourceOptions(provider=placement.provider, depends_on=[edge.ingress_release]),
    )
    return controller.status.apply(
        lambda status: (
            f"http://{status.load_balancer.ingress[0].ip}"
            if status and status.load_balancer and status.load_balancer.ingress
            else "pending: the load balancer has no address yet"
        )
    )
