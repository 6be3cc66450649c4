"""Run every benchmark and print one report: `uv run python -m bench [--quick]`."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import targets


def _machine() -> dict[str, object]:
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def _event_engines_built() -> bool:
    from tests.support.engines import daprd_path, java_path, kafka_libs

    return None not in (daprd_path(), kafka_libs(), java_path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller volumes")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = _machine()
    print(f"machine: {json.dumps(started)}\n")
    # Each benchmark appends its target lines here (bench/targets.py); printed at the end.
    target_lines = args.out / "targets.jsonl"
    target_lines.unlink(missing_ok=True)
    os.environ[targets.ENV] = str(target_lines.resolve())
    quick = ["--quick"] if args.quick else []
    runs = [
        (
            "api",
            [
                "bench.api_bench",
                "--requests",
                "150" if args.quick else "400",
                "--tasks",
                "2000" if args.quick else "10000",
            ],
        ),
        ("embedded", ["bench.embedded_bench", *quick]),
        (
            "events",
            ["bench.events_bench", "--backend", "postgres", *quick],
        ),
        (
            "login-flood",
            [
                "bench.login_flood_bench",
                "--backend",
                "postgres",
                "--requests",
                "150" if args.quick else "300",
            ],
        ),
        (
            "latency",
            [
                "bench.latency_bench",
                "--tasks",
                "50000" if args.quick else "1000000",
                "--seconds",
                "10" if args.quick else "20",
            ],
        ),
        ("slow-webhook", ["bench.slow_webhook_bench", "--backend", "postgres", *quick]),
        ("heavy-rule", ["bench.heavy_rule_bench", "--backend", "postgres", *quick]),
    ]
    if _event_engines_built():
        rate = ["--events", "300" if args.quick else "1000", "--rate", "100"]
        runs.append(("events-dapr", ["bench.dapr_bench", *rate]))
    else:
        print("events-dapr skipped: daprd and Kafka are not built (tools/engines/provision.sh)\n")
    if importlib.util.find_spec("bench.render_bench") is not None:
        runs.append(("render", ["bench.render_bench"]))
    failed = []
    # The load each benchmark started under and how long it ran: what the README notes.
    timeline: list[dict[str, object]] = []
    for name, module in runs:
        print(f"== {name} ==", flush=True)
        load, began = os.getloadavg(), time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", *module, "--json", str(args.out / f"{name}.json")], check=False
        )
        if result.returncode:
            failed.append(name)
        timeline.append(
            {
                "name": name,
                "load_average_before": [round(x, 2) for x in load],
                "seconds": round(time.monotonic() - began, 1),
                "exit": result.returncode,
            }
        )
        print()
    machine = {"start": started, "end": _machine(), "runs": timeline}
    (args.out / "machine.json").write_text(json.dumps(machine, indent=2))
    print(f"figures written to {args.out}/\n")
    targets.print_summary(target_lines)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
