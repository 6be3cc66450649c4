"""Probes read from a container and run against a real listener within their budget."""

from __future__ import annotations

import time

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support.deployed.objects import ManifestError
from tests.support.deployed.probes import Probe, await_probe, probe_of
from tests.support.served import served

CONTAINER = {"name": "api", "ports": [{"name": "http", "containerPort": 8000}]}


def test_a_named_port_resolves_through_the_containers_ports_and_defaults_apply() -> None:
    probe = probe_of(
        "readinessProbe",
        {**CONTAINER, "readinessProbe": {"httpGet": {"path": "/r", "port": "http"}}},
    )

    assert probe == Probe("readinessProbe", "/r", 8000, 0.0, 10.0, 1.0, 3)
    assert probe is not None
    assert probe.budget == 30.0, "the budget is delay + period x threshold"


def test_a_port_name_the_container_does_not_declare_is_refused() -> None:
    spec = {"httpGet": {"path": "/healthz", "port": "web"}}

    with pytest.raises(ManifestError, match="'web'"):
        probe_of("livenessProbe", {**CONTAINER, "livenessProbe": spec})


def test_a_probe_passes_on_2xx_and_fails_once_its_budget_is_spent() -> None:
    app = Starlette(routes=[Route("/ok", lambda _: PlainTextResponse("ok"))])
    with served(app) as port:
        good = Probe("startupProbe", "/ok", port, 0, 1, 1, 5)
        took = await_probe(
            good, f"http://127.0.0.1:{port}/ok", started=time.monotonic(), alive=lambda: True
        )
        assert took < good.budget

        bad = Probe("startupProbe", "/missing", port, 0, 0.2, 1, 2)
        with pytest.raises(AssertionError, match="HTTP 404"):
            await_probe(
                bad,
                f"http://127.0.0.1:{port}/missing",
                started=time.monotonic(),
                alive=lambda: True,
            )
