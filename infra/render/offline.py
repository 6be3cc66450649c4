"""Run the platform program without the Pulumi CLI, recording every resource and invoke.

Used by the infra tests and by `taskstream render`: the mock engine answers like the real
one would (ids, computed outputs, secret outputs) and keeps what the program declared.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks, rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from infra.config import parse_stack_config
from infra.config_fields import NAMESPACE
from infra.config_model import StackConfig

# Every secret output the mock engine fabricates contains this marker, so a test can find
# any place where a secret reached a resource input without being marked secret.
SECRET_MARKER = "mock-secret-value"  # noqa: S105 - a marker, not a credential
# What every pulumi-random RandomString "generates" under the mock engine.
RANDOM_STRING = "r4nd0m"
_SECRET_SIG = rpc._special_sig_key
_SECRET_VALUE = rpc._special_secret_sig


@dataclass
class RecordedResource:
    type: str
    name: str
    urn: str
    custom: bool
    inputs: dict[str, Any]
    parent: str
    provider: str
    dependencies: list[str]
    protect: bool
    deleted_with: str
    ignore_changes: list[str]
    # Per input key, the URNs whose outputs that input was built from (the engine's
    # propertyDependencies): what tells a name typed as a string from one read off a resource.
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    retain_on_delete: bool = False


@dataclass
class RecordedInvoke:
    token: str
    args: dict[str, Any]


@dataclass
class Recording:
    resources: list[RecordedResource] = field(default_factory=list)
    invokes: list[RecordedInvoke] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"expected one resource named {name!r}, found {len(matches)}")
        return matches[0]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SECRET_SIG) == _SECRET_VALUE


def reveal(value: Any, placeholder: str | None = None) -> Any:
    """The value with secret wrappers removed (or replaced by `placeholder`)."""
    if is_secret(value):
        return placeholder if placeholder is not None else reveal(value["value"])
    if isinstance(value, dict):
        return {k: reveal(v, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v, placeholder) for v in value]
    return value


def walk_plain_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string not inside a secret wrapper, with its path."""
    if is_secret(value):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk_plain_strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_plain_strings(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


_DOCKER_CREDENTIALS = (
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
)
OutputFactory = Callable[[str, str, dict[str, Any]], dict[str, Any]]


class _Mocks(pulumi.runtime.Mocks):
    """Fabricated provider answers: enough computed outputs for the program to finish."""

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return f"{args.name}-id", {**args.inputs, **_computed(args.typ, args.name, args.inputs)}

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return _invoke_result(args.token, args.args), []


def _computed(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    secret = f"{SECRET_MARKER}-{name}"
    uri = f"postgresql://taskstream:{secret}@private-db.internal:25061/taskstream-pool"
    if type_ == "kubernetes:core/v1:Service" and "metadata" not in inputs:
        # A read of the ingress controller's Service: answer with a load balancer address.
        return {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}}
    if type_.startswith("kubernetes:") and "metadata" in inputs:
        meta = dict(inputs.get("metadata") or {})
        meta.setdefault("name", f"{name}-generated")
        return {"metadata": meta}
    table: dict[str, dict[str, Any]] = {
        "random:index/randomPassword:RandomPassword": {"result": secret, "bcryptHash": secret},
        "random:index/randomString:RandomString": {"result": RANDOM_STRING},
        # Another stack's outputs: the registry name the owning stack (dev) generated.
        "pulumi:pulumi:StackReference": {
            "outputs": {"registry_name": f"taskstream-{RANDOM_STRING}"},
            "secretOutputNames": [],
        },
        "digitalocean:index/kubernetesCluster:KubernetesCluster": {
            "kubeConfigs": [
                {"rawConfig": f"kubeconfig {secret}", "clusterCaCertificate": "LS0tLS1DQS0tLS0t"}
            ],
            "endpoint": "https://cluster.k8s.ondigitalocean.com",
        },
        "digitalocean:index/databaseCluster:DatabaseCluster": {
            "privateHost": "private-db.internal",
            "port": 25060,
            "user": "doadmin",
            "password": secret,
            "uri": uri,
            "privateUri": uri,
        },
        "digitalocean:index/databaseUser:DatabaseUser": {"password": secret},
        "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool": {
            "password": secret,
            "uri": uri,
            "privateUri": uri,
        },
        "digitalocean:index/containerRegistry:ContainerRegistry": {
            "endpoint": f"registry.digitalocean.com/{inputs.get('name')}",
            "serverUrl": "registry.digitalocean.com",
        },
        _DOCKER_CREDENTIALS: {"dockerCredentials": _docker_config_json(secret)},
        "docker-build:index:Image": _pushed_image(name, inputs),
    }
    return table.get(type_, {})


def _docker_config_json(secret: str) -> str:
    # `auth` is base64("user:password") as DigitalOcean issues it; the (legacy) email field
    # carries the marker in clear so a leak of the whole body is still found.
    auth = base64.b64encode(f"{secret}:{secret}".encode()).decode()
    entry = {"auth": auth, "email": secret}
    return json.dumps({"auths": {"registry.digitalocean.com": entry}}, separators=(",", ":"))


def _pushed_image(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # What the provider reports after a push: the manifest digest, and the first tag with it.
    digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    tags = inputs.get("tags") or []
    return {"digest": digest, "ref": f"{tags[0]}@{digest}" if tags else ""}


def _invoke_result(function: str, args: dict[str, Any]) -> dict[str, Any]:
    if function == "digitalocean:index/getKubernetesVersions:getKubernetesVersions":
        prefix = args.get("versionPrefix", "1.34.")
        return {"latestVersion": f"{prefix}1-do.0", "validVersions": [f"{prefix}1-do.0"]}
    if function == "digitalocean:index/getKubernetesCluster:getKubernetesCluster":
        raw = f"kubeconfig {SECRET_MARKER}-fresh-token"
        return {"name": args.get("name"), "kubeConfigs": [{"rawConfig": raw}]}
    if function == "digitalocean:index/getContainerRegistry:getContainerRegistry":
        return {
            "name": args.get("name"),
            "endpoint": f"registry.digitalocean.com/{args.get('name')}",
        }
    return {}


class _RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that keeps each registration's options and marks secret outputs secret,
    as the engine does for `additionalSecretOutputs`."""

    def __init__(self, recording: Recording) -> None:
        super().__init__(_Mocks())
        self.recording = recording

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()  # type: ignore[no-untyped-call]
        inputs = rpc.deserialize_properties(request.object)
        self.recording.resources.append(
            RecordedResource(
                type=request.type,
                name=request.name,
                urn=urn,
                custom=bool(request.custom),
                inputs=inputs,
                parent=request.parent,
                provider=request.provider,
                dependencies=list(request.dependencies),
                protect=bool(request.protect),
                deleted_with=request.deletedWith,
                ignore_changes=list(request.ignoreChanges),
                property_dependencies={
                    key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                },
                retain_on_delete=bool(request.retainOnDelete),
            )
        )
        new_id, state = self.mocks.new_resource(
            mocks.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=reveal(inputs),
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
            )
        )
        for key in request.additionalSecretOutputs:
            if key in state:
                state[key] = {_SECRET_SIG: _SECRET_VALUE, "value": state[key]}
        response = _sync_await(rpc.serialize_properties(state, {}))
        resource_id = new_id or ""
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=response)

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        _ensure_event_loop()  # type: ignore[no-untyped-call]
        self.recording.invokes.append(
            RecordedInvoke(token=request.tok, args=rpc.deserialize_properties(request.args))
        )
        return super().Invoke(request)  # type: ignore[no-untyped-call]


def run_offline(config: StackConfig, *, project: str = "taskstream") -> Recording:
    """Run `infra.program.build` for `config` under the recording mock engine."""
    from infra.program import build

    recording = Recording()
    monitor = _RecordingMonitor(recording)
    pulumi.runtime.set_mocks(
        monitor.mocks,
        project=project,
        stack=config.stack,
        preview=False,
        monitor=monitor,
        organization="organization",
    )

    def program() -> None:
        outputs = build(config)
        pulumi.Output.all(**outputs).apply(recording.outputs.update)

    # The SDK keeps its futures on the thread's loop; run there, as pulumi's own test helper does.
    try:
        _sync_await(run_pulumi_func(program))
    except BaseException:
        _cancel_leftovers()
        raise
    return recording


def _cancel_leftovers() -> None:
    """Forget what a failed run left behind: the SDK keeps its outputs and RPCs in process-wide
    settings, and the next run in this process would await (and re-raise) them."""
    loop = _ensure_event_loop()  # type: ignore[no-untyped-call]
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    pulumi_settings.SETTINGS.outputs.clear()
    pulumi_settings.SETTINGS.rpc_manager.clear()


def raw_stack_config(path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The `taskstream:` values of a Pulumi.<stack>.yaml as the strings pulumi.Config returns.

    Encrypted (`secure:`) values cannot be read offline; pass stand-ins through `extra`.
    """
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        namespace, _, name = str(key).partition(":")
        if namespace != NAMESPACE or (isinstance(value, dict) and "secure" in value):
            continue
        if isinstance(value, bool):
            raw[name] = "true" if value else "false"
        elif isinstance(value, dict | list):
            raw[name] = json.dumps(value)
        else:
            raw[name] = str(value)
    raw.update(extra or {})
    return raw


def load_stack(stack: str, root: Path, extra: dict[str, str] | None = None) -> StackConfig:
    """Parse `root/Pulumi.<stack>.yaml` into a StackConfig without the Pulumi CLI."""
    raw = raw_stack_config(root / f"Pulumi.{stack}.yaml", extra)
    return parse_stack_config(stack, raw)
