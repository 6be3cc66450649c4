"""Pure manifest builders for the app's workloads: Deployments, migration Job, Services, scaling."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from app import contract
from infra import kafka_access
from infra.components.edge import PROXY_SOURCE_NETWORKS
from infra.components.placement import labels
from infra.config_model import ServiceConfig

Manifest = dict[str, Any]

# Names of Secrets and of keys inside them, never values.
SECRET_NAME = "taskstream-settings"  # noqa: S105
# The database admin's URL, apart from the settings so no long-running pod can read it.
ADMIN_SECRET_NAME = "taskstream-db-admin"  # noqa: S105
SECRET_DATABASE_URL_KEY = "database-url"  # noqa: S105
SECRET_JWT_KEY = "jwt-secret"  # noqa: S105
SECRET_WEBHOOK_KEY = "webhook-secret-key"  # noqa: S105
PULL_SECRET_NAME = "registry-pull"  # noqa: S105
# Dapr's tokens: the annotations name these Secrets and the injector reads their `token` key
# into daprd; the app container reads the same keys under the variable names daprd uses.
DAPR_APP_TOKEN_SECRET = "taskstream-dapr-app-token"  # noqa: S105  (daprd -> app)
DAPR_API_TOKEN_SECRET = "taskstream-dapr-api-token"  # noqa: S105  (app -> daprd)
DAPR_TOKEN_KEY = "token"  # noqa: S105
SERVICE_ACCOUNT = "taskstream"
DAPR_METRICS_PORT = 9090
# Where the edge's proxies connect to the API from (infra/components/edge.py). Only the
# proxies and Prometheus may reach the API's port at all (app_network), so no other pod
# can forge a client address.
EDGE_SOURCE_NETWORKS = PROXY_SOURCE_NETWORKS
# The Jobs' names; their pods are labelled with pod_name(job).
GRANT_JOB = "db-grant"
MIGRATE_JOB = "migrate"
NAME_LABEL = "app.kubernetes.io/name"


def pod_name(name: str) -> str:
    """The app.kubernetes.io/name of a process's or Job's pods."""
    return f"taskstream-{name}"


# app.db.make_engine lets a pod open max_overflow = pool_size connections beyond its pool.
CONNECTIONS_PER_POOLED = 2
# The Jobs run one statement at a time; one pooled connection is all they use.
JOB_DB_POOL = 1
# maxUnavailable 0 and no maxSurge: a rollout adds 25% of the replicas, rounded up.
ROLLOUT_SURGE = 0.25


def selector(process: contract.Process) -> dict[str, str]:
    return {NAME_LABEL: pod_name(process.name)}


def environment(*, environment: str, cors_origins: str) -> list[Manifest]:
    """The TASKSTREAM_* settings every process reads; secrets come by reference only."""

    def secret_ref(key: str) -> Manifest:
        return {"secretKeyRef": {"name": SECRET_NAME, "key": key}}

    return [
        {"name": contract.ENV_ENVIRONMENT, "value": environment},
        {"name": contract.ENV_DATABASE_URL, "valueFrom": secret_ref(SECRET_DATABASE_URL_KEY)},
        {"name": contract.ENV_JWT_SECRET, "valueFrom": secret_ref(SECRET_JWT_KEY)},
        {"name": contract.ENV_WEBHOOK_SECRET_KEY, "valueFrom": secret_ref(SECRET_WEBHOOK_KEY)},
        {"name": contract.ENV_EVENT_BUS, "value": "dapr"},
        {"name": contract.ENV_DAPR_HTTP_ENDPOINT, "value": "http://127.0.0.1:3500"},
        {"name": contract.ENV_PUBSUB_NAME, "value": contract.PUBSUB_NAME},
        # The Subscription resources declare the workers' subscriptions.
        {"name": contract.ENV_DAPR_SUBSCRIPTIONS, "value": "declarative"},
        {"name": contract.ENV_LOG_LEVEL, "value": "INFO"},
        {"name": contract.ENV_CORS_ORIGINS, "value": cors_origins},
        {"name": contract.ENV_TRUSTED_PROXIES, "value": json.dumps(list(EDGE_SOURCE_NETWORKS))},
    ]


def pool_environment(pool_size: int) -> Manifest:
    return {"name": contract.ENV_DATABASE_POOL_SIZE, "value": str(pool_size)}


def peak_pods(service: ServiceConfig) -> int:
    """Pods of one process at once: its HPA's ceiling plus a rollout's surge on top."""
    return service.max_replicas + math.ceil(service.max_replicas * ROLLOUT_SURGE)


def pooled_connections(services: Mapping[str, ServiceConfig]) -> int:
    """Client connections the processes and the migration Job can hold through the pool.

    In session mode each one keeps a server connection for its whole life, and the
    engine keeps its pooled connections open, so this is what the pool must have.
    """
    processes = sum(
        peak_pods(service) * CONNECTIONS_PER_POOLED * service.db_pool
        for service in services.values()
    )
    return processes + CONNECTIONS_PER_POOLED * JOB_DB_POOL


def direct_connections() -> int:
    """Connections straight to the server, beside the pool: the grant Job's (as the admin)."""
    return CONNECTIONS_PER_POOLED * JOB_DB_POOL


def dapr_token_environment() -> list[Manifest]:
    """The tokens a Dapr-enabled app checks (APP_API_TOKEN) and sends (DAPR_API_TOKEN)."""
    return [
        {
            "name": variable,
            "valueFrom": {"secretKeyRef": {"name": secret, "key": DAPR_TOKEN_KEY}},
        }
        for variable, secret in (
            (contract.ENV_APP_API_TOKEN, DAPR_APP_TOKEN_SECRET),
            (contract.ENV_DAPR_API_TOKEN, DAPR_API_TOKEN_SECRET),
        )
    ]


def _security_context() -> Manifest:
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _image_container(name: str, image: str, args: list[str]) -> Manifest:
    """A container of the image: the CLI's arguments, locked down, temp files in `tmp`."""
    return {
        "name": name,
        "image": image,
        "args": args,
        "securityContext": _security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }


def _process_container(process: contract.Process, image: str) -> Manifest:
    """A long-running process's container: its port and the probes every process answers.

    The startup probe holds the others back while a pod starts; liveness then restarts a
    process that stopped answering, readiness takes one out of its Service meanwhile.
    """
    probe = {"httpGet": {"path": contract.HEALTH_PATH, "port": "http"}, "periodSeconds": 10}
    return {
        **_image_container(process.name, image, list(process.args)),
        "ports": [{"name": "http", "containerPort": process.port}],
        "readinessProbe": {
            "httpGet": {"path": contract.READY_PATH, "port": "http"},
            "periodSeconds": 5,
            "failureThreshold": 3,
        },
        "livenessProbe": {**probe, "initialDelaySeconds": 10, "failureThreshold": 6},
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 60},
    }


def _pod_spec(
    containers: list[Manifest],
    *,
    pull_secret: bool,
    node_selector: Mapping[str, str] | None,
    restart_policy: str | None = None,
) -> Manifest:
    spec: Manifest = {
        "serviceAccountName": SERVICE_ACCOUNT,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
        # A read-only root filesystem still needs somewhere for temp files.
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    if pull_secret:
        spec["imagePullSecrets"] = [{"name": PULL_SECRET_NAME}]
    if restart_policy is not None:
        spec["restartPolicy"] = restart_policy
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    return spec


def deployment_spec(
    process: contract.Process,
    service: ServiceConfig,
    *,
    image: str,
    env: list[Manifest],
    pull_secret: bool,
    dapr_config: str,
    node_selector: Mapping[str, str] | None = None,
) -> Manifest:
    """A Deployment spec with Dapr annotations, probes, resources and topology spread."""
    container = {
        **_process_container(process, image),
        # The injector gives these to daprd only; the app needs them as well.
        "env": [*env, pool_environment(service.db_pool), *dapr_token_environment()],
        "resources": {
            "requests": {"cpu": service.cpu_request, "memory": service.memory_request},
            "limits": {"cpu": service.cpu_limit, "memory": service.memory_limit},
        },
    }
    pod_labels = {**labels(f"taskstream-{process.name}"), **selector(process)}
    return {
        "replicas": service.replicas,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": selector(process)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}},
        "template": {
            "metadata": {
                "labels": pod_labels,
                "annotations": dapr_annotations(process, dapr_config),
            },
            "spec": {
                **_pod_spec([container], pull_secret=pull_secret, node_selector=node_selector),
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": key,
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": selector(process)},
                    }
                    for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
                ],
                "terminationGracePeriodSeconds": 30,
            },
        },
    }


def kafka_env_from_secret(user: kafka_access.KafkaUser) -> str:
    """The `dapr.io/env-from-secret` value giving daprd this user's credentials and the CA
    (format `NAME=secret:key,...`, dapr v1.18.3 pkg/injector/patcher/sidecar_container.go)."""
    pairs = {
        kafka_access.ENV_USERNAME: (user.secret_name, kafka_access.USERNAME_KEY),
        kafka_access.ENV_PASSWORD: (user.secret_name, kafka_access.PASSWORD_KEY),
        kafka_access.ENV_CA_CERT: (kafka_access.CA_SECRET_NAME, kafka_access.CA_KEY),
    }
    return ",".join(f"{name}={secret}:{key}" for name, (secret, key) in pairs.items())


def dapr_annotations(process: contract.Process, dapr_config: str) -> dict[str, str]:
    annotations = {
        "dapr.io/enabled": "true",
        "dapr.io/app-id": process.app_id,
        "dapr.io/app-port": str(process.port),
        "dapr.io/app-protocol": "http",
        "dapr.io/config": dapr_config,
        "dapr.io/enable-metrics": "true",
        "dapr.io/metrics-port": str(DAPR_METRICS_PORT),
        "dapr.io/log-as-json": "true",
        # The pods mount no service-account token (least privilege: nothing here calls the
        # Kubernetes API), and daprd's built-in Kubernetes secret store cannot start without
        # one; a component that fails to init stops daprd (docs/infra.md, "Dapr sidecars").
        "dapr.io/disable-builtin-k8s-secret-store": "true",
        "dapr.io/app-token-secret": DAPR_APP_TOKEN_SECRET,
        "dapr.io/api-token-secret": DAPR_API_TOKEN_SECRET,
        "dapr.io/sidecar-cpu-request": "50m",
        "dapr.io/sidecar-memory-request": "64Mi",
        "dapr.io/sidecar-cpu-limit": "500m",
        "dapr.io/sidecar-memory-limit": "256Mi",
        # Lets in-flight events finish before the sidecar stops during a rollout.
        "dapr.io/graceful-shutdown-seconds": "20",
    }
    user = kafka_access.user_of(process)
    if user is not None:
        annotations["dapr.io/env-from-secret"] = kafka_env_from_secret(user)
    return annotations


def admin_environment(env: list[Manifest]) -> list[Manifest]:
    """The same settings, with the database URL read from the admin's Secret instead."""
    admin_url = {"secretKeyRef": {"name": ADMIN_SECRET_NAME, "key": SECRET_DATABASE_URL_KEY}}
    return [
        {"name": e["name"], "valueFrom": admin_url} if e["name"] == contract.ENV_DATABASE_URL else e
        for e in env
    ]


def db_grant_job_spec(
    *,
    image: str,
    env: list[Manifest],
    pull_secret: bool,
    role: str,
    node_selector: Mapping[str, str] | None = None,
) -> Manifest:
    """`taskstream db-grant` as the database admin: lets ``role`` create in schema public."""
    args = [*contract.DB_GRANT_ARGS, "--role", role]
    return _job_spec(
        GRANT_JOB,
        args,
        image=image,
        env=admin_environment(env),
        pull_secret=pull_secret,
        node_selector=node_selector,
    )


def migration_job_spec(
    *,
    image: str,
    env: list[Manifest],
    pull_secret: bool,
    node_selector: Mapping[str, str] | None = None,
) -> Manifest:
    """`taskstream migrate` once per image; no sidecar, so the Job can complete."""
    return _job_spec(
        MIGRATE_JOB,
        list(contract.MIGRATE_ARGS),
        image=image,
        env=env,
        pull_secret=pull_secret,
        node_selector=node_selector,
    )


def _job_spec(
    name: str,
    args: list[str],
    *,
    image: str,
    env: list[Manifest],
    pull_secret: bool,
    node_selector: Mapping[str, str] | None,
) -> Manifest:
    container = {
        **_image_container(name, image, args),
        "env": [*env, pool_environment(JOB_DB_POOL)],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
    }
    return {
        "backoffLimit": 4,
        "activeDeadlineSeconds": 600,
        "template": {
            "metadata": {"labels": labels(pod_name(name))},
            "spec": _pod_spec(
                [container],
                pull_secret=pull_secret,
                node_selector=node_selector,
                restart_policy="Never",
            ),
        },
    }


def service_spec(process: contract.Process) -> Manifest:
    return {
        "selector": selector(process),
        "ports": [{"name": "http", "port": process.port, "targetPort": "http"}],
    }


def hpa_spec(process: contract.Process, service: ServiceConfig) -> Manifest:
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": process.name},
        "minReplicas": service.replicas,
        "maxReplicas": service.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            }
        ],
    }


def pdb_spec(process: contract.Process) -> Manifest:
    return {"maxUnavailable": 1, "selector": {"matchLabels": selector(process)}}


def service_monitor_spec(namespace: str) -> Manifest:
    """One ServiceMonitor scraping /metrics of every process Service."""
    return {
        "namespaceSelector": {"matchNames": [namespace]},
        "selector": {"matchLabels": {"app.kubernetes.io/part-of": "taskstream"}},
        "endpoints": [{"port": "http", "path": contract.METRICS_PATH, "interval": "30s"}],
    }


# The lag exporter (workers/lag_exporter.py): no sidecar, its own read-only Kafka user.
LAG_EXPORTER_RESOURCES = {
    "requests": {"cpu": "20m", "memory": "96Mi"},
    "limits": {"cpu": "200m", "memory": "192Mi"},
}


def lag_exporter_environment(brokers: str) -> list[Manifest]:
    """Where the brokers are, who the exporter is to them, and the CA that signed them."""
    user = kafka_access.reader(contract.LAG_EXPORTER.name)

    def secret(name: str, key: str) -> Manifest:
        return {"secretKeyRef": {"name": name, "key": key}}

    return [
        {"name": contract.ENV_KAFKA_BROKERS, "value": brokers},
        {
            "name": contract.ENV_KAFKA_USERNAME,
            "valueFrom": secret(user.secret_name, kafka_access.USERNAME_KEY),
        },
        {
            "name": contract.ENV_KAFKA_PASSWORD,
            "valueFrom": secret(user.secret_name, kafka_access.PASSWORD_KEY),
        },
        {
            "name": contract.ENV_KAFKA_CA_CERT,
            "valueFrom": secret(kafka_access.CA_SECRET_NAME, kafka_access.CA_KEY),
        },
        {"name": contract.ENV_LOG_LEVEL, "value": "INFO"},
    ]


def lag_exporter_spec(
    *,
    image: str,
    brokers: str,
    replicas: int,
    pull_secret: bool,
    node_selector: Mapping[str, str] | None = None,
) -> Manifest:
    """The exporter's Deployment spec. Each replica reads the same offsets, so the alerts
    take the max per partition before they add partitions up."""
    process = contract.LAG_EXPORTER
    container = {
        **_process_container(process, image),
        "env": lag_exporter_environment(brokers),
        "resources": LAG_EXPORTER_RESOURCES,
    }
    return {
        "replicas": replicas,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": selector(process)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": {**labels(pod_name(process.name)), **selector(process)}},
            "spec": {
                **_pod_spec([container], pull_secret=pull_secret, node_selector=node_selector),
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": selector(process)},
                    }
                ],
            },
        },
    }
