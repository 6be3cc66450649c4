"""What daprd needs from each rendered Dapr-enabled pod to start and to trust its app."""

from __future__ import annotations

from infra.offline import Recording, reveal
from policy.model import Resource
from policy.rules import evaluate


def _as_policy_resources(recorded: Recording) -> list[Resource]:
    return [Resource(r.type, r.name, reveal(r.inputs), r.protect) for r in recorded.resources]


def test_no_rendered_dapr_pod_leaves_daprd_a_secret_store_it_cannot_start(
    recorded: Recording, stack: str
) -> None:
    found = [
        str(v)
        for v in evaluate(_as_policy_resources(recorded), stack)
        if v.policy == "dapr-sidecar-without-token"
    ]
    assert found == [], "\n".join(found)
