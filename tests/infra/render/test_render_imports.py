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


def test_a_fresh_render_loads_only_the_sdk_modules_it_uses_and_none_of_the_service(
    tmp_path: Path,
) -> None:
    # pulumi_digitalocean's own __init__ imports 184 modules, helm/v3's pulls in `requests`,
    # and typer would coerce the options through pydantic.
    probe = (
        "import sys, json\n"
        "from taskstream.cli import main\n"
        f"sys.argv = ['taskstream', 'render', '--stack', 'prod', '--out', {str(tmp_path)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "from infra import lean_sdk\n"
        "print(json.dumps({p: sorted(lean_sdk.loaded(p)) for p in lean_sdk.MODULES}))\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    *_, sdk_line, modules_line = result.stdout.splitlines()
    loaded, top_level = json.loads(sdk_line), set(json.loads(modules_line))
    # Besides what MODULES keeps: the shared types, the SDK's helpers and the lazy config.
    support = lean_sdk.SHARED | {"outputs", "_utilities", "_tables", "config"}
    extra = {
        package: sorted(set(modules) - lean_sdk.MODULES[package] - support)
        for package, modules in loaded.items()
    }
    assert not any(extra.values()), f"loaded beyond infra/lean_sdk.py MODULES: {extra}"
    unwanted = top_level & {"requests", *SERVICE_ONLY}
    assert not unwanted, f"the render imported {sorted(unwanted)}"


def test_the_render_command_leaves_the_garbage_collector_on(tmp_path: Path) -> None:
    # It switches the collector off while it renders; a process that goes on (these tests,
    # CliRunner) must get it back.
    from typer.testing import CliRunner

    from taskstream.cli import cli

    args = ["render", "--stack", "local", "--out", str(tmp_path), "--project-dir", str(ROOT)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert gc.isenabled(), "taskstream render left the garbage collector off"
