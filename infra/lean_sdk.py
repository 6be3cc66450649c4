"""Load the generated Pulumi SDK packages with only the modules the program uses.

`pulumi_digitalocean`'s `__init__` imports all of its 184 modules, and each Kubernetes API
group (`pulumi_kubernetes.core.v1`, `apps.v1`, ...) all of its kinds; that was most of a fresh
`taskstream render` (docs/render.md, "How fast"). `install()` puts a lean package in
`sys.modules` for each package in `MODULES`. On first use it runs the package's own `__init__`
minus the `from .module import *` lines of modules not listed there, so the SDK still
registers its resource modules and packages (what resource references are built from) and
`do.KubernetesCluster` or `k8s.core.v1.Secret` read as before.

A name from a left-out module loads the rest of the package: `pulumi up` stays correct,
only slower. Under `strict()` (the offline render, so CI and the infra tests) it fails
instead, naming the package, so a program change that needs another module shows at once.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

# Per package, the modules whose exports the program names (a kind or resource per module,
# as the generated code lays them out); tests/infra/test_lean_sdk.py holds this to what the
# stacks register and invoke.
MODULES: Mapping[str, frozenset[str]] = {
    "pulumi_digitalocean": frozenset(
        {
            "container_registry",
            "container_registry_docker_credentials",
            "database_cluster",
            "database_connection_pool",
            "database_db",
            "database_firewall",
            "database_user",
            "get_kubernetes_versions",
            "kubernetes_cluster",
            "kubernetes_node_pool",
            "vpc",
        }
    ),
    "pulumi_random": frozenset({"random_password", "random_string"}),
    "pulumi_kubernetes.core.v1": frozenset(
        {"ConfigMap", "Namespace", "Secret", "Service", "ServiceAccount"}
    ),
    "pulumi_kubernetes.apps.v1": frozenset({"Deployment", "StatefulSet"}),
    "pulumi_kubernetes.autoscaling.v2": frozenset({"HorizontalPodAutoscaler"}),
    "pulumi_kubernetes.batch.v1": frozenset({"Job"}),
    "pulumi_kubernetes.networking.v1": frozenset({"NetworkPolicy"}),
    "pulumi_kubernetes.policy.v1": frozenset({"PodDisruptionBudget"}),
    "pulumi_kubernetes.rbac.v1": frozenset({"ClusterRole", "ClusterRoleBinding"}),
    # Only the Release: `helm.v3.Chart` (helm.py) imports `requests` through yaml/yaml.py.
    "pulumi_kubernetes.helm.v3": frozenset({"Release"}),
    # Referred to by every kind's metadata type; its two kinds (Status) are not used.
    "pulumi_kubernetes.meta.v1": frozenset(),
}

# Every package keeps its shared input and enum types (its `outputs` module is not a star
# import, so it stays anyway): kinds refer to them, across groups too
# (`_core.v1.PodTemplateSpecArgs` from apps/v1), and so do the type hints Pulumi reads.
SHARED = frozenset({"_enums", "_inputs"})


class MissingModuleError(AttributeError):
    """The program used a name from a module `MODULES` leaves out (under `strict()`)."""


@dataclass
class _Init:
    """A lean package's `__init__`: the part that runs on first use, and the rest."""

    path: Path
    keep: frozenset[str]
    ran: bool = False
    rest: CodeType | None = None  # the left-out star imports, until they run


_INITS: dict[str, _Init] = {}
_strict = False
_missed: list[str] = []


class LeanPackage(ModuleType):
    """A generated SDK package whose `__init__` runs without the modules the program skips."""

    def __getattr__(self, name: str) -> Any:
        init = _INITS.get(self.__name__)
        # Dunder probes (pickle, inspect) load nothing.
        if init is None or (name.startswith("__") and name.endswith("__")):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        if not init.ran:
            init.ran = True
            kept, init.rest = _split(init.path, init.keep)
            exec(kept, self.__dict__)  # noqa: S102 - the package's own `__init__`, filtered
            if name in self.__dict__:
                return self.__dict__[name]
        # The import system's probe for a submodule (`from . import outputs`) loads nothing
        # either: it imports that module next.
        if init.rest is not None and not self._has(name):
            if _strict:
                _missed.append(f"{self.__name__}.{name}")
                raise MissingModuleError(
                    f"{self.__name__}.{name} is not loaded: infra/lean_sdk.py MODULES names "
                    f"the modules of {self.__name__} the program uses; add the one "
                    f"that defines {name}"
                )
            rest, init.rest = init.rest, None
            exec(rest, self.__dict__)  # noqa: S102 - the rest of the package's own `__init__`
            if name in self.__dict__:
                return self.__dict__[name]
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def _has(self, submodule: str) -> bool:
        path = self.__dict__.get("__path__")
        found = importlib.machinery.PathFinder.find_spec(f"{self.__name__}.{submodule}", path)
        return found is not None


def install(modules: Mapping[str, frozenset[str]] = MODULES) -> None:
    """Put a lean package in `sys.modules` for each package not imported yet. Cheap: nothing
    of a package runs until the program first reads a name from it."""
    for package, keep in modules.items():
        _install(package, keep | SHARED)


def _install(package: str, keep: frozenset[str]) -> None:
    current = sys.modules.get(package)
    # Left alone: a package already imported whole, or already lean. A module that
    # `importlib.util.LazyLoader` put there (the SDKs' `lazy_import`) and nobody has read
    # yet is replaced; `type()` does not trigger its load.
    if current is not None and (type(current) is ModuleType or isinstance(current, LeanPackage)):
        return
    init = _init_file(package)
    if init is None:
        return
    spec = importlib.util.spec_from_file_location(
        package, init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None, f"{init} is a file spec_from_file_location accepts"
    module = importlib.util.module_from_spec(spec)
    module.__class__ = LeanPackage
    _INITS[package] = _Init(init, keep)
    sys.modules[package] = module
    parent, _, child = package.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)


def _init_file(package: str) -> Path | None:
    """The package's `__init__.py`, found without importing it or its parents."""
    top, *rest = package.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        return None
    init = Path(next(iter(spec.submodule_search_locations)), *rest, "__init__.py")
    return init if init.is_file() else None


def _split(init: Path, keep: frozenset[str]) -> tuple[CodeType, CodeType]:
    tree = ast.parse(init.read_bytes(), str(init))
    kept: list[ast.stmt] = []
    rest: list[ast.stmt] = []
    for statement in tree.body:
        module = _star_import(statement)
        (rest if module is not None and module not in keep else kept).append(statement)
    return _compile(kept, init), _compile(rest, init)


def _star_import(statement: ast.stmt) -> str | None:
    """`x` for `from .x import *`, the line each generated `__init__` has per module."""
    if (
        isinstance(statement, ast.ImportFrom)
        and statement.level == 1
        and statement.module is not None
        and [alias.name for alias in statement.names] == ["*"]
    ):
        return statement.module
    return None


def _compile(statements: list[ast.stmt], init: Path) -> CodeType:
    return compile(ast.Module(body=statements, type_ignores=[]), str(init), "exec")


def loaded(package: str) -> set[str]:
    """The modules of `package` (not its subpackages' modules) imported so far."""
    prefix = package + "."
    return {
        name.removeprefix(prefix)
        for name in sys.modules
        if name.startswith(prefix) and "." not in name.removeprefix(prefix)
    }


@contextmanager
def strict() -> Iterator[None]:
    """Fail on a name from a left-out module instead of loading the rest of its package;
    also when the caller swallowed that AttributeError (a `getattr` with a default)."""
    global _strict  # one switch for the process, as sys.modules is one
    before, _strict = _strict, True
    missed = len(_missed)
    try:
        yield
    finally:
        _strict = before
    if len(_missed) > missed:
        raise MissingModuleError(
            "the program used names from modules infra/lean_sdk.py leaves out: "
            + ", ".join(sorted(set(_missed[missed:])))
        )
