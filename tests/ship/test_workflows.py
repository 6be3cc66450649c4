"""The GitHub Actions workflows: actionlint-clean, least-privilege, pinned, shaped as promised."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
from ship_support import (
    REPO_ROOT,
    actionlint_path,
    all_steps,
    jobs,
    require_tool,
    steps_using,
    triggers,
    workflow,
    workflow_names,
)

PULUMI = "pulumi/actions"
STACKS = {"dev", "prod"}
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@([0-9a-f]{40}|v\d+)$")
# The only write grants any job may hold, and why.
ALLOWED_WRITES = {("preview.yml", "preview"): {"pull-requests"}}  # the PR comment


def pulumi_steps(name: str, command: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(job id, job, step) for every pulumi/actions step running the command."""
    return [
        (job_id, job, step)
        for job_id, job in jobs(name).items()
        for step in steps_using(job, PULUMI)
        if step.get("with", {}).get("command") == command
    ]


def image_builds(name: str) -> list[dict[str, Any]]:
    return [s for job in jobs(name).values() for s in steps_using(job, "docker/build-push-action")]


def test_the_expected_workflows_exist() -> None:
    names = set(workflow_names())
    expected = {"ci.yml", "preview.yml", "deploy.yml", "destroy.yml", "drift.yml"}
    assert expected <= names, f"missing {expected - names}"


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    actionlint = require_tool(
        "actionlint", actionlint_path(), "build it with `bash tools/engines/actionlint.sh`"
    )
    result = subprocess.run(
        [str(actionlint), "-no-color", "-oneline"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("name", workflow_names())
def test_a_workflow_grants_nothing_by_default_and_each_job_only_what_it_needs(name: str) -> None:
    top = workflow(name).get("permissions")
    assert top == {} or (isinstance(top, dict) and set(top.values()) <= {"read", "none"}), (
        f"{name}: top-level permissions {top!r} are not empty or read-only"
    )
    for job_id, job in jobs(name).items():
        grants = job.get("permissions")
        assert isinstance(grants, dict), f"{name}:{job_id} has no explicit permissions mapping"
        writes = {scope for scope, level in grants.items() if level == "write"}
        allowed = ALLOWED_WRITES.get((name, job_id), set())
        assert writes <= allowed, f"{name}:{job_id} may write {writes - allowed}"


def test_every_action_is_pinned_to_a_commit_or_a_major_version() -> None:
    for where, step in all_steps():
        uses = step.get("uses")
        if uses is None or str(uses).startswith("./"):
            continue
        assert PINNED.match(str(uses)), f"{where}: {uses} is not pinned to a SHA or vN"


def test_no_run_script_traces_commands_or_puts_a_secret_on_a_command_line() -> None:
    for where, step in all_steps():
        script = str(step.get("run", ""))
        assert not re.search(r"set\s+-\w*x", script), f"{where}: `set -x` would echo secrets"
        assert "secrets." not in script, f"{where}: a secret is expanded into a command line"


def test_ci_lints_type_checks_tests_and_builds_on_every_push_and_pull_request() -> None:
    assert {"push", "pull_request"} <= set(triggers("ci.yml"))
    scripts = " ".join(
        str(step.get("run", "")) for job in jobs("ci.yml").values() for step in job["steps"]
    )
    for command in ("ruff check", "ruff format --check", "mypy", "make test"):
        assert command in scripts, f"CI never runs {command!r}"
    builds = image_builds("ci.yml")
    assert builds, "CI does not build the image"
    assert builds[0]["with"]["push"] == "${{ env.PUSH == 'true' }}", builds[0]["with"]
    push = str(jobs("ci.yml")["image"]["env"]["PUSH"])
    assert "github.event_name == 'push'" in push, push
    assert "github.ref == 'refs/heads/main'" in push, f"image push is not limited to main: {push}"


def test_pull_requests_get_a_refreshed_policy_checked_preview_comment_for_dev() -> None:
    # prod is rendered offline instead (test_workflow_secrets.py says why it may not preview).
    assert "pull_request" in triggers("preview.yml")
    previews = pulumi_steps("preview.yml", "preview")
    assert previews, "preview.yml runs no pulumi preview"
    for job_id, job, step in previews:
        options = step["with"]
        assert options.get("comment-on-pr") is True, f"{job_id}: no PR comment"
        assert options.get("refresh") is True, f"{job_id}: preview without refresh"
        assert "policy" in str(options.get("policyPacks", "")).split(), f"{job_id}: no policy pack"
        assert job["env"]["STACK"] == "dev", f"{job_id}: previews {job['env']['STACK']}"
        assert "env.STACK" in str(options["stack-name"]), options["stack-name"]


def test_pull_requests_upload_the_offline_render_of_each_stack() -> None:
    render_jobs = [
        job
        for job in jobs("preview.yml").values()
        if any("taskstream render --stack" in str(s.get("run", "")) for s in job["steps"])
    ]
    assert render_jobs, "no job renders the platform"
    job = render_jobs[0]
    assert set(job["strategy"]["matrix"]["stack"]) == STACKS
    assert steps_using(job, "actions/upload-artifact"), "the render is not uploaded"


def test_main_deploys_dev_with_the_image_built_for_that_commit() -> None:
    on = triggers("deploy.yml")
    assert on["push"]["branches"] == ["main"], on
    builds = image_builds("deploy.yml")
    assert builds, "deploy builds no image"
    assert builds[0]["with"]["push"] is True
    assert "github.sha" in builds[0]["with"]["tags"], "the image is not tagged with the commit"
    ups = {job_id: step for job_id, _, step in pulumi_steps("deploy.yml", "up")}
    assert "dev" in ups, f"no dev update in {sorted(ups)}"
    config = str(ups["dev"]["with"].get("config-map", ""))
    assert "imageTag" in config, "dev is updated without setting imageTag"
    assert "needs.image.outputs.tag" in config or "github.sha" in config, config
    assert "push" in jobs("deploy.yml")["dev"]["if"]


def test_prod_deploys_only_by_hand_or_release_behind_the_production_environment() -> None:
    on = triggers("deploy.yml")
    assert {"workflow_dispatch", "release"} <= set(on), on
    prod = jobs("deploy.yml")["prod"]
    condition = prod["if"]
    assert "release" in condition, condition
    assert "workflow_dispatch" in condition, condition
    assert "'push'" not in condition, f"a push could deploy prod: {condition}"
    environment = prod["environment"]
    name = environment["name"] if isinstance(environment, dict) else environment
    assert name == "production", environment
    assert [s for s in steps_using(prod, PULUMI) if s["with"]["stack-name"].endswith("prod")]


@pytest.mark.parametrize(("name", "command"), [("deploy.yml", "up"), ("destroy.yml", "destroy")])
def test_updates_of_one_stack_queue_and_are_never_cancelled_midway(name: str, command: str) -> None:
    found = pulumi_steps(name, command)
    assert found, f"{name} has no pulumi {command}"
    for job_id, job, _ in found:
        concurrency = job.get("concurrency")
        assert isinstance(concurrency, dict), f"{name}:{job_id} has no concurrency group"
        assert str(concurrency["group"]).startswith("pulumi-"), concurrency
        assert concurrency.get("cancel-in-progress") is False, f"{name}:{job_id} may be cancelled"


def test_deploy_and_destroy_share_one_lock_per_stack() -> None:
    groups = {str(job["concurrency"]["group"]) for _, job, _ in pulumi_steps("deploy.yml", "up")}
    assert groups == {"pulumi-dev", "pulumi-prod"}, groups
    destroy_group = jobs("destroy.yml")["destroy"]["concurrency"]["group"]
    assert destroy_group == "pulumi-${{ inputs.stack }}", destroy_group


def test_destroy_is_manual_only_and_needs_a_typed_confirmation() -> None:
    on = triggers("destroy.yml")
    assert set(on) == {"workflow_dispatch"}, f"destroy runs on {set(on)}"
    inputs = on["workflow_dispatch"]["inputs"]
    assert set(inputs["stack"]["options"]) == STACKS
    assert inputs["confirm"]["required"] is True
    destroy = jobs("destroy.yml")["destroy"]
    assert destroy["needs"] == "confirm", "destroy does not wait for the confirmation check"
    assert "production" in str(destroy["environment"]), "prod destroy skips the environment"


def _confirmation_script() -> tuple[str, dict[str, str]]:
    step = jobs("destroy.yml")["confirm"]["steps"][0]
    return str(step["run"]), dict(step["env"])


@pytest.mark.parametrize(
    ("stack", "typed", "passes"),
    [
        ("dev", "dev", True),
        ("prod", "prod", True),
        ("prod", "dev", False),
        ("prod", "", False),
        ("dev", "dev ", False),
        ("prod", "PROD", False),
    ],
)
def test_the_confirmation_step_passes_only_when_it_equals_the_stack(
    stack: str, typed: str, passes: bool
) -> None:
    script, env = _confirmation_script()
    assert env == {"STACK": "${{ inputs.stack }}", "CONFIRMATION": "${{ inputs.confirm }}"}, env
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        env={"STACK": stack, "CONFIRMATION": typed, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode == 0) is passes, f"{stack=} {typed=}: {result.stdout}{result.stderr}"


def test_drift_is_a_scheduled_preview_that_expects_no_changes_on_every_stack() -> None:
    assert "schedule" in triggers("drift.yml")
    previews = pulumi_steps("drift.yml", "preview")
    assert previews, "drift.yml runs no preview"
    for job_id, job, step in previews:
        assert step["with"].get("expect-no-changes") is True, f"{job_id}: changes would pass"
        assert set(job["strategy"]["matrix"]["stack"]) == STACKS


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("drift.yml", "preview"),
        ("preview.yml", "preview"),
        ("deploy.yml", "up"),
        ("destroy.yml", "destroy"),
    ],
)
def test_every_refresh_runs_the_program_so_providers_use_todays_credentials(
    name: str, command: str
) -> None:
    # pulumi/actions has no run-program input; the CLI reads PULUMI_RUN_PROGRAM instead
    # (pulumi/pulumi sdk/go/common/env/env.go, RunProgram, v3.259.0). A refresh from the
    # provider configuration in state fails once the cluster token saved there expired.
    found = pulumi_steps(name, command)
    assert found, f"{name} has no pulumi {command}"
    for job_id, _, step in found:
        assert step["with"].get("refresh") is True, f"{name}:{job_id} does not refresh"
        assert step.get("env", {}).get("PULUMI_RUN_PROGRAM") == "true", (
            f"{name}:{job_id} refreshes from the provider configuration saved in state"
        )


def test_a_manual_deploy_can_roll_a_stack_back_to_an_existing_image_tag() -> None:
    inputs = triggers("deploy.yml")["workflow_dispatch"]["inputs"]
    assert inputs["image_tag"]["type"] == "string"
    assert inputs["image_tag"]["default"] == ""
    image = jobs("deploy.yml")["image"]
    assert image["env"]["REQUESTED_TAG"] == "${{ inputs.image_tag }}"
    assert image["outputs"]["tag"] == "${{ steps.tag.outputs.tag }}"
    (build,) = image_builds("deploy.yml")
    assert build.get("if") == "env.REQUESTED_TAG == ''", "a rollback would rebuild the commit"
    for job_id, _, step in pulumi_steps("deploy.yml", "up"):
        assert "needs.image.outputs.tag" in str(step["with"]["config-map"]), job_id


def _choose_tag(requested: str) -> subprocess.CompletedProcess[str]:
    step = next(s for s in jobs("deploy.yml")["image"]["steps"] if s.get("id") == "tag")
    assert step["env"] == {"COMMIT": "${{ github.sha }}"}, step["env"]
    return subprocess.run(
        ["bash", "-e", "-c", str(step["run"])],
        env={
            "REQUESTED_TAG": requested,
            "COMMIT": "0123abc",
            "GITHUB_OUTPUT": "/dev/stdout",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("requested", "tag"),
    [
        ("", "0123abc"),
        ("9f8e7d6", "9f8e7d6"),
        ("v1.4.2", "v1.4.2"),
        ("latest", None),
        ("a b", None),
        ("x;rm -rf /", None),
    ],
)
def test_the_deploy_tag_is_the_commit_or_a_pinned_requested_tag(
    requested: str, tag: str | None
) -> None:
    result = _choose_tag(requested)
    if tag is None:
        assert result.returncode != 0, f"{requested!r} was accepted: {result.stdout}"
    else:
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == f"tag={tag}"


def test_pulumi_runs_the_cli_version_pinned_with_the_engines() -> None:
    for name in workflow_names():
        for _, step in [(j, s) for j, job in jobs(name).items() for s in steps_using(job, PULUMI)]:
            version = str(step.get("with", {}).get("pulumi-version", ""))
            assert version == "${{ steps.setup.outputs.pulumi-version }}", f"{name}: {version}"


# What the suite's real-engine tests use: tests/support/engines.py, tests/support/pulumi.py
# and ship_support.actionlint_path().
ENGINES_THE_TESTS_USE = {"postgres", "kafka", "daprd", "pulumi", "actionlint"}


def test_ci_provisions_every_engine_from_releases_into_a_cache_before_the_tests() -> None:
    job = jobs("ci.yml")["test"]
    assert job["env"]["TASKSTREAM_REQUIRE_INTEGRATION"] == "1"
    assert job["env"]["TASKSTREAM_ENGINE_SOURCE"] == "release", "runners build from registries"
    steps = job["steps"]
    (cache,) = [
        i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("actions/cache@")
    ]
    options = steps[cache]["with"]
    assert options["path"] == "~/.cache/taskstream", options
    assert "hashFiles('tools/engines/versions.env', 'tools/engines/*.sh')" in options["key"]
    runs = [str(s.get("run", "")).strip() for s in steps]
    provision = runs.index("bash tools/engines/provision.sh")
    assert cache < provision < runs.index("make test"), "engines provisioned out of order"
    assert steps_using(job, "actions/setup-java"), "no Java for the Kafka broker"
    script = (REPO_ROOT / "tools" / "engines" / "provision.sh").read_text()
    default = re.search(r"engines=\(([a-z ]+)\)", script)
    assert default is not None, "provision.sh has no default engine list"
    assert set(default.group(1).split()) >= ENGINES_THE_TESTS_USE, default.group(1)
