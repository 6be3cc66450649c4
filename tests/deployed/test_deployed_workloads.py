"""Every rendered workload of the image translates into a process, and what cannot run here
(read-only root filesystem, non-root user, setting names) holds on the manifests themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AliasChoices

from app.contract import PROCESSES, SETTINGS_PREFIX
from app.settings import Settings
from tests.support.deployed.environment import Resolver, container_environment
from tests.support.deployed.objects import RenderedObjects
from tests.support.deployed.pod import HOST_VENV, build_pod
from tests.support.deployed.sidecar import write_standalone_resources
from tests.support.deployed.stack import (
    StandIns,
    base_image_env,
    database_stand_ins,
    from_repository_image,
    repository_image,
)
from tests.support.deployed.statics import filesystem_findings, identity_findings
from tests.support.workloads import (
    IMAGE_JOBS,
    IMAGE_PROCESSES,
    own_variables,
    reads_settings,
)

# Translation only: the pods are built, never started, so no daprd is needed.
UNUSED_DAPRD = Path("/nonexistent/daprd")


def started(objects: RenderedObjects) -> list[str]:
    return sorted(
        str(w) for w in objects.workloads() if all(map(from_repository_image, w.containers))
    )


def test_the_tier_starts_the_grant_then_the_migration_then_one_pod_per_process(
    objects: RenderedObjects,
) -> None:
    expected = sorted(
        [*(f"deployment/{p.name}" for p in IMAGE_PROCESSES), *(f"job/{j}" for j in IMAGE_JOBS)]
    )
    waves = {
        str(w): w.wave for w in objects.workloads() if all(map(from_repository_image, w.containers))
    }

    assert started(objects) == expected, (
        f"{objects.stack}: the image's workloads are not the contract's processes"
    )
    assert waves["job/db-grant"] < waves["job/migrate"], f"grant must precede migrate: {waves}"
    assert all(waves["job/migrate"] < waves[f"deployment/{p.name}"] for p in PROCESSES), (
        f"a Deployment does not wait for the migration: {waves}"
    )


def test_every_workload_translates_to_the_venvs_console_script_with_its_own_env(
    objects: RenderedObjects, tmp_path: Path
) -> None:
    stack_image = repository_image(base_image_env())
    resources = write_standalone_resources(
        objects, "taskstream", brokers="127.0.0.1:9", directory=tmp_path / "dapr"
    )
    resolver = _values(objects)
    for workload in objects.workloads():
        if not all(map(from_repository_image, workload.containers)):
            continue
        pod = build_pod(
            workload,
            image=stack_image,
            resolver=resolver,
            directory=tmp_path / workload.name,
            resources=resources,
            daprd_binary=UNUSED_DAPRD,
        )
        pod.stop()  # nothing started; removes the sidecar's scratch directory
        for name, process in pod.containers.items():
            launch = process.launch
            where = f"{objects.stack} {workload}/{name}"
            assert launch.executable == str(HOST_VENV / "bin" / "taskstream"), where
            assert launch.env["HOME"].startswith(str(tmp_path)), f"{where}: HOME not mapped"
            assert launch.cwd.is_dir(), f"{where}: working directory {launch.cwd} missing"
            if reads_settings(workload.name):
                assert launch.env.get(f"{SETTINGS_PREFIX}ENVIRONMENT"), f"{where}: no environment"


def test_no_workload_writes_outside_its_mounts_or_runs_as_root(objects: RenderedObjects) -> None:
    image = repository_image(base_image_env())
    findings: list[str] = []
    for workload in objects.workloads():
        for container in workload.containers:
            if not from_repository_image(container):
                continue
            env = container_environment(
                container,
                workload,
                image_env=image.env,
                resolver=_values(objects),
                pod_name=workload.name,
            )
            findings += filesystem_findings(workload, container, image, env)
            findings += identity_findings(workload, container, image)

    assert not findings, "\n".join(findings)


def setting_variables() -> set[str]:
    """Every variable name Settings reads: prefixed field names and validation aliases."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"{SETTINGS_PREFIX}{name.upper()}")
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice) for choice in alias.choices if str(choice).isupper()}
        elif isinstance(alias, str):
            names.add(alias)
    return names


def test_every_variable_the_manifests_set_is_one_the_app_reads(
    objects: RenderedObjects,
) -> None:
    # pydantic-settings ignores names it does not know, so a renamed variable would silently
    # leave the app on its default. Beside the image's own, a workload reads Settings' unless
    # its contract.Process says it does not, and the variables that Process names.
    image = set(repository_image(base_image_env()).env)
    settings = setting_variables()

    def known(workload: str) -> set[str]:
        read = settings if reads_settings(workload) else set()
        return image | read | own_variables(workload)

    unknown = sorted(
        f"{workload}/{container['name']}: {entry['name']}"
        for workload in objects.workloads()
        for container in workload.containers
        if from_repository_image(container)
        for entry in container.get("env", [])
        if entry["name"] not in known(workload.name)
    )

    assert not unknown, f"{objects.stack}: variables nothing reads: {unknown}"


def _values(objects: RenderedObjects) -> Resolver:
    url = "postgresql+psycopg://u@127.0.0.1:1/db"
    return Resolver(objects, StandIns(database_stand_ins(app_url=url, admin_url=url)))


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_the_render_has_workloads_of_each_kind_the_tier_starts(
    objects: RenderedObjects, kind: str
) -> None:
    assert any(w.kind == kind for w in objects.workloads()), f"{objects.stack} has no {kind}"
