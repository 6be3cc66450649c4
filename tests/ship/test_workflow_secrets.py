"""No job that runs pull-request code can reach prod's credentials.

A pull request's jobs run its own infra/, policy/ and lock file, so whatever secrets they
receive, the pull request's author can read. prod's credentials (the state passphrase,
the backend keys, a DigitalOcean token that can change prod) therefore live only in the
`production` environment (required reviewers) and `production-drift` (deployment branch
policy: main only); docs/ci.md sets both up. This test checks the workflow side: which
jobs name those environments, which stacks pull-request jobs touch, and that every job
reading a stack credential names the environment that holds it (a repository-level
secret would be readable by any branch).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from ship_support import jobs, triggers, workflow_names

PROD_ENVIRONMENTS = {"production", "production-drift"}
PR_EVENTS = {"pull_request", "pull_request_target"}
SECRET = re.compile(r"secrets\.([A-Za-z0-9_]+)")
# Checking out the pull request's head from another event runs its code just the same.
PR_CHECKOUT = re.compile(r"github\.event\.pull_request\.head\.|github\.head_ref")
# Steps that may read a repository-level secret: the registry push login.
REGISTRY_LOGIN = "docker/login-action"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def environments_of(job: dict[str, Any]) -> set[str]:
    """Every environment name the job's `environment` can evaluate to (quoted literals)."""
    environment = job.get("environment")
    name = environment.get("name") if isinstance(environment, dict) else environment
    if name is None:
        return set()
    text = str(name)
    if "${{" not in text:
        return {text}
    return set(re.findall(r"'([^']*)'", text))


def secrets_read(job: dict[str, Any], *, outside_registry_login: bool = False) -> set[str]:
    steps = job.get("steps", [])
    if outside_registry_login:
        steps = [s for s in steps if str(s.get("uses", "")).split("@")[0] != REGISTRY_LOGIN]
    rest = {key: value for key, value in job.items() if key != "steps"}
    return {name for text in _strings([rest, steps]) for name in SECRET.findall(text)}


def stacks_addressed(job: dict[str, Any]) -> set[str]:
    """Stack names the job can run against: matrix values, STACK env, literal stack-names."""
    stacks = set(map(str, job.get("strategy", {}).get("matrix", {}).get("stack", [])))
    if "STACK" in job.get("env", {}):
        stacks.add(str(job["env"]["STACK"]))
    for step in job.get("steps", []):
        stack_name = str(step.get("with", {}).get("stack-name", ""))
        literal = re.sub(r"\$\{\{[^}]*\}\}", "", stack_name)
        if literal:
            stacks.add(literal)
    return stacks


def runs_pull_request_code(workflow: str, job: dict[str, Any]) -> bool:
    return bool(PR_EVENTS & set(triggers(workflow))) or any(
        PR_CHECKOUT.search(text) for text in _strings(job.get("steps", []))
    )


def prod_secret_names() -> set[str]:
    """The secret names prod's own jobs read: what a pull-request job must not see."""
    names = {
        name
        for workflow in workflow_names()
        for job in jobs(workflow).values()
        if environments_of(job) & PROD_ENVIRONMENTS
        for name in secrets_read(job, outside_registry_login=True)
    }
    return names - {"GITHUB_TOKEN"}


def violations(
    workflow: str, job_id: str, job: dict[str, Any], prod_secrets: set[str]
) -> list[str]:
    """What is wrong with one job; empty when it is fine."""
    where = f"{workflow}:{job_id}"
    found = []
    credentials = secrets_read(job, outside_registry_login=True) & prod_secrets
    if credentials and not environments_of(job):
        found.append(f"{where} reads {sorted(credentials)} from repository secrets")
    if runs_pull_request_code(workflow, job):
        if environments_of(job) & PROD_ENVIRONMENTS:
            found.append(f"{where} runs pull-request code in {environments_of(job)}")
        if "prod" in stacks_addressed(job) and secrets_read(job):
            found.append(f"{where} runs pull-request code against prod with secrets")
    return found


def test_prod_has_credentials_to_protect_and_the_production_environment_guards_deploys() -> None:
    # Non-vacuity: the names come from the prod jobs; an empty set would check nothing.
    assert {"PULUMI_CONFIG_PASSPHRASE", "DIGITALOCEAN_TOKEN"} <= prod_secret_names()
    assert environments_of(jobs("deploy.yml")["prod"]) == {"production"}


@pytest.mark.parametrize("workflow", workflow_names())
def test_no_pull_request_job_reaches_a_prod_secret_or_environment(workflow: str) -> None:
    prod_secrets = prod_secret_names()
    found = [
        problem
        for job_id, job in jobs(workflow).items()
        for problem in violations(workflow, job_id, job, prod_secrets)
    ]
    assert not found, "\n".join(found)


def test_pull_request_previews_still_skip_forks() -> None:
    preview = jobs("preview.yml")["preview"]
    assert preview["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        # The preview job as it was: prod in a PR's matrix with repository secrets.
        (
            {
                "strategy": {"matrix": {"stack": ["dev", "prod"]}},
                "steps": [{"uses": "pulumi/actions@v7", "env": {"P": "${{ secrets.PASS }}"}}],
            },
            2,
        ),
        # A PR job that asks for prod's environment (reviewers or not).
        ({"environment": "${{ 'production-drift' }}", "steps": []}, 1),
        ({"environment": {"name": "dev"}, "env": {"STACK": "dev"}, "steps": []}, 0),
    ],
)
def test_the_checker_flags_the_shapes_it_exists_for(job: dict[str, Any], expected: int) -> None:
    assert len(violations("preview.yml", "x", job, {"PASS"})) == expected
