"""A single in-cluster PostgreSQL for the local (kind/minikube) stack, instead of a managed one."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import versions
from infra.components import helm, netpol
from infra.components.placement import InCluster, api, labels
from infra.config_model import InClusterDatabaseConfig

NAMESPACE = "taskstream-db"
NAME = "postgres"
PORT = 5432
USER = "taskstream"
DATABASE = "taskstream"


@dataclass(frozen=True)
class InClusterDatabaseArgs:
    config: InClusterDatabaseConfig
    placement: InCluster
    # The namespace whose pods connect (its own egress policies say which may).
    client_namespace: str


class InClusterDatabase(pulumi.ComponentResource):
    """Creates a namespace, NetworkPolicies that admit only the client namespace on the
    PostgreSQL port, a generated password Secret, a PostgreSQL StatefulSet and Service.

    Outputs: url (secret), admin_url (secret), role, namespace_name, port.

    The image makes POSTGRES_USER a superuser owning the database, so the admin and the app
    are one role here; the grant Job still runs against it, as on the managed database.
    """

    def __init__(
        self, name: str, args: InClusterDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ):
        _validate(args)
        super().__init__("taskstream:platform:InClusterDatabase", name, None, opts)
        placement = args.placement
        ns = helm.namespace(NAMESPACE, placement=placement, parent=self, labels=labels(NAME))
        password = random.RandomPassword(
            f"{name}-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        secret_password: pulumi.Output[str] = pulumi.Output.secret(password.result)
        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=api({"name": f"{NAME}-credentials", "namespace": NAMESPACE}),
            type="Opaque",
            string_data={"password": secret_password},
            opts=placement.opts(self, depends_on=[ns]),
        )
        selector = {"app.kubernetes.io/name": NAME}
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=api({"name": NAME, "namespace": NAMESPACE, "labels": labels(NAME)}),
            spec=api(
                {
                    "selector": selector,
                    "ports": [{"name": "postgres", "port": PORT, "targetPort": PORT}],
                }
            ),
            opts=placement.opts(self, depends_on=[ns]),
        )
        policies = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy}",
                metadata=api({"name": policy, "namespace": NAMESPACE, "labels": labels("network")}),
                spec=api(spec),
                opts=placement.opts(self, depends_on=[ns]),
            )
            for policy, spec in network_policies(args.client_namespace).items()
        ]
        self.statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=api({"name": NAME, "namespace": NAMESPACE, "labels": labels(NAME)}),
            spec=api(_statefulset_spec(selector, args.config.storage)),
            opts=placement.opts(self, depends_on=[secret, service, *policies]),
        )
        self.url: pulumi.Output[str] = pulumi.Output.secret(
            secret_password.apply(
                lambda pw: (
                    f"postgresql://{USER}:{pw}@{NAME}.{NAMESPACE}.svc.cluster.local:"
                    f"{PORT}/{DATABASE}"
                )
            )
        )
        self.admin_url = self.url
        self.role = USER
        self.namespace_name = NAMESPACE
        self.port = PORT
        self.register_outputs({"url": self.url})


def network_policies(client_namespace: str) -> dict[str, netpol.Manifest]:
    """The database takes connections from the client namespace only and opens none."""
    return {
        "default-deny": netpol.default_deny(),
        "allow-clients": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [netpol.namespace_peer(client_namespace)], "ports": netpol.ports(PORT)}
            ],
        },
    }


def _statefulset_spec(selector: dict[str, str], storage: str) -> dict[str, object]:
    container = {
        "name": NAME,
        "image": versions.POSTGRES_IMAGE,
        "ports": [{"name": "postgres", "containerPort": PORT}],
        "env": [
            {"name": "POSTGRES_USER", "value": USER},
            {"name": "POSTGRES_DB", "value": DATABASE},
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
            {
                "name": "POSTGRES_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": f"{NAME}-credentials", "key": "password"}},
            },
        ],
        "readinessProbe": {
            "exec": {"command": ["pg_isready", "-U", USER, "-d", DATABASE]},
            "periodSeconds": 5,
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}],
    }
    return {
        "serviceName": NAME,
        "replicas": 1,
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": {**labels(NAME), **selector}},
            "spec": {
                # The postgres image's own uid; the data directory must belong to it.
                "securityContext": {"runAsNonRoot": True, "runAsUser": 999, "fsGroup": 999},
                "containers": [container],
            },
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": storage}},
                },
            }
        ],
    }


def _validate(args: InClusterDatabaseArgs) -> None:
    if not args.config.storage[0].isdigit():
        raise ValueError(
            f"InClusterDatabase: storage {args.config.storage!r} is not a quantity; "
            "set taskstream:dbStorage such as 1Gi"
        )
