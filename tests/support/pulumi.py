"""The locally built Pulumi CLI for tests: its environment, and the policy pack's virtualenv.

tools/engines/pulumi.sh builds the CLI, the Python language host and the provider plugins
into the per-machine cache; these helpers point a subprocess at them, offline.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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
