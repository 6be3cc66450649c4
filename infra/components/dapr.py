"""The Dapr control plane and, strictly after its CRDs exist, the app's Dapr resources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from infra import chart_values, dapr_manifests, kafka_access, versions
from infra.components import eventbus_security, helm
from infra.components.placement import InCluster, labels

SYSTEM_NAMESPACE = "dapr-system"
# The control-plane pods every daprd dials (by their `app` label) and the pod port it reaches
# behind each Service: sentry and operator map 443 to these, placement is headless
# (dapr/dapr charts/dapr/charts/dapr_{sentry,operator,placement}, 1.18). The scheduler is
# not installed (chart_values.dapr_values), so no daprd dials it.
CONTROL_PLANE_PORTS = {
    "dapr-sentry": 50001,
    "dapr-operator": 6500,
    "dapr-placement-server": 50005,
}


@dataclass(frozen=True)
class DaprArgs:
    placement: InCluster
    ha: bool
    app_namespace: pulumi.Input[str]
    app_namespace_name: str
    brokers: str
    # The subscriptions must not exist before their topics do.
    topics_ready: pulumi.Resource | None = None
    # Each event-bus user's password (EventBus.user_passwords) and what must exist before
    # its Secrets and the CA bundle can: the app namespace and the brokers' CA issuer.
    kafka_passwords: Mapping[str, pulumi.Output[str]] | None = None
    kafka_ready: Sequence[pulumi.Resource] = ()
    # The Configuration's `tracing` (tracing_specs.dapr_tracing); None: sampled, not exported.
    tracing: Mapping[str, Any] | None = None


class Dapr(pulumi.ComponentResource):
    """Creates the dapr-system namespace and Dapr release, then the pub/sub Component,
    Subscriptions, Resiliency and Configuration in the app namespace (all depending on the
    release, whose CRDs they need), and the Secrets the Component's sidecars read: each
    event-bus user's credentials and the brokers' CA.

    Outputs: configuration_name, pubsub_name, release.
    """

    def __init__(self, name: str, args: DaprArgs, opts: pulumi.ResourceOptions | None = None):
        _validate(args)
        super().__init__("taskstream:platform:Dapr", name, None, opts)
        placement = args.placement
        ns = helm.namespace(
            SYSTEM_NAMESPACE, placement=placement, parent=self, labels=labels("dapr")
        )
        self.release = helm.release(
            "dapr",
            chart=versions.DAPR,
            namespace=ns.metadata.name,
            values=chart_values.dapr_values(ha=args.ha),
            placement=placement,
            parent=self,
            depends_on=[ns],
        )
        self.kafka_access: list[pulumi.Resource] = []
        if args.kafka_passwords is not None:
            self.kafka_access = eventbus_security.create_app_access(
                self,
                placement,
                namespace=args.app_namespace,
                users=kafka_access.all_users(),
                passwords=dict(args.kafka_passwords),
                ready=args.kafka_ready,
            )
        self.resources = [
            self._custom_resource(manifest, args)
            for manifest in dapr_manifests.all_manifests(
                brokers=args.brokers,
                namespace=args.app_namespace_name,
                tracing=None if args.tracing is None else dict(args.tracing),
            )
        ]
        self.configuration_name = dapr_manifests.CONFIGURATION_NAME
        self.register_outputs(
            {
                "configuration_name": self.configuration_name,
                "resources": [resource.id for resource in self.resources],
            }
        )

    def _custom_resource(
        self, manifest: dapr_manifests.Manifest, args: DaprArgs
    ) -> KubernetesObject:
        kind = manifest["kind"]
        name = manifest["metadata"]["name"]
        depends_on: list[pulumi.Resource] = [self.release]
        if kind == "Subscription" and args.topics_ready is not None:
            depends_on.append(args.topics_ready)
        if kind == "Component":
            # Sidecars that load it read these Secrets at start.
            depends_on.extend(self.kafka_access)
        return KubernetesObject(
            f"dapr-{kind.lower()}-{name}",
            {**manifest, "metadata": {**manifest["metadata"], "namespace": args.app_namespace}},
            opts=args.placement.opts(self, depends_on=depends_on),
        )


class KubernetesObject(pulumi.CustomResource):
    """Any object the Kubernetes provider knows by apiVersion and kind, sent as written.

    apiextensions.CustomResource only carries `spec`; Dapr's kinds keep `scopes` at the top.
    """

    def __init__(
        self, name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        token = f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}"
        super().__init__(token, name, dict(manifest), opts)


def _validate(args: DaprArgs) -> None:
    if not args.brokers or ":" not in args.brokers:
        raise ValueError(f"Dapr: brokers {args.brokers!r} must be host:port of the Kafka listener")
    if args.app_namespace_name == SYSTEM_NAMESPACE:
        raise ValueError("Dapr: the app must not share the dapr-system namespace; use its own")
