"""`taskstream render` starts without the service's heavy modules: the render pays only for
the Pulumi SDKs it runs (issue 18, target 5: a fresh render of prod in 1.5 s)."""

from __future__ import annotations

import subprocess
import sys

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
