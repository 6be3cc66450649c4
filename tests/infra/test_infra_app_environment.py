"""Every taskstream workload states its environment: unset would mean prod to the app."""

from __future__ import annotations

from app import contract
from infra.render.recording import Recording
from tests.infra.stacks import stack_config

WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job")


def test_every_taskstream_container_is_told_its_stacks_environment(
    recorded: Recording, stack: str
) -> None:
    expected = stack_config(stack).environment
    checked = 0
    for kind in WORKLOADS:
        for workload in recorded.of_type(kind):
            for container in workload.inputs["spec"]["template"]["spec"]["containers"]:
                env = {e["name"]: e for e in container.get("env", [])}
                if contract.ENV_DATABASE_URL not in env:
                    continue  # not a taskstream process (the topic-creation Job)
                checked += 1
                told = env.get(contract.ENV_ENVIRONMENT, {}).get("value")
                assert told == expected, (
                    f"{stack}/{workload.name}/{container['name']} runs with "
                    f"{contract.ENV_ENVIRONMENT}={told!r}, not {expected!r}"
                )
    assert checked > len(contract.PROCESSES), f"only {checked} taskstream containers found"
