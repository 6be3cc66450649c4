"""The DOKS cluster, its VPC and workload pool, and a Kubernetes provider that outlives tokens."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s

from infra.components.placement import POOL_LABEL, SYSTEM_POOL, WORKER_POOL
from infra.config_model import ClusterConfig

WORKLOAD_POOL_LABEL = POOL_LABEL


@dataclass(frozen=True)
class ClusterArgs:
    name: str
    config: ClusterConfig
    ha: bool
    protect: bool


class Cluster(pulumi.ComponentResource):
    """Creates a VPC, a DOKS cluster (small fixed default pool) and an autoscaled workload pool.

    Outputs: cluster_id, cluster_name, kubeconfig (secret), provider (kubernetes.Provider),
    cluster (the KubernetesCluster, for deleted_with and firewall rules).
    """

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        _validate(args)
        super().__init__("taskstream:platform:Cluster", name, None, opts)
        self._args = args
        self.vpc = do.Vpc(
            f"{name}-vpc",
            name=f"{args.name}-vpc",
            region=args.config.region,
            ip_range=args.config.vpc_ip_range,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.cluster = self._create_cluster(name)
        self.worker_pool = self._create_worker_pool(name)
        self.kubeconfig = self._exec_kubeconfig()
        # cluster_identifier keeps the provider (and so every in-cluster object) from being
        # replaced when only the kubeconfig's form changes, e.g. on the move to exec auth.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            cluster_identifier=self.cluster.id,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_id: pulumi.Output[str] = self.cluster.id
        self.cluster_name: pulumi.Output[str] = self.cluster.name
        self.register_outputs(
            {
                "cluster_id": self.cluster_id,
                "cluster_name": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "vpc_id": self.vpc.id,
            }
        )

    def _create_cluster(self, name: str) -> do.KubernetesCluster:
        config = self._args.config
        versions = do.get_kubernetes_versions_output(version_prefix=config.version_prefix)
        return do.KubernetesCluster(
            name,
            name=self._args.name,
            region=config.region,
            version=versions.latest_version.apply(lambda v: require_version(config, v)),
            vpc_uuid=self.vpc.id,
            ha=self._args.ha,
            auto_upgrade=True,
            surge_upgrade=True,
            # The load balancers and volumes the cluster's controllers created (the edge's
            # Service, every PersistentVolume) are billed DigitalOcean resources outside this
            # stack; without this, deleting the cluster leaves them behind.
            destroy_all_associated_resources=True,
            maintenance_policy=do.KubernetesClusterMaintenancePolicyArgs(
                day=config.maintenance.day, start_time=config.maintenance.start_time
            ),
            # Resizing this pool replaces the whole cluster, so it only runs system pods.
            node_pool=do.KubernetesClusterNodePoolArgs(
                name=f"{self._args.name}-system",
                size=config.default_pool.size,
                node_count=config.default_pool.count,
                auto_scale=False,
                labels={WORKLOAD_POOL_LABEL: SYSTEM_POOL},
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=self._args.protect),
        )

    def _create_worker_pool(self, name: str) -> do.KubernetesNodePool:
        pool = self._args.config.worker_pool
        return do.KubernetesNodePool(
            f"{name}-workers",
            cluster_id=self.cluster.id,
            name=f"{self._args.name}-workers",
            size=pool.size,
            auto_scale=True,
            min_nodes=pool.min_nodes,
            max_nodes=pool.max_nodes,
            node_count=pool.min_nodes,
            labels={WORKLOAD_POOL_LABEL: WORKER_POOL},
            # The autoscaler owns node_count after creation; diffing it would fight the autoscaler.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["node_count"]),
        )

    def _exec_kubeconfig(self) -> pulumi.Output[str]:
        # No token in the kubeconfig: a token fetched per run (7-day expiry) made every run
        # an update of the provider (drift) and left a stale one in state for refresh.
        # doctl mints a short-lived token whenever the provider connects, from the
        # DIGITALOCEAN_ACCESS_TOKEN in the environment, so the kubeconfig never changes.
        return pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.id,
                self.cluster.endpoint,
                self.cluster.kube_configs[0].cluster_ca_certificate,
            ).apply(lambda parts: exec_kubeconfig(self._args.name, *parts))
        )


def exec_kubeconfig(name: str, cluster_id: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig whose user runs `doctl ... exec-credential` (DigitalOcean's own form)."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "doctl",
            "args": [
                "kubernetes",
                "cluster",
                "kubeconfig",
                "exec-credential",
                "--version=v1beta1",
                cluster_id,
            ],
            "interactiveMode": "Never",
        }
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
        ],
        "users": [{"name": f"{name}-doctl", "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-doctl"}}],
        "current-context": name,
    }
    return json.dumps(config, sort_keys=True)


def require_version(config: ClusterConfig, latest: str | None) -> str:
    """The slug the prefix resolved to; an empty answer means DOKS no longer offers that minor."""
    if latest:
        return latest
    raise ValueError(
        f"DigitalOcean offers no Kubernetes version starting with {config.version_prefix!r}: "
        "DOKS has dropped that minor. Set taskstream:kubernetesVersionPrefix "
        "(or KUBERNETES_VERSION_PREFIX and KUBERNETES_MINOR in infra/versions.py) to a minor "
        "listed by `doctl kubernetes options versions` or at "
        "https://docs.digitalocean.com/products/kubernetes/details/supported-releases/"
    )


def _validate(args: ClusterArgs) -> None:
    pool = args.config.worker_pool
    if pool.min_nodes > pool.max_nodes:
        raise ValueError(
            f"Cluster {args.name}: worker pool min_nodes ({pool.min_nodes}) exceeds max_nodes "
            f"({pool.max_nodes}); raise taskstream:workerNodePool.maxNodes"
        )
    if args.ha and pool.max_nodes < 2:
        raise ValueError(
            f"Cluster {args.name}: an HA control plane with a one-node workload pool is not HA; "
            "set taskstream:workerNodePool.maxNodes to 2 or more"
        )
