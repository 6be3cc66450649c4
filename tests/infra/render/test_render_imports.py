"""`taskstream render` starts without the service's heavy modules: the render pays only for
the Pulumi SDKs it runs (issue 18, target 5: a fresh render of prod in 1.5 s)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

from infra import lean_sdk
from tests.infra.render.rendered import ROOT

# What the API, the workers and the settings need and the offline render does not.
SERVICE_ONLY = ("pydantic", "pydantic_settings", "starlette", "fastapi", "sqlalchemy", "sqlmodel")


def _modules_after(statement: str) -> set[str]:
    probe = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {line.split(".", 1)[0] for line in result.stdout.splitlines()}


def test_loading_the_command_line_imports_none_of_the_service() -> None:
    loaded = _modules_after("import taskstream.cli")
    assert loaded.isdisjoint(SERVICE_ONLY), sorted(loaded & set(SERVICE_ONLY))


def test_the_render_path_imports_none_of_the_service() -> None:
    statement = "import taskstream.cli, infra.render.command, infra.render.run, infra.program"
    loaded = _modules_after(statement)
    assert loaded.isdisjoint(SERVICE_ONLY), sorted(loaded & set(SERVICE_ONLY))


def test_a_fresh_render_loads_only_the_sdk_modules_the_program_uses(tmp_path: Path) -> None:
    # pulumi_digitalocean's own __init__ imports 184 modules; helm/v3's pulls in `requests`.
    probe = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from infra import lean_sdk\n"
        "from infra.render.run import render\n"
        f"render('prod', Path({str(tmp_path)!r}), Path('.'))\n"
        "print(json.dumps({p: sorted(lean_sdk.loaded(p)) for p in lean_sdk.MODULES}))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'requests')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded_lines = result.stdout.splitlines()
    loaded, requests = json.loads(loaded_lines[-2]), json.loads(loaded_lines[-1])
    # Besides what MODULES keeps: the shared types, the SDK's helpers and the lazy config.
    support = lean_sdk.SHARED | {"outputs", "_utilities", "_tables", "config"}
    extra = {
        package: sorted(set(modules) - lean_sdk.MODULES[package] - support)
        for package, modules in loaded.items()
    }
    assert not any(extra.values()), f"loaded beyond infra/lean_sdk.py MODULES: {extra}"
    assert requests == [], f"the render imported {requests}"


def test_the_render_command_leaves_the_garbage_collector_on(tmp_path: Path) -> None:
    # It switches the collector off while it renders; a process that goes on (these tests,
    # CliRunner) must get it back.
    from typer.testing import CliRunner

    from taskstream.cli import cli

    args = ["render", "--stack", "local", "--out", str(tmp_path), "--project-dir", str(ROOT)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert gc.isenabled(), "taskstream render left the garbage collector off"
