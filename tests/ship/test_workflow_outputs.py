"""Every output a workflow reads is written by something: a step, an action, the program.

`steps.<id>.outputs.<name>` must name a step of the same job that sets `name`; a job's
`needs.<job>.outputs.<name>` must be declared by that job; and a stack output read
through `pulumi/actions` (whose step outputs are the stack's outputs) or
`pulumi stack output` must be exported by the program for every stack the workflows run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from ship_support import REPO_ROOT, jobs, workflow_names

from infra.image_context import context_tag
from tests.infra.stacks import ROOT, recording, stack_config

STEP_OUTPUT = re.compile(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")
NEEDS_OUTPUT = re.compile(r"needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")
STACK_OUTPUT_CLI = re.compile(r"pulumi\s+stack\s+output\s+(?:--\S+\s+)*([A-Za-z_][\w-]*)")
# `echo "name=value" >> "$GITHUB_OUTPUT"` and friends: the names a run script sets.
RUN_OUTPUT = re.compile(
    r"""^\s*(?:echo|printf)\s+['"]?(?:%s\\n['"]\s+['"]?)?([A-Za-z0-9_-]+)=""", re.M
)
PULUMI = "pulumi/actions"
# Declared outputs of third-party actions read by the workflows (from their action.yml).
ACTION_OUTPUTS = {PULUMI: {"output"}}
DEPLOYED_STACKS = ("dev", "prod")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _action(step: dict[str, Any]) -> str:
    return str(step.get("uses", "")).split("@", 1)[0]


def _local_action_outputs(uses: str) -> set[str]:
    path = REPO_ROOT / uses.removeprefix("./") / "action.yml"
    return set(yaml.safe_load(path.read_text()).get("outputs", {}))


def _run_outputs(script: str) -> set[str]:
    return {name for name in RUN_OUTPUT.findall(script)} if "GITHUB_OUTPUT" in script else set()


def step_output_references() -> list[tuple[str, str, str, str]]:
    """(workflow, job, step id, output name) for every steps.*.outputs.* read."""
    found = []
    for name in workflow_names():
        for job_id, job in jobs(name).items():
            for text in _strings(job):
                for step_id, output in STEP_OUTPUT.findall(text):
                    found.append((name, job_id, step_id, output))
    return sorted(set(found))


def stack_output_names() -> set[str]:
    """Stack outputs the workflows read, through pulumi/actions or `pulumi stack output`."""
    names: set[str] = set()
    for name in workflow_names():
        for job in jobs(name).values():
            pulumi_ids = {
                s["id"] for s in job.get("steps", []) if _action(s) == PULUMI and "id" in s
            }
            for text in _strings(job):
                names |= {
                    out
                    for step_id, out in STEP_OUTPUT.findall(text)
                    if step_id in pulumi_ids and out not in ACTION_OUTPUTS[PULUMI]
                }
                names |= set(STACK_OUTPUT_CLI.findall(text))
    return names


def test_the_scanner_sees_the_outputs_the_workflows_read() -> None:
    # Guards the regexes: these reads exist today; an empty scan would pass everything.
    references = step_output_references()
    assert ("drift.yml", "drift", "deployed", "imageTag") in references, references
    assert ("deploy.yml", "image", "tag", "tag") in references, references
    assert "imageTag" in stack_output_names()


def test_the_run_output_parser_reads_github_output_lines() -> None:
    script = 'echo "tag=$x" >> "$GITHUB_OUTPUT"\nprintf \'%s\\n\' "other=1" >> "$GITHUB_OUTPUT"'
    assert _run_outputs(script) == {"tag", "other"}
    assert _run_outputs('echo "tag=$x"') == set(), "a line not sent to GITHUB_OUTPUT counts"


@pytest.mark.parametrize(
    ("workflow", "job_id", "step_id", "output"),
    step_output_references(),
    ids=lambda value: str(value),
)
def test_each_step_output_read_is_set_by_that_step(
    workflow: str, job_id: str, step_id: str, output: str
) -> None:
    steps = {s["id"]: s for s in jobs(workflow)[job_id].get("steps", []) if "id" in s}
    assert step_id in steps, f"{workflow}:{job_id} reads steps.{step_id} but no step has that id"
    step = steps[step_id]
    uses = str(step.get("uses", ""))
    if "run" in step:
        provided = _run_outputs(str(step["run"]))
    elif uses.startswith("./"):
        provided = _local_action_outputs(uses)
    elif _action(step) == PULUMI:
        # Every stack output becomes a step output; the program test below checks those.
        provided = ACTION_OUTPUTS[PULUMI] | stack_output_names()
    else:
        provided = ACTION_OUTPUTS.get(_action(step), set())
    assert output in provided, (
        f"{workflow}:{job_id} reads steps.{step_id}.outputs.{output}, which {uses or 'its run'} "
        f"never sets (it sets {sorted(provided)})"
    )


@pytest.mark.parametrize("workflow", workflow_names())
def test_each_needs_output_read_is_declared_by_that_job(workflow: str) -> None:
    all_jobs = jobs(workflow)
    for job_id, job in all_jobs.items():
        for text in _strings(job):
            for needed, output in NEEDS_OUTPUT.findall(text):
                assert needed in all_jobs, f"{workflow}:{job_id} reads unknown job {needed}"
                declared = all_jobs[needed].get("outputs", {})
                assert output in declared, f"{workflow}:{job_id}: {needed} has no output {output}"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_every_stack_output_the_workflows_read_is_exported_by_the_program(stack: str) -> None:
    exported = set(recording(stack).outputs)
    missing = stack_output_names() - exported
    assert not missing, (
        f"the workflows read stack outputs {sorted(missing)} that the {stack} program does not "
        f"export (it exports {sorted(exported)}): every preview would see a false change"
    )


def test_the_exported_image_tag_is_the_one_the_workloads_run() -> None:
    for stack in DEPLOYED_STACKS:
        rec = recording(stack)
        assert rec.outputs["imageTag"] == _deployed_tag(stack), rec.outputs["imageTag"]


def _deployed_tag(stack: str) -> str:
    """The pinned tag, or for a stack that builds (imageTag: build) this checkout's content tag."""
    image = stack_config(stack).image
    return context_tag(ROOT) if image.build else str(image.tag)
