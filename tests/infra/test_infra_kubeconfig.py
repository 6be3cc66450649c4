"""The cluster provider's kubeconfig carries no token, so it is the same on every run."""

from __future__ import annotations

import json

from infra.components.cluster import exec_kubeconfig
from infra.render.mock_answers import SECRET_MARKER
from infra.render.recording import is_secret, reveal
from tests.infra.stacks import recording

PROVIDER = "pulumi:providers:kubernetes"
CLUSTER_READ = "digitalocean:index/getKubernetesCluster:getKubernetesCluster"


def _provider_kubeconfig(stack: str) -> str:
    provider = recording(stack).of_type(PROVIDER)[0]
    raw = provider.inputs["kubeconfig"]
    assert is_secret(raw), "the kubeconfig is not a Pulumi secret"
    return str(reveal(raw))


def test_the_cluster_provider_authenticates_through_doctl_and_holds_no_token() -> None:
    for stack in ("dev", "prod"):
        raw = _provider_kubeconfig(stack)
        assert SECRET_MARKER not in raw, (
            f"{stack}: a token sits in the provider's kubeconfig; it changes on every run "
            "(drift) and expires after 7 days in state (refresh)"
        )
        config = json.loads(raw)
        (user,) = config["users"]  # type: ignore[misc]
        exec_ = user["user"]["exec"]
        assert exec_["command"] == "doctl", exec_
        assert exec_["args"][:4] == ["kubernetes", "cluster", "kubeconfig", "exec-credential"]
        assert exec_["args"][-1] == "cluster-id", "doctl is not pointed at this stack's cluster"
        (cluster,) = config["clusters"]  # type: ignore[misc]
        assert cluster["cluster"]["server"] == "https://cluster.k8s.ondigitalocean.com"


def test_the_program_no_longer_reads_a_fresh_token_on_every_run() -> None:
    tokens = [invoke.token for invoke in recording("dev").invokes]
    assert CLUSTER_READ not in tokens, "a per-run kubeconfig read brings the token churn back"


def test_the_exec_kubeconfig_is_a_pure_function_of_the_cluster() -> None:
    first = exec_kubeconfig("c", "id-1", "https://c.example", "Q0E=")
    assert first == exec_kubeconfig("c", "id-1", "https://c.example", "Q0E="), "not stable"
    assert first != exec_kubeconfig("c", "id-2", "https://c.example", "Q0E="), "ignores the id"
