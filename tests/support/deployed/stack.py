"""A rendered stack's workloads started on this host: the Jobs to completion, then every
Deployment's pod with its daprd, each probe held to its budget."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from infra import kafka_access
from infra.components.app_workloads import (
    ADMIN_SECRET_NAME,
    SECRET_DATABASE_URL_KEY,
    SECRET_NAME,
)
from tests.support.deployed.environment import Resolver
from tests.support.deployed.image import ImageConfig, repository_image
from tests.support.deployed.objects import Manifest, RenderedObjects, Workload
from tests.support.deployed.pod import Pod, build_pod
from tests.support.deployed.sidecar import (
    StandaloneResources,
    sidecar_spec,
    write_standalone_resources,
)
from tests.support.kafka import KafkaBroker

IMAGE_NAME = "taskstream"
# The base image's ENV that the final stage builds on: its PATH stands for this host's.
BASE_LANG = "C.UTF-8"
JOB_TIMEOUT_CAP = 300.0


def base_image_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": BASE_LANG}


def from_repository_image(container: Manifest) -> bool:
    """Whether the container runs the image this repository's Dockerfile builds."""
    image = str(container.get("image", ""))
    return image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0] == IMAGE_NAME


SecretKey = tuple[str, str]  # (Secret name, key)


class StandIns:
    """Stand-ins for what the render redacts: the suite's database URLs where a Secret
    carries one, fresh random values (tokens, keys) for the rest.

    One value per (Secret, key), so every consumer of a Secret (app env, daprd) agrees.
    """

    def __init__(self, known: Mapping[SecretKey, str]) -> None:
        self.made: dict[SecretKey, str] = dict(known)

    def __call__(self, secret: str, key: str) -> str:
        return self.made.setdefault((secret, key), secrets.token_urlsafe(32))


def database_stand_ins(*, app_url: str, admin_url: str) -> dict[SecretKey, str]:
    """The Secrets that carry database URLs: the app role's, and the admin's for the grant."""
    return {
        (SECRET_NAME, SECRET_DATABASE_URL_KEY): app_url,
        (ADMIN_SECRET_NAME, SECRET_DATABASE_URL_KEY): admin_url,
    }


def kafka_stand_ins(broker: KafkaBroker) -> dict[SecretKey, str]:
    """The Secrets the sidecars' Kafka credentials and CA come from, holding the suite's
    broker's: each app user's, and the CA cert-manager would write."""
    made: dict[SecretKey, str] = {}
    for user in kafka_access.all_users():
        env = broker.dapr_env(user.name)
        if not env:
            continue
        made[(user.secret_name, kafka_access.USERNAME_KEY)] = env[kafka_access.ENV_USERNAME]
        made[(user.secret_name, kafka_access.PASSWORD_KEY)] = env[kafka_access.ENV_PASSWORD]
        made[(kafka_access.CA_SECRET_NAME, kafka_access.CA_KEY)] = env[kafka_access.ENV_CA_CERT]
    return made


class DeployedStack:
    """Every Deployment and Job of a render that runs this repository's image."""

    def __init__(
        self, objects: RenderedObjects, *, stand_ins: Mapping[SecretKey, str], workdir: Path
    ) -> None:
        self.objects = objects
        self.workdir = workdir
        self.image: ImageConfig = repository_image(base_image_env())
        self.values = StandIns(stand_ins)
        self.resolver = Resolver(objects, self.values)
        self.workloads = [
            w for w in objects.workloads() if all(map(from_repository_image, w.containers))
        ]
        self.resources: dict[str, StandaloneResources] = {}
        self.pods: dict[str, Pod] = {}
        # What the last run_jobs and start_deployments measured, for reports.
        self.job_seconds: dict[str, float] = {}
        self.probe_seconds: dict[str, float] = {}

    def _dapr(self, workload: Workload) -> bool:
        return sidecar_spec(workload.annotations, workload.name) is not None

    def _build(self, workload: Workload) -> Pod:
        pod = build_pod(
            workload,
            image=self.image,
            resolver=self.resolver,
            directory=self.workdir / "pods" / f"{workload.kind.lower()}-{workload.name}",
            resources=self.resources.get(workload.namespace),
        )
        self.pods[str(workload)] = pod
        return pod

    def run_jobs(self) -> dict[str, float]:
        """Each Job's pod once (no retries: a retry would hide a flaky start) within its
        activeDeadlineSeconds; every container must exit 0. Returns seconds per Job."""
        took: dict[str, float] = {}
        for workload in self.workloads:
            if workload.kind != "Job":
                continue
            pod = self._build(workload)
            deadline = float(workload.spec.get("activeDeadlineSeconds") or JOB_TIMEOUT_CAP)
            started = time.monotonic()
            pod.start_containers()
            pod.start_sidecar()
            for name, process in pod.containers.items():
                code = process.wait(timeout=min(deadline, JOB_TIMEOUT_CAP))
                assert code == 0, (
                    f"{self.objects.stack} {workload}/{name} exited {code}:\n{pod.log_tails()}"
                )
            pod.stop()
            took[str(workload)] = time.monotonic() - started
        return took

    def start_deployments(self, brokers: str) -> dict[str, float]:
        """One pod per Deployment, all started before any is waited on, their daprd pointed
        at `brokers`; returns the seconds each probe took to pass."""
        for component in self.objects.of_kind("Component"):
            for item in component.get("spec", {}).get("metadata", []):
                if item.get("name") == "brokers" and item.get("value"):
                    self.resolver.addresses[str(item["value"])] = brokers
        for namespace in sorted({w.namespace for w in self.workloads if self._dapr(w)}):
            self.resources[namespace] = write_standalone_resources(
                self.objects,
                namespace,
                brokers=brokers,
                directory=self.workdir / "dapr" / namespace,
            )
        pods = [self._build(w) for w in self.workloads if w.kind == "Deployment"]
        for pod in pods:
            pod.start_containers()
        for pod in pods:
            pod.start_sidecar()
        took: dict[str, float] = {}
        for pod in pods:
            took.update({f"{pod.workload}/{k}": v for k, v in pod.await_probes().items()})
        for pod in pods:
            if pod.sidecar is not None:
                pod.sidecar.wait_app_ready(timeout=60)
        return took

    def pod(self, kind: str, name: str) -> Pod:
        return self.pods[f"{kind.lower()}/{name}"]

    def close(self) -> None:
        """Every pod at once, as a namespace deletion terminates them: each daprd may take
        its graceful-shutdown seconds, which in sequence would add up."""
        pods = list(self.pods.values())
        if pods:
            with ThreadPoolExecutor(max_workers=len(pods)) as pool:
                list(pool.map(Pod.stop, pods))

    def log_tails(self, lines: int = 30) -> str:
        return "\n".join(pod.log_tails(lines) for pod in self.pods.values())
