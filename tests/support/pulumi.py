"""The locally built Pulumi CLI for tests: its environment, throwaway projects, the policy pack.

The one place the real-engine suites (tests/integration/pulumi, tests/policy) get Pulumi from:

* `pulumi_env` is what tools/engines/pulumi-env.sh sets (the CLI, language host and provider
  plugins that tools/engines/pulumi.sh built into the per-machine cache), offline, with a
  throwaway passphrase;
* `temp_project` makes a project in a temporary directory: Pulumi.yaml, optionally a program
  and a stack file, its own file backend, and the stack initialised;
* `repository_project` is such a project running the repository's infra/ for one stack;
* `install_policy_pack` gives policy/ its virtualenv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.engines import REPO_ROOT, cache_root, engine_versions, require_engine

PACK_DIR = REPO_ROOT / "policy"
PASSPHRASE = "throwaway-test-passphrase"
CLI = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec")
PROVIDERS = (
    ("kubernetes", "PULUMI_KUBERNETES_VERSION"),
    ("digitalocean", "PULUMI_DIGITALOCEAN_VERSION"),
    ("random", "PULUMI_RANDOM_VERSION"),
    ("docker-build", "PULUMI_DOCKER_BUILD_VERSION"),
)


def _home() -> Path:
    return cache_root() / "pulumi" / "home"


def _bin_dir() -> Path:
    return cache_root() / "pulumi" / f"v{engine_versions()['PULUMI_VERSION']}" / "bin"


def _provider_plugins() -> list[Path]:
    pinned = engine_versions()
    return [
        _home() / "plugins" / f"resource-{name}-v{pinned[key]}" / f"pulumi-resource-{name}"
        for name, key in PROVIDERS
    ]


def pulumi_env(*, providers: bool) -> dict[str, str]:
    """What tools/engines/pulumi-env.sh sets, with plugin downloads off.

    Skips the calling test (fails it in CI) unless the CLI and language host are built, and
    the provider plugins too when `providers`. Inherited PULUMI_* and DIGITALOCEAN_*
    variables are dropped so nothing from the caller's shell steers the engine.
    """
    bin_dir = _bin_dir()
    needed = [bin_dir / name for name in CLI] + (_provider_plugins() if providers else [])
    missing = [str(path) for path in needed if not path.is_file()]
    require_engine(
        "pulumi", not missing, f"missing {', '.join(missing)}; run `bash tools/engines/pulumi.sh`"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "DIGITALOCEAN_"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PULUMI_HOME=str(_home()),
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
    )
    return env


def install_policy_pack(env: dict[str, str]) -> Path:
    """policy/ with its own virtualenv, made by `pulumi install` as a developer would
    (PyPI is needed once); returns the pack's directory."""
    if not (PACK_DIR / ".venv" / "bin" / "python").exists():
        install = subprocess.run(
            ["pulumi", "install"],
            cwd=PACK_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        require_engine(
            "policy/.venv",
            install.returncode == 0,
            f"`pulumi install` in policy/ failed:\n{install.stdout}{install.stderr}",
        )
    return PACK_DIR


@dataclass
class Run:
    """One CLI invocation: exit code, output and wall time."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return f"$ pulumi {' '.join(self.args)}\n{self.stdout}\n{self.stderr}"

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout))


@dataclass
class Project:
    """A temporary Pulumi project and one of its stacks, with the environment to run it in."""

    stack: str
    directory: Path
    env: dict[str, str]

    def pulumi(self, *args: str, timeout: float = 600, env: Mapping[str, str] | None = None) -> Run:
        """`pulumi <args> --stack <stack> --non-interactive`; `env` adds to the project's."""
        started = time.perf_counter()
        result = subprocess.run(
            ["pulumi", *args, "--stack", self.stack, "--non-interactive"],
            cwd=self.directory,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        seconds = time.perf_counter() - started
        return Run(list(args), result.returncode, result.stdout, result.stderr, seconds)

    def ok(self, *args: str, env: Mapping[str, str] | None = None) -> Run:
        run = self.pulumi(*args, env=env)
        assert run.returncode == 0, f"command failed:\n{run.output}"
        return run

    def config(self, key: str, value: str, *, secret: bool = False) -> None:
        self.ok("config", "set", *(["--secret"] if secret else []), key, value)

    def preview(self, *extra: str) -> Run:
        return self.pulumi("preview", "--diff", *extra)

    def other_stack(self, stack: str) -> Project:
        """Another stack of the same project and backend (not initialised)."""
        return Project(stack, self.directory, self.env)


def temp_project(
    root: Path,
    *,
    stack: str,
    env: Mapping[str, str],
    pulumi_yaml: Mapping[str, Any],
    program: str | None = None,
    stack_file: Path | None = None,
) -> Project:
    """A project in `root/project` with its own file backend in `root/state`, `stack` initialised.

    `pulumi_yaml` is the project file's content; `program` (if given) is written as
    __main__.py; `stack_file` (if given) is copied as Pulumi.<stack>.yaml. With the uv
    toolchain the project gets the repository's uv.lock, from which uv lists its packages.
    """
    directory, state = root / "project", root / "state"
    directory.mkdir(parents=True)
    state.mkdir()
    (directory / "Pulumi.yaml").write_text(
        yaml.safe_dump(dict(pulumi_yaml), sort_keys=False, allow_unicode=True)
    )
    if program is not None:
        (directory / "__main__.py").write_text(program)
    options = (pulumi_yaml.get("runtime") or {}).get("options") or {}
    if options.get("toolchain") == "uv":
        shutil.copy(REPO_ROOT / "uv.lock", directory / "uv.lock")
    if stack_file is not None:
        shutil.copy(stack_file, directory / f"Pulumi.{stack}.yaml")
    project = Project(stack, directory, {**env, "PULUMI_BACKEND_URL": state.as_uri()})
    init = project.pulumi("stack", "init", timeout=120)
    assert init.returncode == 0, f"stack init {stack} failed:\n{init.output}"
    return project


def python_project(name: str, virtualenv: Path, *, uv: bool = True) -> dict[str, Any]:
    """A Pulumi.yaml for a Python program in __main__.py, run in `virtualenv`."""
    options: dict[str, Any] = {"toolchain": "uv"} if uv else {}
    options["virtualenv"] = str(virtualenv)
    return {"name": name, "runtime": {"name": "python", "options": options}}


def repository_project(root: Path, stack: str, env: Mapping[str, str]) -> Project:
    """A temp project running the repository's infra/ with a copy of Pulumi.<stack>.yaml
    (`stack init` and `config set` write into the copy, never into the repository)."""
    declared = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    assert declared["main"].rstrip("/") == "infra", "Pulumi.yaml moved the program; follow it"
    # The repository's Pulumi.yaml with main and the virtualenv made absolute.
    declared["main"] = str(REPO_ROOT / "infra")
    declared["runtime"]["options"]["virtualenv"] = str(REPO_ROOT / ".venv")
    return temp_project(
        root,
        stack=stack,
        env=env,
        pulumi_yaml=declared,
        stack_file=REPO_ROOT / f"Pulumi.{stack}.yaml",
    )
