"""Run the platform program without the Pulumi CLI, recording every resource and invoke.

Used by the infra tests and by `taskstream render`: the mock engine answers like the real
one would (ids, computed outputs, secret outputs: infra.render.mock_answers) and keeps what
the program declared (infra.render.recording).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from infra import lean_sdk
from infra.config_model import StackConfig
from infra.render.mock_answers import Mocks
from infra.render.recording import RecordedInvoke, RecordedResource, Recording, reveal, secret


class _RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that keeps each registration's options and marks secret outputs secret,
    as the engine does for `additionalSecretOutputs`."""

    def __init__(self, recording: Recording) -> None:
        super().__init__(Mocks())
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
                state[key] = secret(state[key])
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


def _give_the_thread_a_loop() -> None:
    """The SDK asks for the thread's current loop (asyncio.get_event_loop). After an
    `asyncio.run` on this thread there is none, only a marker that one was cleared, and that
    call raises: start the render on a fresh loop then."""
    policy = asyncio.get_event_loop_policy()
    try:
        loop = policy.get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        policy.set_event_loop(policy.new_event_loop())


def run_offline(config: StackConfig, *, project: str = "taskstream") -> Recording:
    """Run `infra.program.build` for `config` under the recording mock engine."""
    from infra.program import build

    _give_the_thread_a_loop()
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
        # A name from an SDK module the lean loader leaves out fails the render, not only slows it.
        with lean_sdk.strict():
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
