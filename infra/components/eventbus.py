"""Redpanda (the Kafka API) and the topics the services publish to and consume from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra import chart_values, kafka_access, versions
from infra.components import autoscaling, eventbus_network, eventbus_security, helm, monitoring
from infra.components.edge import CERT_MANAGER_NAMESPACE
from infra.components.placement import InCluster, api, labels
from infra.components.topics import create_topics_script, topic_specs
from infra.config_model import RedpandaConfig

NAMESPACE = "redpanda"
# Where the topic Job finds the CA that signed the brokers' certificate.
CA_MOUNT = "/etc/redpanda-tls"


@dataclass(frozen=True)
class EventBusArgs:
    config: RedpandaConfig
    placement: InCluster
    # The namespace whose pods publish and subscribe (its own policies say which may).
    client_namespace: str
    namespace: str = NAMESPACE
    # cert-manager's release and namespace: the brokers' certificates come from it.
    cert_manager_ready: Sequence[pulumi.Resource] = ()
    cert_manager_namespace: str = CERT_MANAGER_NAMESPACE
    # The chart's ServiceMonitor needs the monitoring CRDs first.
    depends_on: Sequence[pulumi.Resource] = ()
    # KEDA's operator reads consumer offsets (infra/components/autoscaling.py).
    scaler: bool = False


class EventBus(pulumi.ComponentResource):
    """Creates the redpanda namespace, its NetworkPolicies (default deny, then the brokers'
    peers), a private CA (cert-manager ClusterIssuer), generated SCRAM credentials, the
    Redpanda release (SASL and TLS on every listener) and a Job that declares the topics, the
    apps' users and their ACLs.

    Outputs: brokers (the internal Kafka bootstrap address), topics_job (ready when topics
    and users exist), user_passwords (per app user, secret).
    """

    def __init__(self, name: str, args: EventBusArgs, opts: pulumi.ResourceOptions | None = None):
        _validate(args)
        super().__init__("taskstream:platform:EventBus", name, None, opts)
        placement = args.placement
        ns = helm.namespace(
            args.namespace, placement=placement, parent=self, labels=labels("redpanda")
        )
        policies = self._create_network_policies(args, ns)
        self.users = kafka_access.all_users()
        self.ca = eventbus_security.create_ca(
            self,
            placement,
            cert_manager_namespace=args.cert_manager_namespace,
            cert_manager_ready=args.cert_manager_ready,
        )
        credentials = eventbus_security.create_credentials(
            self, placement, namespace=ns.metadata.name, namespace_ready=[ns], users=self.users
        )
        self.user_passwords = credentials.passwords
        self.release = helm.release(
            "redpanda",
            chart=versions.REDPANDA,
            namespace=ns.metadata.name,
            values=chart_values.redpanda_values(
                args.config, node_selector=placement.workload_nodes
            ),
            placement=placement,
            parent=self,
            # The post-install hook and the brokers need their paths before they start.
            depends_on=[ns, *policies, *self.ca, *credentials.ready, *args.depends_on],
            timeout_seconds=900,
        )
        self.namespace = args.namespace
        self.brokers = chart_values.redpanda_brokers(args.namespace)
        self.topics_job = self._create_topics_job(name, args)
        self.register_outputs(
            {
                "brokers": self.brokers,
                "topics_job": self.topics_job.id,
                "user_passwords": self.user_passwords,
            }
        )

    def _create_network_policies(
        self, args: EventBusArgs, ns: k8s.core.v1.Namespace
    ) -> list[k8s.networking.v1.NetworkPolicy]:
        peers = eventbus_network.BrokerPeers(
            client_namespace=args.client_namespace,
            prometheus_namespace=monitoring.NAMESPACE,
            prometheus_pod_labels=monitoring.PROMETHEUS_POD_LABELS,
            scaler_namespace=autoscaling.NAMESPACE if args.scaler else None,
            scaler_pod_labels=autoscaling.OPERATOR_POD_LABELS,
        )
        return [
            k8s.networking.v1.NetworkPolicy(
                f"redpanda-netpol-{name}",
                metadata=api(
                    {"name": name, "namespace": args.namespace, "labels": labels("network")}
                ),
                spec=api(spec),
                opts=args.placement.opts(self, depends_on=[ns]),
            )
            for name, spec in eventbus_network.network_policies(peers).items()
        ]

    def _create_topics_job(self, name: str, args: EventBusArgs) -> k8s.batch.v1.Job:
        script = create_topics_script(topic_specs(), replicas=args.config.replication_factor)
        script += kafka_access.access_script(self.users)
        container = {
            "name": "rpk",
            "image": versions.RPK_IMAGE,
            "command": ["/bin/sh", "-c", script],
            "env": _rpk_env(self.brokers, args.namespace, self.users),
            "volumeMounts": [{"name": "tls", "mountPath": CA_MOUNT, "readOnly": True}],
            "resources": {
                "requests": {"cpu": "50m", "memory": "64Mi"},
                "limits": {"cpu": "200m", "memory": "128Mi"},
            },
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 101,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
        }
        # No fixed name: a changed topic list replaces the Job (its spec is immutable).
        return k8s.batch.v1.Job(
            f"{name}-topics",
            metadata=api(
                {"namespace": args.namespace, "labels": labels(eventbus_network.TOPICS_JOB_NAME)}
            ),
            spec=api(
                {
                    "backoffLimit": 10,
                    "template": {
                        "metadata": {"labels": labels(eventbus_network.TOPICS_JOB_NAME)},
                        "spec": {
                            **(
                                {"nodeSelector": dict(args.placement.workload_nodes)}
                                if args.placement.workload_nodes
                                else {}
                            ),
                            "restartPolicy": "OnFailure",
                            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                            "containers": [container],
                            "volumes": [
                                {
                                    "name": "tls",
                                    "secret": {
                                        "secretName": chart_values.REDPANDA_TLS_SECRET_NAME,
                                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                    },
                                }
                            ],
                        },
                    },
                }
            ),
            opts=args.placement.opts(self, depends_on=[self.release]),
        )


# Redpanda wants at least 2 GiB per core for the broker itself (values.yaml of the chart,
# resources.memory); in explicit mode the chart hands it 90% of the memory request.
_MIN_BROKER_MEMORY_PER_CORE = 2 * 1024**3
_BROKER_MEMORY_SHARE = 0.9
_MEMORY = re.compile(r"^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_UNITS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_UNITS.update({"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40})


def _bytes(quantity: str) -> float:
    match = _MEMORY.match(quantity)
    if match is None:
        raise ValueError(f"EventBus: {quantity!r} is not a memory quantity such as 4Gi")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _rpk_env(
    brokers: str, namespace: str, users: list[kafka_access.KafkaUser]
) -> list[dict[str, object]]:
    """rpk's settings as RPK_* variables (its -X options): the superuser over TLS on both
    the Kafka API (topics, ACLs) and the admin API (users)."""
    ca_file = f"{CA_MOUNT}/ca.crt"
    admin_host = f"{chart_values.REDPANDA_FULLNAME}.{namespace}.svc.cluster.local"
    plain = {
        "RPK_BROKERS": brokers,
        "RPK_TLS_ENABLED": "true",
        "RPK_TLS_CA": ca_file,
        "RPK_ADMIN_HOSTS": f"{admin_host}:{chart_values.REDPANDA_ADMIN_PORT}",
        "RPK_ADMIN_TLS_ENABLED": "true",
        "RPK_ADMIN_TLS_CA": ca_file,
        "RPK_SASL_MECHANISM": kafka_access.SASL_MECHANISM,
        "RPK_USER": kafka_access.ADMIN_USER,
    }
    env: list[dict[str, object]] = [{"name": k, "value": v} for k, v in plain.items()]
    env.append(
        {
            "name": "RPK_PASS",
            "valueFrom": {
                "secretKeyRef": {
                    "name": chart_values.REDPANDA_ADMIN_SECRET_NAME,
                    "key": chart_values.REDPANDA_ADMIN_PASSWORD_KEY,
                }
            },
        }
    )
    for user in users:
        variable = kafka_access.password_variable(user)
        env.append(
            {
                "name": variable,
                "valueFrom": {
                    "secretKeyRef": {
                        "name": eventbus_security.APP_PASSWORDS_SECRET_NAME,
                        "key": variable,
                    }
                },
            }
        )
    return env


def _validate(args: EventBusArgs) -> None:
    cores = args.config.cpu_cores
    if not cores.isdigit() or int(cores) < 1:
        raise ValueError(
            f"EventBus: {cores!r} CPU per broker; Seastar runs one reactor per whole core, "
            "so set taskstream:redpandaCpuCores to 1, 2, ..."
        )
    broker_memory = _bytes(args.config.memory) * _BROKER_MEMORY_SHARE
    if args.config.brokers >= 3 and broker_memory < _MIN_BROKER_MEMORY_PER_CORE * int(cores):
        raise ValueError(
            f"EventBus: {args.config.memory} leaves a broker {broker_memory / 2**30:.1f} GiB "
            f"for {cores} cores; Redpanda needs 2 GiB per core, raise "
            "taskstream:redpandaMemory or lower taskstream:redpandaCpuCores"
        )
    if args.config.brokers < args.config.replication_factor:
        raise ValueError(
            f"EventBus: replication factor {args.config.replication_factor} needs at least as "
            "many brokers; raise taskstream:redpandaBrokers"
        )
    if not args.namespace.islower():
        raise ValueError(f"EventBus: namespace {args.namespace!r} must be lowercase")
