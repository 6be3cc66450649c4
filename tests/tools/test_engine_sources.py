"""tools/engines/: one switch between registry builds and upstream release archives.

The release source only runs on GitHub's runners (this machine reaches registries, not
release downloads), so these tests run it against a stand-in `curl` that serves archives
shaped like the upstream ones, and check the URLs it asks for against versions.env.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.support.engines import REPO_ROOT, engine_versions

ENGINES = REPO_ROOT / "tools" / "engines"
SCRIPTS = sorted(ENGINES.glob("*.sh"))

# The stand-in for curl: logs its argv, then copies the archive named after the URL's last
# path segment from $FAKE_RELEASES to --output, or fails like `curl --fail` on a 404.
FAKE_CURL = """#!/usr/bin/env bash
echo "curl $*" >>"$TOOL_LOG"
out="" url=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --output) out=$2; shift ;;
    http*) url=$1 ;;
    esac
    shift
done
[[ -f "$FAKE_RELEASES/${url##*/}" ]] || exit 22
cp "$FAKE_RELEASES/${url##*/}" "$out"
"""
# go, mvn and an installed pulumi only log that they ran (and fail, like a cold build).
FAKE_TOOL = '#!/usr/bin/env bash\necho "$(basename "$0") $*" >>"$TOOL_LOG"\nexit 1\n'
FAKE_PULUMI = '#!/usr/bin/env bash\necho "pulumi $*" >>"$TOOL_LOG"\n'


def expected_urls() -> dict[str, str]:
    """What each archive's URL must be, written out from versions.env independently."""
    v = engine_versions()
    return {
        "pulumi": f"https://get.pulumi.com/releases/sdk/pulumi-v{v['PULUMI_VERSION']}-linux-x64.tar.gz",
        "daprd": f"https://github.com/dapr/dapr/releases/download/v{v['DAPR_VERSION']}/daprd_linux_amd64.tar.gz",
        "kafka": (
            f"https://archive.apache.org/dist/kafka/{v['KAFKA_VERSION']}/"
            f"kafka_{v['KAFKA_SCALA_VERSION']}-{v['KAFKA_VERSION']}.tgz"
        ),
        "actionlint": (
            f"https://github.com/rhysd/actionlint/releases/download/v{v['ACTIONLINT_VERSION']}/"
            f"actionlint_{v['ACTIONLINT_VERSION']}_linux_amd64.tar.gz"
        ),
        "doctl": (
            f"https://github.com/digitalocean/doctl/releases/download/v{v['DOCTL_VERSION']}/"
            f"doctl-{v['DOCTL_VERSION']}-linux-amd64.tar.gz"
        ),
    }


def _archive(path: Path, files: dict[str, str]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            archive.addfile(info, io.BytesIO(data))


class Sandbox:
    """An empty engine cache, fake tools first on PATH, and archives for the fake curl."""

    def __init__(self, root: Path) -> None:
        self.cache = root / "cache"
        self.bin = root / "bin"
        self.releases = root / "releases"
        self.log = root / "tools.log"
        for directory in (self.cache, self.bin, self.releases):
            directory.mkdir()
        self.log.touch()
        (self.bin / "curl").write_text(FAKE_CURL)
        for tool in ("go", "mvn"):
            (self.bin / tool).write_text(FAKE_TOOL)
        (self.bin / "java").write_text("#!/bin/sh\nexit 0\n")
        for tool in self.bin.iterdir():
            tool.chmod(0o755)
        v = engine_versions()
        kafka_dir = f"kafka_{v['KAFKA_SCALA_VERSION']}-{v['KAFKA_VERSION']}"
        archives = {
            "daprd": {"daprd": "#!/bin/sh\necho daprd\n"},
            "actionlint": {"actionlint": "#!/bin/sh\necho actionlint\n"},
            "doctl": {"doctl": "#!/bin/sh\necho doctl\n"},
            "kafka": {f"{kafka_dir}/libs/{kafka_dir}.jar": "jar", f"{kafka_dir}/bin/x": ""},
            "pulumi": {
                f"pulumi/{name}": FAKE_PULUMI
                for name in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec")
            },
        }
        for engine, files in archives.items():
            _archive(self.releases / expected_urls()[engine].rsplit("/", 1)[1], files)

    def run(self, script: str, source: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": f"{self.bin}{os.pathsep}/usr/bin:/bin",
            "HOME": str(self.cache.parent),
            "TASKSTREAM_CACHE": str(self.cache),
            "TASKSTREAM_ENGINE_SOURCE": source,
            "TOOL_LOG": str(self.log),
            "FAKE_RELEASES": str(self.releases),
        }
        return subprocess.run(
            ["bash", str(ENGINES / script), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


@pytest.mark.parametrize("engine", sorted(expected_urls()))
def test_each_release_url_is_derived_from_versions_env(engine: str) -> None:
    result = subprocess.run(
        [
            "bash",
            "-c",
            'source "$1/lib.sh" && source "$1/release.sh" && release_url "$2"',
            "-",
            str(ENGINES),
            engine,
        ],
        env={"PATH": "/usr/bin:/bin", "TASKSTREAM_CACHE": "/tmp/unused-engine-cache"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected_urls()[engine]


@pytest.mark.parametrize(
    ("script", "engine", "cached"),
    [
        ("daprd.sh", "daprd", "dapr/v{DAPR_VERSION}/daprd"),
        ("actionlint.sh", "actionlint", "actionlint/v{ACTIONLINT_VERSION}/actionlint"),
        ("kafka.sh", "kafka", "kafka/{KAFKA_VERSION}/libs/kafka_2.13-{KAFKA_VERSION}.jar"),
        ("doctl.sh", "doctl", "doctl/v{DOCTL_VERSION}/doctl"),
    ],
)
def test_the_release_source_fills_the_cache_layout_the_tests_read(
    sandbox: Sandbox, script: str, engine: str, cached: str
) -> None:
    result = sandbox.run(script, "release")
    assert result.returncode == 0, result.stderr
    (call,) = sandbox.calls()
    assert call.startswith("curl --fail "), f"curl does not fail on HTTP errors: {call}"
    assert call.endswith(f" {expected_urls()[engine]}"), call
    path = sandbox.cache / cached.format(**engine_versions())
    assert path.is_file(), f"{engine}: {path} missing after the release install"
    again = sandbox.run(script, "release")
    assert again.returncode == 0, again.stderr
    assert len(sandbox.calls()) == 1, "a warm cache downloaded again"


def _curl_args(engine: str) -> str:
    return (
        f"--fail --silent --show-error --location --retry 3 --output {{}} {expected_urls()[engine]}"
    )


@pytest.mark.parametrize(
    ("script", "builder"), [("daprd.sh", "go"), ("actionlint.sh", "go"), ("kafka.sh", "mvn")]
)
def test_the_registry_source_builds_and_never_downloads(
    sandbox: Sandbox, script: str, builder: str
) -> None:
    result = sandbox.run(script, "registry")
    assert result.returncode != 0, "the fake builder fails, so the script must fail"
    tools = {call.split()[0] for call in sandbox.calls()}
    assert tools == {builder}, f"registry source ran {tools}, expected only {builder}"


def test_pulumi_from_release_installs_the_cli_then_each_pinned_plugin(sandbox: Sandbox) -> None:
    result = sandbox.run("pulumi.sh", "release")
    assert result.returncode == 0, result.stderr
    v = engine_versions()
    bin_dir = sandbox.cache / "pulumi" / f"v{v['PULUMI_VERSION']}" / "bin"
    for name in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec"):
        assert os.access(bin_dir / name, os.X_OK), f"{name} not installed from the archive"
    calls = sandbox.calls()
    assert calls[0].startswith("curl ")
    assert calls[0].endswith(expected_urls()["pulumi"])
    plugins = [c for c in calls if c.startswith("pulumi plugin install")]
    assert plugins == [
        f"pulumi plugin install resource {name} {v[key]} --non-interactive"
        for name, key in (
            ("random", "PULUMI_RANDOM_VERSION"),
            ("digitalocean", "PULUMI_DIGITALOCEAN_VERSION"),
            ("kubernetes", "PULUMI_KUBERNETES_VERSION"),
            ("docker-build", "PULUMI_DOCKER_BUILD_VERSION"),
        )
    ], calls
    assert not [c for c in calls if c.startswith("go ")], "the release source built from source"


def test_an_unknown_source_fails_and_names_the_switch(sandbox: Sandbox) -> None:
    result = sandbox.run("daprd.sh", "download")
    assert result.returncode == 2
    assert "TASKSTREAM_ENGINE_SOURCE must be 'registry' or 'release'" in result.stderr
    assert sandbox.calls() == [], "an unknown source still ran a tool"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_engine_script_parses(script: Path) -> None:
    result = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_shellcheck_finds_nothing_in_the_engine_scripts() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not on PATH (GitHub's ubuntu runners have it)")
    result = subprocess.run(
        [shellcheck, "-x", "--severity=warning", *[p.name for p in SCRIPTS]],
        cwd=ENGINES,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
