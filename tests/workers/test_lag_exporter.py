"""The lag exporter's arithmetic and its gauges, without a broker (the event-path test has one)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from fastapi.testclient import TestClient

from app import contract
from workers.lag_exporter import (
    CONSUMER_LAG,
    KafkaSettings,
    LagExporter,
    Offsets,
    consumer_groups,
    create_app,
    lags,
)

GROUPS = {"workers": ("events",)}


def offsets(*, committed: Mapping[tuple[str, int], int], start: int = 0) -> Offsets:
    return Offsets(
        partitions={"events": (0, 1)},
        start={("events", 0): start, ("events", 1): start},
        end={("events", 0): 10, ("events", 1): 4},
        committed={"workers": committed},
    )


def test_lag_is_the_end_less_what_the_group_committed() -> None:
    found = lags(GROUPS, offsets(committed={("events", 0): 7, ("events", 1): 4}))
    assert [(f.partition, f.lag) for f in found] == [(0, 3), (1, 0)]


def test_a_partition_never_committed_counts_from_the_start_of_the_log() -> None:
    # The pub/sub Component starts a new group at the oldest offset still kept.
    found = lags(GROUPS, offsets(committed={("events", 0): 10}, start=2))
    assert [(f.partition, f.lag) for f in found] == [(0, 0), (1, 2)]


def test_a_commit_behind_the_retained_log_counts_only_what_is_left() -> None:
    found = lags(GROUPS, offsets(committed={("events", 0): 1, ("events", 1): 4}, start=5))
    assert [f.lag for f in found] == [5, 0]


def test_each_worker_is_a_group_reading_its_topics_and_their_dead_letters() -> None:
    groups = consumer_groups()
    assert set(groups) == {contract.NOTIFIER.app_id, contract.RECURRER.app_id}
    for process in (contract.NOTIFIER, contract.RECURRER):
        wanted = {t for s in process.subscriptions for t in (s.topic.name, s.topic.dead_letter)}
        assert set(groups[process.app_id]) == wanted


def test_a_failed_read_keeps_the_last_figures_and_turns_unready() -> None:
    answers: list[Offsets | Exception] = [
        offsets(committed={("events", 0): 4, ("events", 1): 4}),
        RuntimeError("broker gone"),
    ]
    resets: list[bool] = []

    def read(_: Mapping[str, tuple[str, ...]]) -> Offsets:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    exporter = LagExporter(
        read, groups=GROUPS, poll_seconds=0.01, reset=lambda: resets.append(True)
    )
    assert not exporter.ready()
    exporter.poll()
    assert CONSUMER_LAG.labels("workers", "events", "0")._value.get() == 6
    assert exporter.ready()
    exporter.poll()
    assert resets == [True], "the client is not dropped after a failure"
    assert CONSUMER_LAG.labels("workers", "events", "0")._value.get() == 6


def test_the_app_serves_the_gauge_and_is_unready_before_its_first_read() -> None:
    exporter = LagExporter(lambda _: offsets(committed={}), groups=GROUPS, poll_seconds=60)
    app = create_app(exporter)
    with TestClient(app) as client:
        assert client.get(contract.HEALTH_PATH).status_code == 200
        exporter.last_success = None
        assert client.get(contract.READY_PATH).status_code == 503
        exporter.poll()
        assert client.get(contract.READY_PATH).status_code == 200
        body = client.get(contract.METRICS_PATH).text
    assert (
        f'{contract.METRIC_CONSUMER_LAG}{{group="workers",partition="1",topic="events"}} 4.0'
        in body
    )


def test_settings_say_which_variables_are_missing() -> None:
    with pytest.raises(ValueError, match=contract.ENV_KAFKA_CA_CERT):
        KafkaSettings.from_environment(
            {
                contract.ENV_KAFKA_BROKERS: "b:9093",
                contract.ENV_KAFKA_USERNAME: "u",
                contract.ENV_KAFKA_PASSWORD: "p",
            }
        )


class _Watched(Mapping[str, str]):
    """An environment that notes every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def test_the_exporter_reads_no_settings_only_the_variables_its_process_names() -> None:
    named = set(contract.LAG_EXPORTER.variables)
    env = _Watched({name: "x" for name in named if name != contract.ENV_LAG_POLL_SECONDS})
    KafkaSettings.from_environment(env)
    assert env.asked, "nothing was read through the environment given"
    assert env.asked <= named, f"read, not in contract.LAG_EXPORTER.variables: {env.asked - named}"
    assert not contract.LAG_EXPORTER.reads_settings
