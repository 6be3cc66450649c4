"""Redpanda (the Kafka API) and the topics the services publish to and consume from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra import chart_values, kafka_access, versions
from infra.components import eventbus_security, helm
from infra.components.edge import CERT_MANAGER_NAMESPACE
from infra.components.placement import InCluster, api, labels
from infra.components.topics import create_topics_script, topic_specs
from infra.config_model import RedpandaConfig

# Where the topic Job finds the CA that signed the brokers' certificate.
CA_MOUNT = "/etc/redpanda-tls"


@dataclass(frozen=True)
class EventBusArgs:
    config: RedpandaConfig
    placement: InCluster
    namespace: str = "redpanda"
    # cert-manager's release and namespace: the brokers' certificates come from it.
    cert_manager_ready: Sequence[pulumi.Resource] = ()
    cert_manager_namespace: str = CERT_MANAGER_NAMESPACE
    # The chart's ServiceMonitor needs the monitoring CRDs first.
    depends_on: Sequence[pulumi.Resource] = ()


class EventBus(pulumi.ComponentResource):
    """Creates the redpanda namespace, a private CA (cert-manager ClusterIssuer), generated
    SCRAM credentials, the Redpanda release (SASL and TLS on every listener) and a Job that
    declares the topics, the apps' users and their ACLs.

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
        self.users = kafka_access.users()
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
            values=chart_values.redpanda_values(args.config),
            placement=placement,
            parent=self,
            depends_on=[ns, *self.ca, *credentials.ready, *args.depends_on],
            timeout_seconds=900,
        )
        self.brokers = chart_values.redpanda_brokers(args.namespace)
        self.topics_job = self._create_topics_job(name, args)
        self.register_outputs(
            {
                "brokers": self.brokers,
                "topics_job": self.topics_job.id,
                "user_passwords": self.user_passwords,
            }
        )

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
            metadata=api({"namespace": args.namespace, "labels": labels("redpanda-topics")}),
            spec=api(
                {
                    "backoffLimit": 10,
                    "template": {
                        "metadata": {"labels": labels("redpanda-topics")},
                        "spec": {
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
    if args.config.brokers < args.config.replication_factor:
        raise ValueError(
            f"EventBus: replication factor {args.config.replication_factor} needs at least as "
            "many brokers; raise taskstream:redpandaBrokers"
        )
    if not args.namespace.islower():
        raise ValueError(f"EventBus: namespace {args.namespace!r} must be lowercase")
