"""What daprd needs from each rendered Dapr-enabled pod to start and to trust its app."""

from __future__ import annotations

from typing import Any

from app import contract
from infra.render.mock_answers import SECRET_MARKER
from infra.render.recording import Recording, reveal
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


DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SECRET = "kubernetes:core/v1:Secret"
# The sidecar injector reads this key of the Secrets the token annotations name.
TOKEN_KEY = "token"
TOKEN_ANNOTATIONS = {
    "dapr.io/app-token-secret": contract.ENV_APP_API_TOKEN,
    "dapr.io/api-token-secret": contract.ENV_DAPR_API_TOKEN,
}


def _secrets(recorded: Recording) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for secret in recorded.of_type(SECRET):
        inputs = reveal(secret.inputs)
        meta = inputs["metadata"]
        found[(meta.get("namespace"), meta["name"])] = inputs.get("stringData") or {}
    return found


def test_every_dapr_pod_names_both_token_secrets_and_its_app_reads_the_same_ones(
    recorded: Recording, stack: str
) -> None:
    secrets = _secrets(recorded)
    dapr_pods = 0
    for deployment in recorded.of_type(DEPLOYMENT):
        inputs = reveal(deployment.inputs)
        template = inputs["spec"]["template"]
        annotations = template["metadata"].get("annotations", {})
        if annotations.get("dapr.io/enabled") != "true":
            continue
        dapr_pods += 1
        namespace = inputs["metadata"]["namespace"]
        [container] = template["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        for annotation, variable in TOKEN_ANNOTATIONS.items():
            where = f"{stack}/{deployment.name} {annotation}"
            name = annotations.get(annotation)
            assert name, f"{where} is not set: daprd runs without that token"
            assert TOKEN_KEY in secrets.get((namespace, name), {}), f"{where}: no Secret {name}"
            ref = env.get(variable, {}).get("valueFrom", {}).get("secretKeyRef")
            assert ref == {"name": name, "key": TOKEN_KEY}, f"{where}: the app reads {ref}"
    assert dapr_pods == len(contract.PROCESSES), f"{stack} has {dapr_pods} Dapr-enabled pods"


def test_each_token_is_its_own_generated_password(recorded: Recording) -> None:
    deployment = reveal(recorded.named(contract.API.name).inputs)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    namespace = deployment["metadata"]["namespace"]
    secrets = _secrets(recorded)
    generated = {
        f"{SECRET_MARKER}-{r.name}": r.inputs
        for r in recorded.resources
        if r.type == "random:index/randomPassword:RandomPassword"
    }
    values = [secrets[(namespace, annotations[a])][TOKEN_KEY] for a in TOKEN_ANNOTATIONS]
    for value in values:
        assert value in generated, f"a token is not a pulumi-random password: {value}"
        assert generated[value]["length"] >= 32, "a token is shorter than 32 characters"
    assert len(set(values)) == 2, "one token serves both directions"
