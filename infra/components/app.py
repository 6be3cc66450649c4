"""The taskstream processes: migration, Deployments, Services, routes, scaling and policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from app import contract
from infra.components import app_network, app_workloads, autoscaling, edge_specs
from infra.components.placement import InCluster, api, labels
from infra.config_model import ServiceConfig


@dataclass(frozen=True)
class AppArgs:
    namespace: str
    placement: InCluster
    image: pulumi.Input[str]
    # The role the app connects as; the grant Job lets it migrate a database it does not own.
    database_role: str
    environment: str
    services: Mapping[str, ServiceConfig]
    pull_secret: bool
    dapr_config: str
    peers: app_network.Peers
    # The edge's Gateway (in this namespace) and the listener the API route attaches to.
    gateway: str
    https: bool
    domain: str | None
    cluster_issuer: str | None
    # Namespace, secrets, Dapr resources and the edge the pods and routes rely on.
    foundation: Sequence[pulumi.Resource]
    dapr_ready: Sequence[pulumi.Resource]
    monitoring_ready: pulumi.Resource
    edge_ready: Sequence[pulumi.Resource]
    public_docs: bool = False
    # Variables beside the TASKSTREAM_* settings: where the processes send spans
    # (tracing_specs.otlp_environment); the Jobs send none, their egress reaches no collector.
    telemetry_env: Sequence[dict[str, str]] = ()
    # The Kafka bootstrap address the lag exporter and KEDA's scaler read offsets from.
    brokers: str = ""
    # KEDA's release: lag-scaled workers get ScaledObjects (autoscaling.lag_scaled).
    keda_ready: Sequence[pulumi.Resource] = ()


class App(pulumi.ComponentResource):
    """Creates the grant and migration Jobs, then per process a Deployment (after them), Service,
    PDB and HPA when scaled out; the API's HTTPRoute and its rate limit, NetworkPolicies and a
    ServiceMonitor.

    Outputs: api_host (the route's host, or None), migration_job, deployments.
    """

    def __init__(self, name: str, args: AppArgs, opts: pulumi.ResourceOptions | None = None):
        _validate(args)
        super().__init__("taskstream:platform:App", name, None, opts)
        self._args = args
        cors = f'["https://{args.domain}"]' if args.domain else "[]"
        self._image = pulumi.Output.from_input(args.image)
        self._env = app_workloads.environment(environment=args.environment, cors_origins=cors)
        self.policies = self._create_network_policies()
        # The admin grants before the app role migrates; both Jobs are awaited to completion.
        self.grant_job = k8s.batch.v1.Job(
            "db-grant",
            metadata=api({"namespace": args.namespace, "labels": labels("taskstream-db-grant")}),
            spec=self._image.apply(
                lambda image: api(
                    app_workloads.db_grant_job_spec(
                        image=image,
                        env=self._env,
                        pull_secret=args.pull_secret,
                        role=args.database_role,
                        node_selector=args.placement.workload_nodes,
                    )
                )
            ),
            opts=args.placement.opts(self, depends_on=[*args.foundation, *self.policies]),
        )
        self.migration_job = k8s.batch.v1.Job(
            "migrate",
            metadata=api({"namespace": args.namespace, "labels": labels("taskstream-migrate")}),
            spec=self._image.apply(
                lambda image: api(
                    app_workloads.migration_job_spec(
                        image=image,
                        env=self._env,
                        pull_secret=args.pull_secret,
                        node_selector=args.placement.workload_nodes,
                    )
                )
            ),
            opts=args.placement.opts(
                self, depends_on=[*args.foundation, *self.policies, self.grant_job]
            ),
        )
        if autoscaling.lag_scaled(args.services):
            k8s.apiextensions.CustomResource(
                "keda-trigger-auth",
                api_version=autoscaling.API_VERSION,
                kind="TriggerAuthentication",
                metadata=api(
                    {
                        "name": autoscaling.TRIGGER_AUTHENTICATION,
                        "namespace": args.namespace,
                        "labels": labels("autoscaling"),
                    }
                ),
                spec=autoscaling.trigger_authentication_spec(),
                opts=args.placement.opts(
                    self, depends_on=[*args.foundation, *args.keda_ready, *args.dapr_ready]
                ),
            )
        self.deployments = [self._create_process(process) for process in contract.PROCESSES]
        self.deployments.append(self._create_lag_exporter())
        self.api_host = args.domain
        self._create_routes()
        k8s.apiextensions.CustomResource(
            "taskstream-metrics",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=api(
                {"name": "taskstream", "namespace": args.namespace, "labels": labels("metrics")}
            ),
            spec=app_workloads.service_monitor_spec(args.namespace),
            opts=args.placement.opts(self, depends_on=[args.monitoring_ready, *args.foundation]),
        )
        self.register_outputs(
            {"api_host": self.api_host, "deployments": [d.metadata.name for d in self.deployments]}
        )

    def _service(self, process: contract.Process) -> tuple[dict[str, Any], pulumi.ResourceOptions]:
        """The process's Service; its metadata and the options its workload shares."""
        args = self._args
        meta = {
            "name": process.name,
            "namespace": args.namespace,
            "labels": labels(f"taskstream-{process.name}"),
        }
        opts = args.placement.opts(self, depends_on=args.foundation)
        k8s.core.v1.Service(
            f"{process.name}-service",
            metadata=api(meta),
            spec=api(app_workloads.service_spec(process)),
            opts=opts,
        )
        return meta, opts

    def _create_process(self, process: contract.Process) -> k8s.apps.v1.Deployment:
        args = self._args
        service = args.services[process.name]
        meta, opts = self._service(process)
        # The Job is awaited to completion, so no pod of a new image runs before its schema.
        deployment = k8s.apps.v1.Deployment(
            process.name,
            metadata=api(meta),
            spec=self._image.apply(
                lambda image: api(
                    app_workloads.deployment_spec(
                        process,
                        service,
                        image=image,
                        env=[*self._env, *args.telemetry_env],
                        pull_secret=args.pull_secret,
                        dapr_config=args.dapr_config,
                        node_selector=args.placement.workload_nodes,
                    )
                )
            ),
            opts=args.placement.opts(
                self,
                depends_on=[self.migration_job, *args.foundation, *args.dapr_ready],
                # The HPA owns replicas once it exists; re-applying the floor would fight it.
                ignore_changes=["spec.replicas"] if service.autoscaled else (),
            ),
        )
        if service.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{process.name}-pdb",
                metadata=api(meta),
                spec=api(app_workloads.pdb_spec(process)),
                opts=opts,
            )
        if process in autoscaling.lag_scaled(args.services):
            # KEDA creates and owns this worker's HPA; declaring one too would make two.
            k8s.apiextensions.CustomResource(
                f"{process.name}-scaledobject",
                api_version=autoscaling.API_VERSION,
                kind="ScaledObject",
                metadata=api(meta),
                spec=autoscaling.scaled_object_spec(process, service, brokers=args.brokers),
                opts=args.placement.opts(self, depends_on=[deployment, *args.keda_ready]),
            )
        elif service.autoscaled:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{process.name}-hpa",
                metadata=api(meta),
                spec=api(app_workloads.hpa_spec(process, service)),
                opts=args.placement.opts(self, depends_on=[deployment]),
            )
        return deployment

    def _create_lag_exporter(self) -> k8s.apps.v1.Deployment:
        """`taskstream lag-exporter`: one Service for the ServiceMonitor; two pods in prod."""
        args = self._args
        process = contract.LAG_EXPORTER
        replicas = 2 if args.environment == "prod" else 1
        meta, opts = self._service(process)
        if replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{process.name}-pdb",
                metadata=api(meta),
                spec=api(app_workloads.pdb_spec(process)),
                opts=opts,
            )
        return k8s.apps.v1.Deployment(
            process.name,
            metadata=api(meta),
            spec=self._image.apply(
                lambda image: api(
                    app_workloads.lag_exporter_spec(
                        image=image,
                        brokers=args.brokers,
                        replicas=replicas,
                        pull_secret=args.pull_secret,
                        node_selector=args.placement.workload_nodes,
                    )
                )
            ),
            # Its Kafka user's Secret and the CA bundle come with the Dapr component.
            opts=args.placement.opts(self, depends_on=[*args.foundation, *args.dapr_ready]),
        )

    def _create_network_policies(self) -> list[k8s.networking.v1.NetworkPolicy]:
        args = self._args
        return [
            k8s.networking.v1.NetworkPolicy(
                f"netpol-{name}",
                metadata=api(
                    {"name": name, "namespace": args.namespace, "labels": labels("network")}
                ),
                spec=api(spec),
                opts=args.placement.opts(self, depends_on=args.foundation),
            )
            for name, spec in app_network.network_policies(
                args.peers, acme_http01=args.cluster_issuer is not None
            ).items()
        ]

    def _create_routes(self) -> None:
        args = self._args
        listener = edge_specs.HTTPS_LISTENER if args.https else edge_specs.HTTP_LISTENER
        for process in contract.PROCESSES:
            if not process.serves_http_api:
                continue
            meta = {
                "name": process.name,
                "namespace": args.namespace,
                "labels": labels(f"taskstream-{process.name}"),
            }
            opts = args.placement.opts(self, depends_on=[*args.foundation, *args.edge_ready])
            route = k8s.apiextensions.CustomResource(
                f"{process.name}-route",
                api_version=f"{edge_specs.GATEWAY_GROUP}/v1",
                kind="HTTPRoute",
                metadata=api(meta),
                spec=api(
                    app_network.http_route_spec(
                        process,
                        gateway=args.gateway,
                        listener=listener,
                        host=args.domain,
                        public_docs=args.public_docs,
                    )
                ),
                opts=opts,
            )
            k8s.apiextensions.CustomResource(
                f"{process.name}-edge-traffic",
                api_version=f"{edge_specs.ENVOY_GATEWAY_GROUP}/v1alpha1",
                kind="BackendTrafficPolicy",
                metadata=api(meta),
                spec=api(app_network.traffic_policy_spec(process.name)),
                opts=args.placement.opts(self, depends_on=[route]),
            )


def _validate(args: AppArgs) -> None:
    missing = [p.name for p in contract.PROCESSES if p.name not in args.services]
    if missing:
        raise ValueError(
            f"App: no replicas/resources for {', '.join(missing)}; "
            "add them under taskstream:services"
        )
    if args.domain is not None and args.cluster_issuer is None:
        raise ValueError(
            f"App: domain {args.domain} without a certificate issuer would serve plain HTTP; "
            "set taskstream:acmeEmail"
        )
