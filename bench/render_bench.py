"""How long `taskstream render` takes per stack, as a fresh process and warm in-process, and
whose imports a fresh render of prod spends its time on (docs/render.md, "How fast").

`uv run python -m bench.render_bench [--repeat N] [--json PATH]`
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.harness import REPO, TASKSTREAM, table
from bench.targets import Target, report

STACKS = ("dev", "prod")
# Issue 18, target 5: the offline render of prod from a fresh process.
TARGET_SECONDS = {"prod": 1.5}
TARGET_MODE = "cli, bytecode cached"
_SELF_REPORTED = re.compile(r"rendered \S+ in (\d+\.\d+) s")
_IMPORT_TIME = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")
# Who a fresh render's imports belong to, by top-level package (docs/render.md, "How fast").
IMPORT_GROUPS = {
    "pulumi_digitalocean": "SDK digitalocean",
    "pulumi_kubernetes": "SDK kubernetes",
    "pulumi_random": "SDK random, docker-build",
    "pulumi_docker_build": "SDK random, docker-build",
    **dict.fromkeys(
        ("pulumi", "grpc", "google", "opentelemetry", "dill", "semver", "parver"),
        "pulumi core (grpc, protobuf, otel)",
    ),
    **dict.fromkeys(
        ("typer", "pydantic", "pydantic_core", "annotated_types", "typing_inspection"),
        "command line (typer, pydantic)",
    ),
    **dict.fromkeys(("infra", "policy", "taskstream", "app"), "ours"),
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli_once(stack: str, out: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall time and CPU time of one fresh `taskstream render` process, and the runtime it
    printed; on a loaded machine the CPU time is the figure that does not depend on neighbours."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(
        [TASKSTREAM, "render", "--stack", stack, "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(
            f"render {stack} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    reported = _SELF_REPORTED.search(result.stdout)
    printed = float(reported.group(1)) if reported else float("nan")
    return wall, _children_cpu() - cpu, printed


def import_profile(stack: str, out: Path, env: dict[str, str]) -> list[dict[str, object]]:
    """One fresh render under `python -X importtime`: each import's own time, summed per
    group; the rest of the process is running the program and writing the files."""
    command = [sys.executable, "-X", "importtime", TASKSTREAM, "render", "--stack", stack]
    result = subprocess.run(
        [*command, "--out", str(out)], cwd=REPO, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"render {stack} failed ({result.returncode}):\n{result.stderr}")
    micros: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    for own, name in _IMPORT_TIME.findall(result.stderr):
        group = IMPORT_GROUPS.get(name.split(".")[0], "standard library, other")
        micros[group] += int(own)
        modules[group] += 1
    return [
        {"imports of": group, "modules": modules[group], "import_s": round(us / 1e6, 2)}
        for group, us in micros.most_common()
    ]


def _in_process(stack: str, out: Path, repeat: int) -> tuple[list[float], list[float]]:
    from infra.render.run import render

    render(stack, out, REPO)  # the first run pays for importing the SDKs
    walls, cpus = [], []
    for _ in range(repeat):
        cpu = time.process_time()
        walls.append(render(stack, out, REPO).seconds)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def _row(
    stack: str,
    mode: str,
    samples: list[float],
    cpu: list[float],
    printed: list[float] | None = None,
) -> dict[str, object]:
    row: dict[str, object] = {
        "stack": stack,
        "mode": mode,
        "runs": len(samples),
        "median_s": round(statistics.median(samples), 2),
        "min_s": round(min(samples), 2),
        "max_s": round(max(samples), 2),
        "cpu_s": round(statistics.median(cpu), 2),
    }
    if printed:
        row["printed_s"] = round(statistics.median(printed), 2)
    target = TARGET_SECONDS.get(stack)
    row["target_s"] = target if target is not None else ""
    return row


def measure(repeat: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="render-bench-") as scratch:
        base = Path(scratch)
        as_is = dict(os.environ)
        # With bytecode cached, as after `uv sync --compile-bytecode`: compiled once, here.
        cached = {**as_is, "PYTHONPYCACHEPREFIX": str(base / "pycache")}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        modes = [("cli, bytecode cached", cached)]
        if as_is.get("PYTHONDONTWRITEBYTECODE"):
            modes.insert(0, ("cli, no bytecode", as_is))
        _cli_once("dev", base / "warmup", cached)
        for stack in STACKS:
            for mode, env in modes:
                runs = [_cli_once(stack, base / stack, env) for _ in range(repeat)]
                walls, cpus, printed = (list(column) for column in zip(*runs, strict=True))
                rows.append(_row(stack, mode, walls, cpus, printed))
            walls, cpus = _in_process(stack, base / stack, repeat)
            rows.append(_row(stack, "in-process, warm", walls, cpus))
    return rows


def targets(rows: list[dict[str, object]]) -> list[Target]:
    """The wall-clock median of a fresh `taskstream render` per stack that has a target."""
    return [
        Target(
            f"render {row['stack']}, fresh process",
            float(str(row["median_s"])),
            TARGET_SECONDS[str(row["stack"])],
            "s",
        )
        for row in rows
        if row["mode"] == TARGET_MODE and row["stack"] in TARGET_SECONDS
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per stack and mode")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    rows = measure(args.repeat)
    columns = ["stack", "mode", "runs", "median_s", "min_s", "max_s", "cpu_s", "printed_s"]
    columns.append("target_s")
    print(f"render, {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}")
    print(table(rows, columns))
    with tempfile.TemporaryDirectory(prefix="render-bench-") as scratch:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(scratch) / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        import_profile("prod", Path(scratch) / "warmup", env)  # compiles the bytecode
        imports = import_profile("prod", Path(scratch) / "prod", env)
    print("\nprod, fresh process, own import time per group (`python -X importtime`):")
    print(table(imports, ["imports of", "modules", "import_s"]))
    met = report(targets(rows))
    figures = json.dumps(
        {
            "render": rows,
            "prod_imports": imports,
            "targets": met,
            "load_average": os.getloadavg(),
        },
        indent=2,
    )
    print(figures)
    if args.json:
        args.json.write_text(figures + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
