"""What runs the app image: the contract's processes, the lag exporter and the two Jobs."""

from __future__ import annotations

from app import contract
from infra.components.app_workloads import GRANT_JOB, MIGRATE_JOB

# A Deployment each. The lag exporter is no Dapr app, so it is not in contract.PROCESSES.
IMAGE_PROCESSES: tuple[contract.Process, ...] = (*contract.PROCESSES, contract.LAG_EXPORTER)
# A Job each, run to completion before the processes start: the grant, then the migration.
IMAGE_JOBS: tuple[str, ...] = (GRANT_JOB, MIGRATE_JOB)
# The names of every workload of the image, sorted.
IMAGE_WORKLOADS: tuple[str, ...] = tuple(
    sorted([*(process.name for process in IMAGE_PROCESSES), *IMAGE_JOBS])
)


def image_process(workload: str) -> contract.Process | None:
    """The process a workload of the image runs; None for a Job."""
    return next((p for p in IMAGE_PROCESSES if p.name == workload), None)


def reads_settings(workload: str) -> bool:
    """Whether a workload reads Settings: the Jobs do, and every process that says so."""
    process = image_process(workload)
    return process is None or process.reads_settings


def own_variables(workload: str) -> frozenset[str]:
    """The variables a workload reads by name, outside Settings."""
    process = image_process(workload)
    return frozenset(process.variables if process is not None else ())
