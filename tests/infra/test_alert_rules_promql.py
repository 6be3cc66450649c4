"""The lag and outbox alert expressions, evaluated by Prometheus's own PromQL engine.

tools/engines/promqlcheck.sh builds a test binary around github.com/prometheus/prometheus
promql/promqltest (v0.316.0, through the Go module proxy) into the engine cache; this file
writes a promqltest script from infra/alert_rules.py and runs it. promtool itself was not
built: its discovery plugins make it far heavier for this shared machine, and promqltest
evaluates the same expressions with the same engine (the `for:` durations are plain data).

It found a real defect on its first run: the falling-behind alert ranged over a sum (an
expression, not a selector), which Prometheus refuses to load; it is a subquery now.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from app import contract
from infra import alert_rules
from tests.support.engines import cache_root, require_engine

NS = 'namespace="taskstream"'
LAG = contract.METRIC_CONSUMER_LAG
FAILURES = contract.METRIC_CONSUMER_LAG_READ_FAILURES
OUTBOX = contract.METRIC_OUTBOX_OLDEST_PENDING


def _binary() -> Path:
    path = Path(
        os.environ.get("TASKSTREAM_PROMQLCHECK")
        or cache_root() / "promqlcheck" / "v0.316.0" / "promqlcheck.test"
    )
    require_engine(
        "promqlcheck", path.is_file(), f"run tools/engines/promqlcheck.sh (needs go; {path})"
    )
    return path


def _run(script: str, tmp_path: Path) -> None:
    file = tmp_path / "rules.test"
    file.write_text(script, encoding="utf-8")
    result = subprocess.run(
        [str(_binary()), "-test.run", "TestScript", "-test.v"],
        env={**os.environ, "PROMQL_SCRIPT": str(file)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{script}\n{result.stdout[-3000:]}{result.stderr[-2000:]}"


def _series(group: str, partition: int, pod: str, values: str) -> str:
    labels = f'{NS},group="{group}",topic="t",partition="{partition}",pod="{pod}"'
    return f"  {LAG}{{{labels}}} {values}"


def test_falling_behind_fires_only_for_a_backlog_that_is_not_shrinking(tmp_path: Path) -> None:
    expr = alert_rules.consumer_lag_expressions("taskstream")["TaskstreamConsumerFallingBehind"]
    over = alert_rules.LAG_THRESHOLD + 200
    half = over // 2
    load = [
        # Steady above the threshold, reported by two exporter pods: fires once, not twice.
        _series("steady", 0, "a", f"{over}+0x30"),
        _series("steady", 0, "b", f"{over}+0x30"),
        # Growing: fires.
        _series("growing", 0, "a", f"{over}+10x30"),
        # Two partitions, each under the threshold, together over it: fires.
        _series("split", 0, "a", f"{half}+0x30"),
        _series("split", 1, "a", f"{half}+0x30"),
        # Above the threshold but being worked off: quiet.
        _series("draining", 0, "a", f"{3 * over}-40x30"),
        # One partition under the threshold that two pods report: must not add up to over it.
        _series("duplicated", 0, "a", f"{half}+0x30"),
        _series("duplicated", 0, "b", f"{half}+0x30"),
        # Another namespace: not ours.
        f'  {LAG}{{namespace="other",group="steady",topic="t",partition="0",pod="a"}} 9000+0x30',
    ]
    script = "\n".join(
        [
            "load 1m",
            *load,
            "",
            f"eval instant at 30m {expr}",
            f'  {{group="steady", topic="t"}} {over}',
            f'  {{group="growing", topic="t"}} {over + 300}',
            f'  {{group="split", topic="t"}} {2 * half}',
            "",
        ]
    )
    _run(script, tmp_path)


def test_lag_unknown_fires_when_the_series_vanish_or_reads_keep_failing(tmp_path: Path) -> None:
    expr = alert_rules.consumer_lag_expressions("taskstream")["TaskstreamConsumerLagUnknown"]
    healthy = f'  {FAILURES}{{{NS},pod="a"}} 3+0x30'
    failing = f'  {FAILURES}{{{NS},pod="a"}} 0+1x30'
    lag = _series("g", 0, "a", "5+0x30")
    script = "\n".join(
        [
            "load 1m",
            lag,
            healthy,
            "",
            f"eval instant at 30m {expr}",
            "",
            "clear",
            "load 1m",
            lag,
            failing,
            "",
            f"eval instant at 30m {expr}",
            f"  {{}} {1 / 60}",
            "",
            "clear",
            "load 1m",
            healthy,
            "",
            f"eval instant at 30m {expr}",
            f"  {{{NS}}} 1",
            "",
        ]
    )
    _run(script, tmp_path)


def test_the_outbox_alert_reads_the_relays_gauge(tmp_path: Path) -> None:
    expr = alert_rules.outbox_expressions("taskstream")["TaskstreamOutboxLagging"]
    script = "\n".join(
        [
            "load 1m",
            f'  {OUTBOX}{{{NS},pod="relay-a"}} 0+0x10',
            f'  {OUTBOX}{{{NS},pod="relay-b"}} 0+15x10',
            "",
            f"eval instant at 10m {expr}",
            "  {} 150",
            "",
            f"eval instant at 3m {expr}",
            "",
        ]
    )
    _run(script, tmp_path)


def test_outbox_unknown_fires_when_no_relay_reports_and_not_while_one_does(
    tmp_path: Path,
) -> None:
    expr = alert_rules.outbox_expressions("taskstream")["TaskstreamOutboxUnknown"]
    script = "\n".join(
        [
            "load 1m",
            # A relay reporting an empty outbox: quiet.
            f'  {OUTBOX}{{{NS},pod="relay-a"}} 0+0x10',
            "",
            f"eval instant at 10m {expr}",
            "",
            "clear",
            "load 1m",
            # Only another namespace's relay, and our relay gone after 3 minutes (a
            # series is stale 5 minutes after its last sample): fires, once.
            f'  {OUTBOX}{{namespace="other",pod="relay-a"}} 0+0x20',
            f'  {OUTBOX}{{{NS},pod="relay-a"}} 0+0x3',
            "",
            f"eval instant at 5m {expr}",
            "",
            f"eval instant at 20m {expr}",
            f"  {{{NS}}} 1",
            "",
        ]
    )
    _run(script, tmp_path)
