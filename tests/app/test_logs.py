"""Log lines: JSON with the request's ids for machines, text for a terminal, no secrets."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from app import logs
from app.logs import (
    REQUEST_ID_HEADER,
    JsonFormatter,
    LogContext,
    LogFormat,
    configure_logging,
    request_id_of,
    resolve_format,
    trace_id_of,
)
from tests.support.accounts import ApiUser

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@contextmanager
def logging_to(stream: io.StringIO, wanted: LogFormat) -> Iterator[io.StringIO]:
    """Every log line written inside, into `stream`; the root logger as it was afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("INFO", wanted, stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every log line written while the test runs, as the JSON a container would print."""
    with logging_to(io.StringIO(), "json") as out:
        yield out


def parsed(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    assert resolve_format("auto", Tty()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", Tty()) == "json"
    assert resolve_format("text", io.StringIO()) == "text"


def test_a_json_line_carries_the_context_and_the_exception() -> None:
    record = logging.LogRecord("app.x", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    logs.bind(LogContext(request_id="r-1", trace_id=TRACE, user_id="u-1", event_id="e-1"))
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        logs.bind(LogContext())

    assert line["message"] == "failed x"
    assert line["level"] == "ERROR"
    assert (line["request_id"], line["trace_id"], line["user_id"], line["event_id"]) == (
        "r-1",
        TRACE,
        "u-1",
        "e-1",
    )
    assert "RuntimeError: boom" in str(line["exception"])


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-42.a:b_c", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("two words", False),
        ("line\nbreak", False),
        ("ünïcode", False),
        ("", False),
        (None, False),
    ],
)
def test_a_callers_request_id_is_kept_only_when_short_and_plain(
    given: str | None, kept: bool
) -> None:
    chosen = request_id_of(given)

    assert (chosen == given) is kept
    assert len(chosen) <= 64
    assert chosen.isascii()


@pytest.mark.parametrize(
    ("traceparent", "trace_id"),
    [
        (TRACEPARENT, TRACE),
        (f"00-{'0' * 32}-00f067aa0ba902b7-01", None),  # all-zero trace ids are invalid
        (f"00-{TRACE.upper()}-00f067aa0ba902b7-01", None),
        (f"00-{TRACE}-00f067aa0ba902b7", None),
        ("garbage", None),
        ("0" * 10_000, None),
        (None, None),
    ],
)
def test_the_trace_id_comes_only_from_a_valid_traceparent(
    traceparent: str | None, trace_id: str | None
) -> None:
    assert trace_id_of(traceparent) == trace_id


def test_each_request_gets_an_id_in_its_answer_and_in_its_access_line(
    client: TestClient, alice: ApiUser, json_lines: io.StringIO
) -> None:
    listed = client.get(
        "/api/v1/tasks?q=my+secret+search",
        headers={**alice.headers, "traceparent": TRACEPARENT},
    )
    echoed = client.get(
        "/api/v1/tasks", headers={**alice.headers, REQUEST_ID_HEADER: "from-the-caller"}
    )
    hostile = client.get("/api/v1/tasks", headers={**alice.headers, REQUEST_ID_HEADER: "x" * 500})

    assert listed.status_code == 200
    assert len(listed.headers[REQUEST_ID_HEADER]) == 32
    assert echoed.headers[REQUEST_ID_HEADER] == "from-the-caller"
    assert hostile.headers[REQUEST_ID_HEADER] != "x" * 500
    access = [line for line in parsed(json_lines) if line["logger"] == "taskstream.access"]
    assert [line["request_id"] for line in access] == [
        listed.headers[REQUEST_ID_HEADER],
        "from-the-caller",
        hostile.headers[REQUEST_ID_HEADER],
    ]
    first = access[0]
    assert first["trace_id"] == TRACE
    assert first["user_id"] == str(alice.id), "the authenticated user is not in the line"
    assert first["http"] == {
        "method": "GET",
        "path": "/api/v1/tasks",
        "status": 200,
        "duration_ms": first["http"]["duration_ms"],  # type: ignore[index]
    }
    assert "secret search" not in json_lines.getvalue(), "a query string reached the logs"


def test_no_bearer_token_or_password_reaches_a_log_line(
    client: TestClient, json_lines: io.StringIO
) -> None:
    password = "correct horse battery staple"
    client.post("/api/v1/auth/register", json={"email": "log@example.com", "password": password})
    token = client.post(
        "/api/v1/auth/token", data={"username": "log@example.com", "password": password}
    ).json()["access_token"]
    client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    client.get("/api/v1/tasks", headers={"Authorization": "Bearer forged"})

    written = json_lines.getvalue()
    assert written, "nothing was logged"
    assert password not in written
    assert token not in written
    assert "forged" not in written


def test_probes_are_quiet_unless_they_fail(client: TestClient, json_lines: io.StringIO) -> None:
    client.get("/healthz")

    assert not [line for line in parsed(json_lines) if line["logger"] == "taskstream.access"]


def test_text_lines_name_the_request(client: TestClient) -> None:
    with logging_to(Tty(), "auto") as out:
        answer = client.get("/api/v1/tasks")

    line = out.getvalue().splitlines()[-1]
    assert not line.startswith("{"), "a terminal got JSON"
    assert "GET /api/v1/tasks 401" in line
    assert f"[request {answer.headers[REQUEST_ID_HEADER]}]" in line
