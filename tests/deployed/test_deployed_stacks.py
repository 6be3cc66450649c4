"""The local and dev stacks deployed as rendered: every Job and Deployment of the image
started on this host as the kubelet would start it, daprd beside each Dapr pod, then the
same end-to-end checks as the embedded run.

Engines: PostgreSQL (set up as the managed service hands it over), Kafka, daprd. See
docs/deployed-tier.md for what this proves and what it cannot.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.db import MIGRATIONS_DIR
from tests.integration.conftest import failed
from tests.integration.conftest import pytest_runtest_makereport as pytest_runtest_makereport
from tests.support.accounts import ApiUser, register_user
from tests.support.deployed.database import ManagedDatabase, managed_database
from tests.support.deployed.objects import RenderedObjects
from tests.support.deployed.stack import DeployedStack, database_stand_ins, kafka_stand_ins
from tests.support.engines import require_daprd, require_engine
from tests.support.kafka import KafkaBroker
from tests.support.postgres import PostgresServer
from tests.support.scenarios import AFTER_COMPLETION_SERIES
from tests.support.waiting import wait_until

# Setting up a stack (engines, Jobs, every pod) counts against the first test of each.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def database(
    objects: RenderedObjects, postgres_server: PostgresServer | None
) -> Iterator[ManagedDatabase]:
    require_engine("postgresql", postgres_server is not None, "run tools/engines/postgres.sh")
    assert postgres_server is not None
    made = managed_database(postgres_server)
    yield made
    postgres_server.drop_database(made.name)


@pytest.fixture(scope="module")
def deployed(
    objects: RenderedObjects,
    database: ManagedDatabase,
    kafka: KafkaBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DeployedStack]:
    """The stack with its Jobs run to completion (the migration first of all)."""
    workdir: Path = tmp_path_factory.mktemp(f"deployed-{objects.stack}")
    stand_ins = {
        **database_stand_ins(app_url=database.app_url, admin_url=database.admin_url),
        **kafka_stand_ins(kafka),
    }
    stack = DeployedStack(objects, stand_ins=stand_ins, workdir=workdir)
    try:
        stack.job_seconds = stack.run_jobs()
        yield stack
    finally:
        stack.close()


@pytest.fixture(scope="module")
def running(deployed: DeployedStack, kafka: KafkaBroker) -> DeployedStack:
    """Every Deployment's pod up, each probe passed within its budget."""
    require_daprd()
    deployed.probe_seconds = deployed.start_deployments(kafka.bootstrap_servers)
    return deployed


@pytest.fixture(autouse=True)
def _print_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    stack = request.node.funcargs.get("running") or request.node.funcargs.get("deployed")
    if failed(request.node) and isinstance(stack, DeployedStack):
        print(f"\n===== pod logs ({stack.workdir}) =====\n{stack.log_tails()}")


def service_url(stack: DeployedStack, name: str) -> str:
    """The pod port the Service's named targetPort points at, as ingress would reach it."""
    service = stack.objects.get("Service", "taskstream", name)
    target = service["spec"]["ports"][0]["targetPort"]
    pod = stack.pod("Deployment", name)
    container = pod.workload.containers[0]
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    return pod.url(int(ports[target]) if target in ports else int(target))


@pytest.fixture(scope="module")
def api(running: DeployedStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service_url(running, "api"), timeout=30) as client:
        yield client


def get(api: httpx.Client, user: ApiUser, path: str, **params: Any) -> Any:
    response = api.get(path, headers=user.headers, params=params)
    assert response.status_code == 200, f"GET {path} failed: {response.text}"
    return response.json()


# -- the tests -------------------------------------------------------------------------


def test_the_jobs_exit_zero_and_leave_the_schema_at_head_for_a_role_that_owns_nothing(
    deployed: DeployedStack, database: ManagedDatabase, postgres_server: PostgresServer
) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    # As the server's superuser: the admin role, like doadmin, cannot read the app's tables.
    with psycopg.connect(postgres_server.dsn(database.name)) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()

    assert version == (head,), f"the migrate Job left the schema at {version}, not {head}"
    assert owner != (database.app_role,), "the app role must not own the database"
    assert "job/migrate" in deployed.job_seconds, f"no migrate Job ran: {deployed.job_seconds}"
    print(f"\n{deployed.objects.stack} jobs: {deployed.job_seconds}")


def test_every_probe_of_every_deployment_passes_within_its_budget(running: DeployedStack) -> None:
    probed = {key.rsplit(".", 1)[0] for key in running.probe_seconds}
    deployments = {
        f"{w}/{c['name']}"
        for w in running.workloads
        if w.kind == "Deployment"
        for c in w.containers
    }

    assert probed == deployments, f"containers without probes: {deployments - probed}"
    slowest = max(running.probe_seconds.items(), key=lambda item: item[1])
    print(f"\n{running.objects.stack}: slowest probe {slowest[0]} after {slowest[1]:.1f}s")


def test_a_reminder_due_in_a_few_seconds_reaches_the_inbox(api: httpx.Client) -> None:
    user = register_user(api)
    due = datetime.now(UTC) + timedelta(seconds=3)
    created = api.post(
        "/api/v1/tasks",
        headers=user.headers,
        json={"title": "Call back", "due_at": due.isoformat(), "reminders": ["PT0S"]},
    )
    assert created.status_code == 201, f"creating the task failed: {created.text}"

    inbox = wait_until(
        lambda: get(api, user, "/api/v1/notifications")["items"], timeout=60, what="the reminder"
    )

    assert [n["title"] for n in inbox] == ["Reminder: Call back"], f"unexpected inbox {inbox}"
    assert get(api, user, "/api/v1/notifications/unread-count") == {"unread": 1}


def test_completing_an_after_completion_occurrence_creates_the_next_one(
    api: httpx.Client,
) -> None:
    user = register_user(api)
    created = api.post(
        "/api/v1/recurring-tasks",
        headers=user.headers,
        json=AFTER_COMPLETION_SERIES,
    )
    assert created.status_code == 201, f"creating the series failed: {created.text}"
    series = created.json()["id"]
    [first] = get(api, user, "/api/v1/tasks", series_id=series)["items"]

    done = api.post(f"/api/v1/tasks/{first['id']}/complete", headers=user.headers)
    assert done.status_code == 200, f"completing failed: {done.text}"
    page = wait_until(
        lambda: (p := get(api, user, "/api/v1/tasks", series_id=series))["total"] == 2 and p,
        timeout=60,
        what="the recurrer to create the next occurrence",
    )

    [following] = [t for t in page["items"] if t["id"] != first["id"]]
    assert following["status"] == "todo", "the next occurrence should be open"


def test_an_event_posted_to_a_worker_route_without_its_sidecars_token_is_refused(
    running: DeployedStack,
) -> None:
    by_app_id = {
        pod.sidecar.app_id: pod for pod in running.pods.values() if pod.sidecar is not None
    }
    event = {"specversion": "1.0", "id": "forged", "source": "x", "type": "t", "data": {}}
    refused: dict[str, list[int]] = {}
    for subscription in running.objects.of_kind("Subscription"):
        route = subscription["spec"]["routes"]["default"]
        for app_id in subscription.get("scopes", []):
            pod = by_app_id[app_id]
            app_port = pod.sidecar.app_port if pod.sidecar else None
            url = f"http://127.0.0.1:{app_port}{route}"
            anonymous = httpx.post(url, json=event, timeout=10)
            forged = httpx.post(url, json=event, headers={"dapr-api-token": "guess"}, timeout=10)
            refused[f"{app_id}{route}"] = [anonymous.status_code, forged.status_code]

    assert refused, "the render has no subscriptions to forge events for"
    accepted = {where: codes for where, codes in refused.items() if codes != [401, 401]}
    assert not accepted, f"routes that did not answer 401 to a forged event: {accepted}"
