"""The platform as one function of a stack config, so the CLI, tests and `render` share it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra import chart_values
from infra.components import app_workloads, eventbus_network, tracing_specs
from infra.components import dapr as dapr_component
from infra.components import edge as edge_component
from infra.components import monitoring as monitoring_component
from infra.components.app import App, AppArgs
from infra.components.app_foundation import AppFoundation, AppFoundationArgs
from infra.components.app_network import Peers
from infra.components.autoscaling import Keda, KedaArgs, lag_scaled
from infra.components.cluster import Cluster, ClusterArgs
from infra.components.dapr import Dapr, DaprArgs
from infra.components.database import POOL_PORT, SERVER_PORT, Database, DatabaseArgs
from infra.components.edge import CERT_MANAGER_NAMESPACE, Edge, EdgeArgs
from infra.components.eventbus import EventBus, EventBusArgs
from infra.components.image import AppImage, AppImageArgs
from infra.components.kagent import Kagent, KagentArgs
from infra.components.local_database import InClusterDatabase, InClusterDatabaseArgs
from infra.components.metrics_api import MetricsApi, MetricsApiArgs
from infra.components.monitoring import GRAFANA_SERVICE, Monitoring, MonitoringArgs
from infra.components.placement import POOL_LABEL, WORKER_POOL, InCluster
from infra.components.registry import OWNER_OUTPUT, REGISTRY_HOST, Registry, RegistryArgs
from infra.components.tracing import Tracing, TracingArgs
from infra.config_model import InClusterDatabaseConfig, Platform, StackConfig

APP_NAMESPACE = "taskstream"


@dataclass(frozen=True)
class _DatabaseAccess:
    url: pulumi.Output[str]  # the app role's connection
    admin_url: pulumi.Output[str]  # the admin's, used only to grant the app role
    role: str
    # Where NetworkPolicies must let the app reach it: namespace (None: outside the cluster),
    # the app's port and the admin's port.
    peer: tuple[str | None, int, int]


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
            # The default pool is fixed and small: it keeps DOKS's and the light control-plane
            # pods; everything we run and the heavy chart pods go to the autoscaled pool.
            workload_nodes={POOL_LABEL: WORKER_POOL},
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
    # Order on a first deploy: registry -> image (built and pushed here, or CI's) -> workloads.
    if config.registry is not None and cluster is not None and config.cluster is not None:
        registry = Registry(
            "registry",
            RegistryArgs(
                config=config.registry,
                region=config.cluster.region,
                production=prod_like,
                name_prefix=pulumi.get_project(),
                push=config.image.build,
            ),
        )
        pull_json = registry.docker_config_json
        image, outputs["imageTag"] = _registry_image(config, registry)
        outputs["registry_endpoint"] = registry.endpoint
        # Read by the stacks that reuse this registry (taskstream:registryStack).
        outputs[OWNER_OUTPUT] = registry.name
    else:
        image = f"{config.image.repository}:{config.image.tag}"
        outputs["imageTag"] = config.image.tag

    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            config=config.monitoring,
            placement=placement,
            ha=config.ha,
            managed_control_plane=cluster is not None,
            app_namespace_name=APP_NAMESPACE,
            data_sources=(tracing_specs.grafana_datasource(),),
        ),
    )
    Tracing(
        "tracing",
        TracingArgs(
            config=config.tracing,
            placement=placement,
            ha=config.ha,
            client_namespace=APP_NAMESPACE,
        ),
    )
    if cluster is not None or any(s.autoscaled for s in config.services.values()):
        # HPAs scale on CPU through metrics.k8s.io, which neither DOKS nor kind provides.
        MetricsApi("metrics-api", MetricsApiArgs(placement=placement, ha=config.ha))
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
    # Before the event bus: cert-manager issues the brokers' certificates too.
    edge = Edge(
        "edge",
        EdgeArgs(
            placement=placement,
            ha=config.ha,
            load_balancer_name=name if cluster is not None else None,
            acme_email=config.acme_email,
            gateway_namespace=APP_NAMESPACE,
            monitoring_ready=monitoring.release,
            domain=config.domain,
            namespace_ready=[foundation.namespace],
        ),
    )
    eventbus = EventBus(
        "eventbus",
        EventBusArgs(
            config=config.redpanda,
            placement=placement,
            client_namespace=APP_NAMESPACE,
            cert_manager_namespace=CERT_MANAGER_NAMESPACE,
            cert_manager_ready=[edge.cert_manager],
            depends_on=[monitoring.release],
            scaler=bool(lag_scaled(config.services)),
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
            topics_ready=eventbus.topics_job,
            kafka_passwords=eventbus.user_passwords,
            kafka_ready=eventbus.ca,
            tracing=tracing_specs.dapr_tracing(config.tracing.sampling_rate),
        ),
    )
    # KEDA only where a worker scales: its Kafka scaler replaces the worker's CPU HPA.
    keda = Keda("keda", KedaArgs(placement=placement)) if lag_scaled(config.services) else None
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
                edge_namespace=edge_component.EDGE_NAMESPACE,
                edge_pod_labels=edge_component.PROXY_POD_LABELS,
                monitoring_namespace=monitoring_component.NAMESPACE,
                prometheus_pod_labels=monitoring_component.PROMETHEUS_POD_LABELS,
                dapr_namespace=dapr_component.SYSTEM_NAMESPACE,
                dapr_control_plane=dapr_component.CONTROL_PLANE_PORTS,
                broker_namespace=eventbus.namespace,
                broker_pod_labels=eventbus_network.BROKER_POD_LABELS,
                broker_port=chart_values.REDPANDA_KAFKA_PORT,
                database_namespace=database.peer[0],
                database_port=database.peer[1],
                database_admin_port=database.peer[2],
                collector_namespace=tracing_specs.NAMESPACE,
                collector_pod_labels=tracing_specs.COLLECTOR_POD_LABELS,
                collector_port=tracing_specs.OTLP_HTTP_PORT,
            ),
            gateway=edge.gateway,
            https=edge.https,
            domain=config.domain,
            public_docs=config.public_docs,
            cluster_issuer=edge.cluster_issuer,
            foundation=[foundation.namespace, *foundation.ready],
            dapr_ready=[dapr.release, *dapr.resources],
            monitoring_ready=monitoring.release,
            edge_ready=edge.ready,
            telemetry_env=tracing_specs.otlp_environment(),
            brokers=eventbus.brokers,
            keda_ready=[keda.release] if keda is not None else [],
        ),
    )
    if config.kagent is not None:
        Kagent("kagent", KagentArgs(config=config.kagent, placement=placement))
    outputs["api_url"] = _api_url(config)
    outputs["grafana_url"] = f"http://{monitoring.grafana_service}"
    outputs["grafana_hint"] = f"kubectl -n monitoring port-forward svc/{GRAFANA_SERVICE} 3000:80"
    return outputs


def _registry_image(config: StackConfig, registry: Registry) -> tuple[pulumi.Input[str], str]:
    """The image the workloads run and the tag deployed: this checkout built and pushed by
    `up` (imageTag: build), or the pinned tag CI built (the workloads then use it as is)."""
    if config.image.build:
        assert registry.push_docker_config_json is not None, "RegistryArgs.push was set"
        built = AppImage(
            "app-image",
            AppImageArgs(
                repository=registry.image_repository,
                registry_server=REGISTRY_HOST,
                push_docker_config_json=registry.push_docker_config_json,
            ),
        )
        # ref is `<repository>:<tag>@sha256:…`: the workloads wait for the push and run its digest.
        return built.ref, built.tag
    tag = config.image.tag
    assert tag is not None, "a pinned image has a tag"
    repository = config.image.repository
    if repository:
        return f"{repository}:{tag}", tag
    return registry.image_repository.apply(lambda repo: f"{repo}:{tag}"), tag


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
            "database",
            InClusterDatabaseArgs(
                config=config.database, placement=placement, client_namespace=APP_NAMESPACE
            ),
        )
        return _DatabaseAccess(
            local.url, local.admin_url, local.role, (local.namespace_name, local.port, local.port)
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
            pool_size=app_workloads.pooled_connections(config.services),
            direct_connections=app_workloads.direct_connections(),
        ),
    )
    return _DatabaseAccess(
        managed.url, managed.admin_url, managed.role, (None, POOL_PORT, SERVER_PORT)
    )


def _api_url(config: StackConfig) -> str:
    # A DigitalOcean stack always has a domain: the Edge refuses a public balancer without TLS.
    if config.domain is not None:
        return f"https://{config.domain}"
    return "http://localhost:8000 (kubectl -n taskstream port-forward svc/api 8000:8000)"
