"""Run the real event path in the foreground: PostgreSQL, Kafka, and the four processes with daprd.

    uv run python tools/dev/event_path.py [--port 8000] [--database-url URL] [--keep]

Needs the engines in the per-machine cache (tools/engines/kafka.sh, daprd.sh, postgres.sh).
Prints the API URL once everything is up; Ctrl-C stops everything and removes the temp dir.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as a script: make `app`, `tests` and `tools` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.contract import TOPICS
from tests.support.engines import daprd_path, java_path, kafka_libs, postgres_bindir
from tests.support.kafka import KafkaBroker
from tests.support.postgres import start_server
from tools.dev.stack import EventPath

DATABASE_NAME = "taskstream"


def missing_engines(need_postgres: bool) -> list[str]:
    missing = []
    if java_path() is None:
        missing.append("java 17+ (for Kafka): apt-get install openjdk-17-jre-headless")
    if kafka_libs() is None:
        missing.append("Kafka: bash tools/engines/kafka.sh")
    if daprd_path() is None:
        missing.append("daprd: bash tools/engines/daprd.sh (~15-20 min the first time)")
    if need_postgres and postgres_bindir() is None:
        missing.append("PostgreSQL: bash tools/engines/postgres.sh (or pass --database-url)")
    return missing


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def watch(path: EventPath) -> str:
    """Block until Ctrl-C or until a process dies; returns why."""
    try:
        while True:
            for service in path.services.values():
                if not service.app.running:
                    return f"{service.name} exited:\n{service.app.log_tail(20)}"
                if not service.sidecar.running:
                    return f"{service.name}'s daprd exited:\n{service.sidecar.log_tail(20)}"
            time.sleep(1)
    except KeyboardInterrupt:
        return "interrupted"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="API port on 127.0.0.1")
    parser.add_argument("--database-url", help="use this (empty or migrated) database instead")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs) on exit")
    args = parser.parse_args(argv)

    missing = missing_engines(need_postgres=args.database_url is None)
    if missing:
        print("missing engines:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="taskstream-event-path-"))
    reason = "start-up failed"
    try:
        with ExitStack() as stack:
            print("starting PostgreSQL, Kafka, then api, relay, notifier, recurrer with daprd...")
            database_url = args.database_url
            if database_url is None:
                server = start_server()
                assert server is not None
                stack.callback(server.destroy)
                database_url = server.create_database(DATABASE_NAME)
            broker = stack.enter_context(KafkaBroker())
            broker.create_topics(TOPICS)
            path = stack.enter_context(
                EventPath(
                    database_url=database_url,
                    broker=broker,
                    workdir=workdir,
                    environment="dev",
                    api_port=args.port,
                )
            )
            print(f"API        {path.api_url}  (OpenAPI docs: {path.api_url}/docs)")
            for service in path.services.values():
                print(f"{service.name:<10} {service.url}  daprd {service.sidecar.http_url}")
            print(f"database   {database_url}")
            print(f"kafka      {broker.bootstrap_servers}")
            print(f"logs       {path.logs}")
            print("Ctrl-C stops everything.")
            reason = watch(path)
            print(f"stopping ({reason.splitlines()[0]})...")
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if reason != "interrupted":
        print(reason, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
