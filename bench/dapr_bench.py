"""The event path through real engines: four processes, each beside its own daprd, on Kafka.

Needs the engines `tools/engines/provision.sh` builds (daprd, Kafka, PostgreSQL). The
figures come from timestamps the database keeps, as in `bench.events_bench`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from app.contract import TOPICS
from app.db import make_engine
from bench.events_bench import PHASE_COLUMNS, measure_phases
from bench.harness import table
from tests.support.engines import daprd_path, java_path, kafka_libs
from tests.support.factories import make_user
from tests.support.kafka import KafkaBroker
from tests.support.postgres import start_server
from tools.dev.stack import EventPath


def run(count: int, rate: float) -> dict[str, Any]:
    if daprd_path() is None or kafka_libs() is None or java_path() is None:
        raise SystemExit("daprd or Kafka is not built: run `bash tools/engines/provision.sh`")
    pg = start_server()
    if pg is None:
        raise SystemExit("PostgreSQL binaries not found (tools/engines/postgres.sh)")
    try:
        url = pg.create_database(f"bench_{uuid.uuid4().hex[:8]}")
        with (
            tempfile.TemporaryDirectory(prefix="taskstream-bench-") as tmp,
            KafkaBroker() as broker,
        ):
            broker.create_topics(TOPICS)
            with EventPath(
                database_url=url,
                broker=broker,
                workdir=Path(tmp),
                # The product's defaults: commits wake the relay, polling is the fallback.
                extra_env={
                    "TASKSTREAM_LOG_LEVEL": "WARNING",
                    "TASKSTREAM_RELAY_POLL_SECONDS": "0.2",
                },
            ):
                engine = make_engine(url)
                figures = measure_phases(engine, make_user(engine), count, rate)
                engine.dispose()
    finally:
        pg.destroy()
    return {"event_path_dapr": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000, help="events per paced phase")
    parser.add_argument("--rate", type=float, default=100, help="steady rate, events/s")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = run(args.events, args.rate)
    rows = [{"phase": k, **v} for k, v in results["event_path_dapr"].items()]
    print(table(rows, PHASE_COLUMNS))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
