"""Local daprd resource files, written from the manifests the cluster's Dapr CRs are made of.

The cluster program applies `infra.dapr_manifests.all_manifests(...)` as custom resources;
this writes the very same dicts as YAML for a standalone daprd, so the two cannot drift:

    uv run python tools/dev/dapr_resources.py --brokers 127.0.0.1:9092 --out var/dapr

gives `var/dapr/resources/*.yaml` (for `daprd --resources-path`) and `var/dapr/config.yaml`
(for `daprd --config`). The pub/sub Component speaks SASL_SSL: a daprd that loads it needs
its Kafka user, password and the broker's CA in TASKSTREAM_KAFKA_USERNAME, _PASSWORD and
_CA_CERT (tools/dev/stack.py sets them from the suite's broker, as the injector does from
the app's Secret in the cluster).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):  # run as a script: make `app` and `infra` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from infra import dapr_manifests

Manifest = dict[str, Any]

RESOURCES_DIRNAME = "resources"
CONFIG_FILENAME = "config.yaml"
# daprd reads its Configuration from --config; every other kind goes in --resources-path.
CONFIGURATION_KIND = "Configuration"


@dataclass(frozen=True)
class LocalDaprResources:
    """Where a daprd finds what it loads: pass them as --resources-path and --config."""

    resources_dir: Path
    config_path: Path


def local_manifests(*, brokers: str) -> list[Manifest]:
    """The local set: the cluster's manifests without a namespace, pointed at `brokers`."""
    return dapr_manifests.all_manifests(brokers=brokers, namespace=None)


def file_name(manifest: Manifest) -> str:
    return f"{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"


def write_resources(directory: Path, *, brokers: str) -> LocalDaprResources:
    """Write the local set under `directory`, replacing what an earlier run wrote there."""
    resources_dir = directory / RESOURCES_DIRNAME
    resources_dir.mkdir(parents=True, exist_ok=True)
    for stale in resources_dir.glob("*.yaml"):
        stale.unlink()
    config_path = directory / CONFIG_FILENAME
    configurations = 0
    for manifest in local_manifests(brokers=brokers):
        if manifest["kind"] == CONFIGURATION_KIND:
            configurations += 1
            target = config_path
        else:
            target = resources_dir / file_name(manifest)
        if target.exists() and target != config_path:
            raise ValueError(f"two manifests would both be written to {target.name}")
        target.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    if configurations != 1:
        raise ValueError(f"expected one Configuration among the manifests, got {configurations}")
    return LocalDaprResources(resources_dir=resources_dir, config_path=config_path)


def read_resources(resources: LocalDaprResources) -> list[Manifest]:
    """Every manifest written by `write_resources`, the Configuration first."""
    manifests = [yaml.safe_load(resources.config_path.read_text(encoding="utf-8"))]
    for path in sorted(resources.resources_dir.glob("*.yaml")):
        manifests.append(yaml.safe_load(path.read_text(encoding="utf-8")))
    return manifests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", required=True, help="Kafka bootstrap address, host:port")
    parser.add_argument("--out", required=True, type=Path, help="directory to write into")
    args = parser.parse_args(argv)
    written = write_resources(args.out, brokers=args.brokers)
    print(f"--resources-path {written.resources_dir} --config {written.config_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
