"""Publishing through a real daprd on Kafka: today's HTTP calls against the Dapr Python SDK.

The SDK is not a dependency (issue 16 measured it and kept the HTTP calls); to time it
again: `uv run --with dapr==1.18.3 python -m bench.dapr_publish_bench`. Without it, the
SDK's ways are left out.

One daprd (the relay's app id, the cluster's resources) on a throwaway broker. Each way
publishes the same outbox-shaped events, keyed by task and carrying the outbox event id,
and is timed from the first call to the last acknowledgement (daprd answers once Kafka
acknowledged). The ways run interleaved, twice each, so machine load hits them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.contract import PUBSUB_NAME, RELAY, TASK_EVENTS, TOPICS
from app.events.publisher import DaprPublisher
from app.models.events import OutboxEvent
from bench.harness import table
from tests.support.daprd import Daprd
from tests.support.engines import daprd_path, java_path, kafka_libs
from tests.support.kafka import KafkaBroker
from tools.dev.dapr_resources import write_resources

BATCH = 100  # the relay's bulk publishes are one claimed batch per topic


def _rows(count: int) -> list[OutboxEvent]:
    owner = uuid.uuid4()
    return [
        OutboxEvent(
            id=i + 1,
            topic=TASK_EVENTS.name,
            event_type="task.created",
            aggregate_id=uuid.uuid4(),
            owner_id=owner,
            payload={"event_type": "task.created", "n": i, "title": f"task {i}" * 4},
        )
        for i in range(count)
    ]


def _metadata(row: OutboxEvent) -> dict[str, str]:
    return {
        "partitionKey": str(row.aggregate_id),
        "cloudevent.id": str(row.event_id),
        "cloudevent.type": row.event_type,
        "cloudevent.source": "taskstream",
    }


def _chunks(rows: Sequence[OutboxEvent]) -> list[Sequence[OutboxEvent]]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def _http_single(sidecar: Daprd) -> Callable[[Sequence[OutboxEvent]], None]:
    publisher = DaprPublisher(sidecar.http_url, PUBSUB_NAME)

    def run(rows: Sequence[OutboxEvent]) -> None:
        for row in rows:
            publisher.publish(row)

    return run


def _http_bulk(sidecar: Daprd) -> Callable[[Sequence[OutboxEvent]], None]:
    publisher = DaprPublisher(sidecar.http_url, PUBSUB_NAME)

    def run(rows: Sequence[OutboxEvent]) -> None:
        for chunk in _chunks(rows):
            assert publisher.publish_batch(chunk) == {}, "a bulk publish failed"

    return run


def _sdk_client(sidecar: Daprd) -> Any:
    # The client waits for the sidecar through its HTTP endpoint, read from the environment
    # when the SDK is first imported (dapr.conf), whatever gRPC address it is given.
    os.environ["DAPR_HTTP_ENDPOINT"] = sidecar.http_url
    os.environ["DAPR_GRPC_ENDPOINT"] = sidecar.grpc_address
    from dapr.clients import DaprClient

    return DaprClient(address=sidecar.grpc_address)


def _sdk_single(sidecar: Daprd) -> Callable[[Sequence[OutboxEvent]], None]:
    client = _sdk_client(sidecar)

    def run(rows: Sequence[OutboxEvent]) -> None:
        for row in rows:
            client.publish_event(
                PUBSUB_NAME,
                row.topic,
                json.dumps(row.payload),
                publish_metadata=_metadata(row),
                data_content_type="application/json",
            )

    return run


def _sdk_bulk(sidecar: Daprd) -> Callable[[Sequence[OutboxEvent]], None]:
    """`DaprClient.publish_events`: one metadata for the whole request, random entry ids.

    It cannot key each event by its task or give it the outbox event id, so the relay
    could not use it; it is timed anyway, to know what that costs or saves.
    """
    client = _sdk_client(sidecar)

    def run(rows: Sequence[OutboxEvent]) -> None:
        for chunk in _chunks(rows):
            answer = client.publish_events(
                PUBSUB_NAME,
                TASK_EVENTS.name,
                [json.dumps(row.payload) for row in chunk],
                data_content_type="application/json",
            )
            assert not answer.failed_entries, "a bulk publish failed"

    return run


WAYS = {
    "http single (POST /v1.0/publish)": _http_single,
    "http bulk (POST /v1.0/publish/bulk, today's relay)": _http_bulk,
    "sdk single (DaprClient.publish_event, gRPC)": _sdk_single,
    "sdk bulk (DaprClient.publish_events, gRPC)": _sdk_bulk,
}


def _sdk_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("dapr") is not None


def run(count: int, rounds: int) -> list[dict[str, Any]]:
    if daprd_path() is None or kafka_libs() is None or java_path() is None:
        raise SystemExit("daprd or Kafka is not built: run `bash tools/engines/provision.sh`")
    chosen = {k: v for k, v in WAYS.items() if _sdk_installed() or not k.startswith("sdk")}
    timings: dict[str, list[float]] = {name: [] for name in chosen}
    with tempfile.TemporaryDirectory(prefix="taskstream-publish-") as tmp, KafkaBroker() as broker:
        broker.create_topics(TOPICS)
        resources = write_resources(Path(tmp), brokers=broker.bootstrap_servers)
        with Daprd(
            RELAY.app_id,
            app_port=None,
            resources_dir=resources.resources_dir,
            config=resources.config_path,
            env=broker.dapr_env(RELAY.app_id),
        ) as sidecar:
            ways = {name: make(sidecar) for name, make in chosen.items()}
            for run_way in ways.values():  # warm up: connections, producer, topic metadata
                run_way(_rows(BATCH))
            for _ in range(rounds):
                for name, run_way in ways.items():
                    rows = _rows(count)
                    started = time.perf_counter()
                    run_way(rows)
                    timings[name].append(time.perf_counter() - started)
    return [
        {
            "way": name,
            "events": count,
            "best_per_s": round(count / min(seconds), 1),
            "median_per_s": round(count / sorted(seconds)[len(seconds) // 2], 1),
        }
        for name, seconds in timings.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000, help="events per way and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = run(args.events, args.rounds)
    print(table(rows, ["way", "events", "best_per_s", "median_per_s"]))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
