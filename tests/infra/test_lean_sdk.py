"""The lean SDK loader: it keeps exactly the modules the program uses, a render fails on a
left-out one, and outside a render the package still works whole (infra/lean_sdk.py)."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

from infra import lean_sdk
from infra.config import parse_stack_config
from infra.render.offline import run_offline
from infra.render.recording import Recording
from infra.render.stack_files import raw_stack_config
from tests.infra.stacks import ROOT, STACKS, recording


@functools.cache
def _dev_with_kagent() -> Recording:
    """The only switch that adds kinds (its ClusterRoles) no committed stack has."""
    raw = raw_stack_config(ROOT / "Pulumi.dev.yaml", {"kagent": "true", "kagentApiKey": "sk-x"})
    return run_offline(parse_stack_config("dev", raw))


def _sdk_root(top: str) -> Path | None:
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _module_of(token: str) -> tuple[str, str] | None:
    """The SDK module that defines the resource or function `token`, as the generators lay
    them out: `digitalocean:index/kubernetesCluster:...` is pulumi_digitalocean's
    kubernetes_cluster, `kubernetes:networking.k8s.io/v1:NetworkPolicy` is
    pulumi_kubernetes.networking.v1's NetworkPolicy. None for kinds no SDK module defines
    (custom resources, components)."""
    provider, middle, name = token.split(":")
    if provider == "kubernetes":
        group, _, version = middle.rpartition("/")
        package = f"pulumi_kubernetes.{group.split('.')[0] or 'core'}.{version}"
        module = name
    else:
        package = "pulumi_" + provider.replace("-", "_")
        module = re.sub(r"(?<!^)(?=[A-Z])", "_", middle.rpartition("/")[2]).lower()
    top, *rest = package.split(".")
    root = _sdk_root(top)
    found = root is not None and root.joinpath(*rest, f"{module}.py").is_file()
    return (package, module) if found else None


def test_the_loader_keeps_exactly_the_modules_the_stacks_register_and_invoke() -> None:
    used: dict[str, set[str]] = {}
    for rec in [*(recording(stack) for stack in STACKS), _dev_with_kagent()]:
        tokens = {r.type for r in rec.resources} | {i.token for i in rec.invokes}
        for token in tokens:
            found = _module_of(token)
            if found and found[0] in lean_sdk.MODULES:
                used.setdefault(found[0], set()).add(found[1])
    kept = {package: set(modules) for package, modules in lean_sdk.MODULES.items() if modules}
    unused = {p: sorted(m - used.get(p, set())) for p, m in kept.items() if m - used.get(p, set())}
    missing = {p: sorted(m - kept.get(p, set())) for p, m in used.items() if m - kept.get(p, set())}
    assert not unused, f"infra/lean_sdk.py MODULES keeps modules no stack uses: {unused}"
    assert not missing, f"infra/lean_sdk.py MODULES leaves out modules a stack uses: {missing}"


def _run(probe: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_a_name_from_a_left_out_module_fails_loudly_under_strict() -> None:
    probe = (
        "import infra, pulumi_digitalocean as do\n"
        "from infra import lean_sdk\n"
        "do.Vpc\n"
        "with lean_sdk.strict():\n"
        "    do.Droplet\n"
    )
    result = _run(probe)
    assert result.returncode != 0, "strict() let a left-out module's name through"
    assert "MissingModuleError: pulumi_digitalocean.Droplet is not loaded" in result.stderr, (
        result.stderr
    )


def test_a_swallowed_miss_still_fails_the_strict_block() -> None:
    # A caller that reads with a default (getattr(..., None)) would hide the miss otherwise.
    probe = (
        "import infra, pulumi_digitalocean as do\n"
        "from infra import lean_sdk\n"
        "with lean_sdk.strict():\n"
        "    assert getattr(do, 'Droplet', None) is None\n"
    )
    result = _run(probe)
    assert result.returncode != 0, "a swallowed miss passed strict()"
    assert "leaves out: pulumi_digitalocean.Droplet" in result.stderr, result.stderr


def test_outside_a_render_a_left_out_name_loads_the_rest_of_the_package() -> None:
    # What `pulumi up` relies on if MODULES ever falls behind the program: slower, not broken.
    probe = (
        "import infra, pulumi_digitalocean as do\n"
        "from infra import lean_sdk\n"
        "before = len(lean_sdk.loaded('pulumi_digitalocean'))\n"
        "assert do.Droplet.__name__ == 'Droplet'\n"
        "print(before, len(lean_sdk.loaded('pulumi_digitalocean')))\n"
    )
    result = _run(probe)
    assert result.returncode == 0, result.stderr
    before, after = map(int, result.stdout.split())
    assert before < 30 < 150 < after, f"modules before / after the miss: {before} / {after}"


_REGISTERED = (
    "import json, pulumi.runtime.rpc as rpc\n"
    "print(json.dumps({'modules': sorted(rpc._RESOURCE_MODULES),"
    " 'packages': sorted(rpc._RESOURCE_PACKAGES)}))\n"
)


def test_the_lean_package_registers_what_the_eager_one_does() -> None:
    # The registrations are what a resource reference from the engine is rebuilt from.
    lean = _run(f"import infra, pulumi_digitalocean as do\ndo.Vpc\n{_REGISTERED}")
    eager = _run(f"import pulumi_digitalocean\n{_REGISTERED}")
    assert lean.returncode == 0, lean.stderr
    assert eager.returncode == 0, eager.stderr
    registered = json.loads(lean.stdout)
    assert registered == json.loads(eager.stdout)
    assert "digitalocean:index/droplet" in registered["modules"], registered


def test_a_resource_reference_to_a_left_out_kind_finds_its_class() -> None:
    # The registered module rebuilds a reference with getattr(lazy_import(package), class).
    probe = (
        "import infra, pulumi_digitalocean as do\n"
        "from pulumi_digitalocean import _utilities\n"
        "do.Vpc\n"
        "package = _utilities.lazy_import('pulumi_digitalocean')\n"
        "assert package is do\n"
        "print(getattr(package, 'Droplet').__module__)\n"
    )
    result = _run(probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pulumi_digitalocean.droplet"]
