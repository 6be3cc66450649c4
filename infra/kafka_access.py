"""Who may do what on the event bus: one SCRAM user per process that uses it, and its ACLs.

The cluster's rpk Job and the test suite's Kafka broker both apply `users()`, so what the
tests prove about access is what the cluster enforces.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from app import contract

# Redpanda's name for the mechanism (rpk, the chart); Kafka's is the same.
SASL_MECHANISM = "SCRAM-SHA-512"
# pubsub.kafka spells it differently: components-contrib v1.18.4
# common/component/kafka/auth.go (updatePasswordAuthInfo) knows "SHA-256" and "SHA-512".
DAPR_SASL_MECHANISM = "SHA-512"
# The chart's bootstrap user, the only superuser: the topic Job runs as it.
ADMIN_USER = "taskstream-admin"

# daprd reads its credentials from its own environment (Component metadata `envRef`, dapr
# v1.18.3 pkg/runtime/processor/secret/secret.go); the injector fills those variables from
# the process's own Secret (`dapr.io/env-from-secret`). One Component serves every app, yet
# each sidecar authenticates as its own user. DAPR_-prefixed names are refused by daprd.
ENV_USERNAME = contract.ENV_KAFKA_USERNAME
ENV_PASSWORD = contract.ENV_KAFKA_PASSWORD
ENV_CA_CERT = contract.ENV_KAFKA_CA_CERT
# Keys of the per-process credentials Secret and of the CA bundle Secret.
USERNAME_KEY = "username"
PASSWORD_KEY = "password"  # noqa: S105 - a key name
CA_KEY = "ca.crt"
# The Secret (in the app namespace) holding the CA that signed the brokers' certificate.
CA_SECRET_NAME = "kafka-ca"  # noqa: S105 - a name


@dataclass(frozen=True)
class Acl:
    """Allow `operations` on one literal topic or consumer group."""

    resource: str  # "topic" or "group"
    name: str
    operations: tuple[str, ...]


@dataclass(frozen=True)
class KafkaUser:
    name: str
    process: str
    acls: tuple[Acl, ...]

    @property
    def secret_name(self) -> str:
        """The Kubernetes Secret with this user's `username` and `password`."""
        return f"kafka-{self.process}"


# The relay alone publishes: the API and the workers write events to the outbox.
PUBLISHERS: tuple[contract.Process, ...] = (contract.RELAY,)


def users(processes: Sequence[contract.Process] = contract.PROCESSES) -> list[KafkaUser]:
    """One user per process that publishes or subscribes, allowed exactly what it does.

    A subscriber reads its topics and their dead-letter topics in its own group (Dapr's
    consumer group is the app id) and writes the dead-letter topics, since daprd itself
    publishes a message it gave up on there. Describe comes with each, for metadata.
    """
    found: list[KafkaUser] = []
    for process in processes:
        acls: list[Acl] = []
        if process in PUBLISHERS:
            for topic in contract.TOPICS:
                acls.append(Acl("topic", topic.name, ("write", "describe")))
        if process.subscriptions:
            for subscription in process.subscriptions:
                topic = subscription.topic
                acls.append(Acl("topic", topic.name, ("read", "describe")))
                acls.append(Acl("topic", topic.dead_letter, ("read", "write", "describe")))
            acls.append(Acl("group", process.app_id, ("read", "describe")))
        if acls:
            found.append(KafkaUser(process.app_id, process.name, tuple(acls)))
    return found


# KEDA's Kafka scaler reads lag as this user, through the TriggerAuthentication's Secret.
KEDA_USER = "taskstream-keda"
KEDA_PROCESS = "keda"


def _lag_acls(*, dead_letters: bool) -> tuple[Acl, ...]:
    """Describe on each subscriber's group and on the topics it reads: what reading lag takes.

    OffsetFetch needs Describe on the group and on each topic, ListOffsets and Metadata
    Describe on the topic (Apache Kafka docs, "Operations and Resources on Protocols";
    Redpanda authorizes the same requests alike). Neither Read (joining the group or
    fetching messages) nor Write is given, so a lag reader can neither steal nor forge.
    """
    acls: list[Acl] = []
    topics: list[str] = []
    for process in contract.PROCESSES:
        if not process.subscriptions:
            continue
        acls.append(Acl("group", process.app_id, ("describe",)))
        for subscription in process.subscriptions:
            topic = subscription.topic
            topics += [topic.name, topic.dead_letter] if dead_letters else [topic.name]
    acls += [Acl("topic", name, ("describe",)) for name in dict.fromkeys(topics)]
    return tuple(acls)


def lag_readers() -> list[KafkaUser]:
    """Users that only look at offsets: the lag exporter (every topic a group reads, dead
    letters too) and KEDA's scaler (the topics the workers are scaled on)."""
    exporter = contract.LAG_EXPORTER
    return [
        KafkaUser(exporter.app_id, exporter.name, _lag_acls(dead_letters=True)),
        KafkaUser(KEDA_USER, KEDA_PROCESS, _lag_acls(dead_letters=False)),
    ]


def all_users() -> list[KafkaUser]:
    """Everyone the access Job creates and the app namespace holds a Secret for."""
    return [*users(), *lag_readers()]


def reader(process: str) -> KafkaUser:
    return next(user for user in lag_readers() if user.process == process)


def user_of(process: contract.Process) -> KafkaUser | None:
    return next((user for user in users() if user.process == process.name), None)


def password_variable(user: KafkaUser) -> str:
    """The environment variable the access script reads `user`'s password from."""
    return "PASSWORD_" + user.process.upper().replace("-", "_")


def access_script(kafka_users: Sequence[KafkaUser]) -> str:
    """A shell script that creates or updates each user and grants its ACLs.

    Passwords come from the environment (the Job maps them from a Secret), never the
    script; re-running it converges: `update` after a failed `create`, ACLs are a set.
    """
    lines = ["set -eu"]
    mechanism = shlex.quote(SASL_MECHANISM)
    for user in kafka_users:
        name = shlex.quote(user.name)
        password = f'"${password_variable(user)}"'
        lines.append(
            f"rpk security user create {name} --password {password} --mechanism {mechanism} "
            f">/dev/null 2>&1 || rpk security user update {name} --new-password {password} "
            f"--mechanism {mechanism} >/dev/null"
        )
        for acl in user.acls:
            operations = ",".join(acl.operations)
            lines.append(
                f"rpk security acl create --allow-principal {shlex.quote('User:' + user.name)} "
                f"--{acl.resource} {shlex.quote(acl.name)} --operation {operations}"
            )
    return "\n".join(lines) + "\n"
