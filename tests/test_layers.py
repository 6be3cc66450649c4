"""The import rules between the packages: app is the ground floor, taskstream the top."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("taskstream", "app", "workers", "infra", "policy")
# What infra may load of app; `app` itself is the package's __init__, run by any `app.x`.
INFRA_MAY_LOAD = {"app", "app.contract"}


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module, dotted
    line: int
    target: str  # the dotted name the statement names: a module, or a module's attribute


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    """Every import in `source`, the module `module`, however deep in the tree it is."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: package.count(".") + 2 - node.level]
                base = ".".join([*anchor, base] if base else anchor)
            # `from app import contract` names app.contract; `from app.contract import X`
            # names app.contract.X: the rules compare prefixes, so both read right.
            found += [Import(module, node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and _imports_by_name(node):
            first = node.args[0]
            assert isinstance(first, ast.Constant)
            found.append(Import(module, node.lineno, str(first.value)))
    return found


def _imports_by_name(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    literal = bool(call.args) and isinstance(call.args[0], ast.Constant)
    return name in {"import_module", "__import__"} and literal


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def broken_rule(found: Import) -> str | None:
    """The rule `found` breaks, if any.

    app imports neither infra nor workers; workers imports only app; infra takes only
    app.contract from app and no workers (the Pulumi program must run without the service's
    code); only taskstream imports taskstream. Every import counts wherever it is written:
    inside functions (the command line imports lazily), under TYPE_CHECKING, and
    `importlib.import_module` with a literal name. policy is bound by the last rule only.
    """
    layer, target = found.importer.split(".")[0], found.target.split(".")[0]
    if target == layer or target not in PACKAGES:
        return None
    if target == "taskstream":
        return "only the composition root imports taskstream"
    if layer == "app" and target in {"infra", "workers"}:
        return "app imports neither infra nor workers"
    if layer == "workers" and target != "app":
        return "workers imports only app"
    if layer == "infra" and target == "workers":
        return "infra imports no workers"
    if layer == "infra" and target == "app" and not _within(found.target, "app.contract"):
        return "infra takes only app.contract from app"
    return None


def app_modules_infra_loads(imports: Iterable[Import], modules: set[str]) -> set[str]:
    """The app modules that loading every infra module loads, following imports through app."""
    edges: dict[str, set[str]] = {}
    for found in imports:
        # The longest existing module the name starts with, and the packages above it.
        parts = found.target.split(".")
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in modules:
                loaded = {".".join(parts[:i]) for i in range(1, end + 1)}
                edges.setdefault(found.importer, set()).update(loaded)
                break
    seen: set[str] = set()
    todo = [m for m in modules if _within(m, "infra")]
    while todo:
        current = todo.pop()
        for loaded in edges.get(current, set()) - seen:
            seen.add(loaded)
            todo.append(loaded)
    return {m for m in seen if _within(m, "app")}


def repository_imports() -> tuple[list[Import], set[str]]:
    imports: list[Import] = []
    modules: set[str] = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = module_name(path)
            modules.add(module)
            source = path.read_text(encoding="utf-8")
            imports += imports_in(source, module, is_package=path.name == "__init__.py")
    return imports, modules


def test_the_repository_keeps_the_import_rules() -> None:
    imports, _ = repository_imports()
    broken = [
        f"{found.importer}:{found.line} imports {found.target}: {rule}"
        for found in imports
        if (rule := broken_rule(found))
    ]
    assert not broken, "\n".join(broken)


def test_infra_loads_nothing_of_app_beyond_the_contract() -> None:
    imports, modules = repository_imports()
    beyond = app_modules_infra_loads(imports, modules) - INFRA_MAY_LOAD
    assert not beyond, f"loading infra loads {sorted(beyond)}"


def test_the_walk_sees_the_command_lines_lazy_imports() -> None:
    # The real tree: taskstream.cli imports the workers inside a function.
    imports, _ = repository_imports()
    lazy = {f.target for f in imports if f.importer == "taskstream.cli"}
    assert "workers.notifier.app.create_app" in lazy


LAZY_WORKER = """
def serve():
    from workers.notifier.app import create_app
    return create_app
"""
TYPE_ONLY_INFRA = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from infra.config_model import StackConfig
"""
BY_NAME = """
import importlib
def load():
    return importlib.import_module("workers.recurrer.app")
"""


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("app.cli", LAZY_WORKER, "app imports neither infra nor workers"),
        ("app.render.schema", TYPE_ONLY_INFRA, "app imports neither infra nor workers"),
        ("app.tools", BY_NAME, "app imports neither infra nor workers"),
        ("app.x", "import taskstream.cli\n", "only the composition root imports taskstream"),
        ("workers.http", "from infra import versions\n", "workers imports only app"),
        ("workers.http", "import policy.rules\n", "workers imports only app"),
        ("infra.config", "from app import settings\n", "infra takes only app.contract from app"),
        ("infra.config", "import app.settings\n", "infra takes only app.contract from app"),
        ("infra.config", "from app import *\n", "infra takes only app.contract from app"),
        ("infra.program", "from workers import runtime\n", "infra imports no workers"),
        (
            "policy.rules",
            "from taskstream import cli\n",
            "only the composition root imports taskstream",
        ),
    ],
)
def test_a_module_that_breaks_a_rule_is_named(module: str, source: str, rule: str) -> None:
    rules = [broken_rule(found) for found in imports_in(source, module)]
    assert rule in rules


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("infra.config", "from app import contract\n"),
        ("infra.config", "from app.contract import TOPICS\n"),
        ("infra.render.run", "from . import documents\nfrom .offline import Recording\n"),
        ("workers.http", "from app.settings import Settings\nimport httpx\n"),
        ("taskstream.cli", "from workers.notifier.app import create_app\nimport infra.render\n"),
        ("policy.rules", "from infra.digitalocean_limits import X\n"),
    ],
)
def test_imports_within_the_rules_pass(module: str, source: str) -> None:
    assert [broken_rule(found) for found in imports_in(source, module)] == [None] * len(
        imports_in(source, module)
    )


def test_relative_imports_resolve_against_the_package() -> None:
    found = imports_in("from ..config import X\nfrom . import y\n", "infra.render.run")
    assert [f.target for f in found] == ["infra.config.X", "infra.render.y"]
    in_init = imports_in("from .offline import R\n", "infra.render", is_package=True)
    assert [f.target for f in in_init] == ["infra.render.offline.R"]


def test_infra_reaching_app_settings_through_the_contract_is_found() -> None:
    modules = {"app", "app.contract", "app.settings", "infra", "infra.config"}
    imports = [
        Import("infra.config", 1, "app.contract"),
        Import("app.contract", 3, "app.settings.Settings"),
    ]
    assert app_modules_infra_loads(imports, modules) == {"app", "app.contract", "app.settings"}
