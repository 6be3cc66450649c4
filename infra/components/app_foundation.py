"""What the app's pods stand on: its namespace, service account and settings secrets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components import app_workloads as workloads
from infra.components.placement import InCluster, api, labels

JWT_KEY_LENGTH = 64
DAPR_TOKEN_LENGTH = 48


@dataclass(frozen=True)
class AppFoundationArgs:
    namespace: str
    placement: InCluster
    database_url: pulumi.Output[str]
    # The database admin's connection; only the grant Job reads it, from its own Secret.
    database_admin_url: pulumi.Output[str]
    # A dockerconfigjson body; None when the cluster pulls without credentials (local).
    docker_config_json: pulumi.Output[str] | None


class AppFoundation(pulumi.ComponentResource):
    """Creates the app namespace, a token-less service account (it needs no API access), the
    settings Secret (database URL, generated JWT key) and the registry pull secret.

    Outputs: namespace_name, settings_secret, pull_secret (or None), ready (resources to wait on).
    """

    def __init__(
        self, name: str, args: AppFoundationArgs, opts: pulumi.ResourceOptions | None = None
    ):
        _validate(args)
        super().__init__("taskstream:platform:AppFoundation", name, None, opts)
        placement = args.placement
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=api({"name": args.namespace, "labels": labels("taskstream")}),
            opts=placement.opts(self),
        )
        self.namespace_name = args.namespace
        in_ns = [self.namespace]
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=api({"name": workloads.SERVICE_ACCOUNT, "namespace": args.namespace}),
            automount_service_account_token=False,
            opts=placement.opts(self, depends_on=in_ns),
        )
        jwt_key = random.RandomPassword(
            f"{name}-jwt-key",
            length=JWT_KEY_LENGTH,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        database_url: pulumi.Output[str] = pulumi.Output.secret(args.database_url)
        jwt_secret: pulumi.Output[str] = pulumi.Output.secret(jwt_key.result)
        self.settings_secret = k8s.core.v1.Secret(
            f"{name}-settings",
            metadata=api({"name": workloads.SECRET_NAME, "namespace": args.namespace}),
            type="Opaque",
            string_data={
                workloads.SECRET_DATABASE_URL_KEY: database_url,
                workloads.SECRET_JWT_KEY: jwt_secret,
            },
            opts=placement.opts(self, depends_on=in_ns),
        )
        admin_url: pulumi.Output[str] = pulumi.Output.secret(args.database_admin_url)
        self.admin_secret = k8s.core.v1.Secret(
            f"{name}-db-admin",
            metadata=api({"name": workloads.ADMIN_SECRET_NAME, "namespace": args.namespace}),
            type="Opaque",
            string_data={workloads.SECRET_DATABASE_URL_KEY: admin_url},
            opts=placement.opts(self, depends_on=in_ns),
        )
        self.dapr_token_secrets = [
            _dapr_token(self, f"{name}-{token}", secret, args, depends_on=in_ns)
            for token, secret in (
                ("dapr-app-token", workloads.DAPR_APP_TOKEN_SECRET),
                ("dapr-api-token", workloads.DAPR_API_TOKEN_SECRET),
            )
        ]
        self.pull_secret: k8s.core.v1.Secret | None = None
        if args.docker_config_json is not None:
            docker_config: pulumi.Output[str] = pulumi.Output.secret(args.docker_config_json)
            self.pull_secret = k8s.core.v1.Secret(
                f"{name}-pull",
                metadata=api({"name": workloads.PULL_SECRET_NAME, "namespace": args.namespace}),
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": docker_config},
                opts=placement.opts(self, depends_on=in_ns),
            )
        self.ready: list[pulumi.Resource] = [
            self.service_account,
            self.settings_secret,
            self.admin_secret,
            *self.dapr_token_secrets,
        ]
        if self.pull_secret is not None:
            self.ready.append(self.pull_secret)
        self.register_outputs(
            {"namespace": self.namespace_name, "settings_secret": workloads.SECRET_NAME}
        )


def _dapr_token(
    parent: pulumi.Resource,
    name: str,
    secret_name: str,
    args: AppFoundationArgs,
    depends_on: Sequence[pulumi.Resource],
) -> k8s.core.v1.Secret:
    """A generated Dapr token in its own Secret, under the key the sidecar injector reads."""
    token = random.RandomPassword(
        name, length=DAPR_TOKEN_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=parent)
    )
    value: pulumi.Output[str] = pulumi.Output.secret(token.result)
    return k8s.core.v1.Secret(
        name,
        metadata=api({"name": secret_name, "namespace": args.namespace}),
        type="Opaque",
        string_data={workloads.DAPR_TOKEN_KEY: value},
        opts=args.placement.opts(parent, depends_on=depends_on),
    )


def _validate(args: AppFoundationArgs) -> None:
    if not args.namespace or args.namespace != args.namespace.lower():
        raise ValueError(f"AppFoundation: namespace {args.namespace!r} must be a lowercase name")
    if args.namespace in ("default", "kube-system"):
        raise ValueError(
            f"AppFoundation: do not deploy into {args.namespace!r}; use a dedicated namespace"
        )
