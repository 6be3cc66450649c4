"""The event bus's private CA (cert-manager) and its SCRAM credentials (pulumi-random)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import chart_values, kafka_access
from infra.components.placement import InCluster, api, labels

PASSWORD_LENGTH = 32
# Where cert-manager looks for a ClusterIssuer's CA key pair: its own namespace
# (the chart's default --cluster-resource-namespace).
CA_SECRET_NAME = "redpanda-ca"  # noqa: S105 - a name
SELF_SIGNED_ISSUER = "redpanda-ca-bootstrap"
# The chart's own root certificates last five years (charts/redpanda/cert_issuers.go).
CA_DURATION = "43800h"
# The Secret (in the redpanda namespace) holding each app user's password for the Job.
APP_PASSWORDS_SECRET_NAME = "redpanda-app-users"  # noqa: S105 - a name


@dataclass(frozen=True)
class Credentials:
    """Secrets the release and the topic Job read, and each app user's password."""

    ready: list[pulumi.Resource]
    passwords: dict[str, pulumi.Output[str]]  # user name -> password (secret)


def create_ca(
    parent: pulumi.Resource,
    placement: InCluster,
    *,
    cert_manager_namespace: str,
    cert_manager_ready: Sequence[pulumi.Resource],
) -> list[pulumi.Resource]:
    """A self-signed root (cert-manager's bootstrap pattern) behind a CA ClusterIssuer.

    A ClusterIssuer, unlike the chart's own namespaced CA, can also issue into the app
    namespace, which is how clients there get the CA to verify the brokers with.
    """
    meta = {"labels": labels("redpanda-tls")}
    bootstrap = k8s.apiextensions.CustomResource(
        "redpanda-ca-bootstrap",
        api_version="cert-manager.io/v1",
        kind="ClusterIssuer",
        metadata=api({"name": SELF_SIGNED_ISSUER, **meta}),
        spec={"selfSigned": {}},
        opts=placement.opts(parent, depends_on=cert_manager_ready),
    )
    root = k8s.apiextensions.CustomResource(
        "redpanda-ca-certificate",
        api_version="cert-manager.io/v1",
        kind="Certificate",
        metadata=api({"name": CA_SECRET_NAME, "namespace": cert_manager_namespace, **meta}),
        spec=api(
            {
                "isCA": True,
                "commonName": "taskstream event bus CA",
                "secretName": CA_SECRET_NAME,
                "duration": CA_DURATION,
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {
                    "name": SELF_SIGNED_ISSUER,
                    "kind": "ClusterIssuer",
                    "group": "cert-manager.io",
                },
            }
        ),
        opts=placement.opts(parent, depends_on=[bootstrap]),
    )
    issuer = k8s.apiextensions.CustomResource(
        "redpanda-ca-issuer",
        api_version="cert-manager.io/v1",
        kind="ClusterIssuer",
        metadata=api({"name": chart_values.REDPANDA_CA_ISSUER, **meta}),
        spec={"ca": {"secretName": CA_SECRET_NAME}},
        opts=placement.opts(parent, depends_on=[root]),
    )
    return [bootstrap, root, issuer]


def create_credentials(
    parent: pulumi.Resource,
    placement: InCluster,
    *,
    namespace: pulumi.Input[str],
    namespace_ready: Sequence[pulumi.Resource],
    users: Sequence[kafka_access.KafkaUser],
) -> Credentials:
    """The superuser's password, the chart's (empty) extra-superusers file, and each app
    user's password, all generated and kept only in Secrets and encrypted state."""
    in_ns = list(namespace_ready)

    def password(name: str) -> pulumi.Output[str]:
        generated = random.RandomPassword(
            name, length=PASSWORD_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=parent)
        )
        return pulumi.Output.secret(generated.result)

    admin = k8s.core.v1.Secret(
        "redpanda-admin",
        metadata=api({"name": chart_values.REDPANDA_ADMIN_SECRET_NAME, "namespace": namespace}),
        type="Opaque",
        string_data={chart_values.REDPANDA_ADMIN_PASSWORD_KEY: password("redpanda-admin")},
        opts=placement.opts(parent, depends_on=in_ns),
    )
    superusers = k8s.core.v1.Secret(
        "redpanda-superusers",
        metadata=api({"name": chart_values.REDPANDA_USERS_SECRET_NAME, "namespace": namespace}),
        type="Opaque",
        # The chart requires this file; every user in it would be a superuser.
        string_data={"users.txt": ""},
        opts=placement.opts(parent, depends_on=in_ns),
    )
    passwords = {user.name: password(f"kafka-{user.process}") for user in users}
    app_users = k8s.core.v1.Secret(
        "redpanda-app-users",
        metadata=api({"name": APP_PASSWORDS_SECRET_NAME, "namespace": namespace}),
        type="Opaque",
        string_data={kafka_access.password_variable(u): passwords[u.name] for u in users},
        opts=placement.opts(parent, depends_on=in_ns),
    )
    return Credentials(ready=[admin, superusers, app_users], passwords=passwords)


def create_app_access(
    parent: pulumi.Resource,
    placement: InCluster,
    *,
    namespace: pulumi.Input[str],
    users: Sequence[kafka_access.KafkaUser],
    passwords: dict[str, pulumi.Output[str]],
    ready: Sequence[pulumi.Resource],
) -> list[pulumi.Resource]:
    """In the app namespace: each app user's credentials Secret, and the CA bundle Secret.

    The bundle is a certificate cert-manager issues from the brokers' CA; its Secret carries
    that CA as `ca.crt`, which is all the sidecars read from it.
    """
    created: list[pulumi.Resource] = []
    for user in users:
        created.append(
            k8s.core.v1.Secret(
                f"kafka-{user.process}",
                metadata=api({"name": user.secret_name, "namespace": namespace}),
                type="Opaque",
                string_data={
                    kafka_access.USERNAME_KEY: user.name,
                    kafka_access.PASSWORD_KEY: passwords[user.name],
                },
                opts=placement.opts(parent, depends_on=ready),
            )
        )
    created.append(
        k8s.apiextensions.CustomResource(
            "kafka-ca",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata=api({"name": kafka_access.CA_SECRET_NAME, "namespace": namespace}),
            spec=api(
                {
                    "commonName": "taskstream kafka trust bundle",
                    "secretName": kafka_access.CA_SECRET_NAME,
                    "privateKey": {"algorithm": "ECDSA", "size": 256},
                    "issuerRef": {
                        "name": chart_values.REDPANDA_CA_ISSUER,
                        "kind": "ClusterIssuer",
                        "group": "cert-manager.io",
                    },
                }
            ),
            opts=placement.opts(parent, depends_on=ready),
        )
    )
    return created
