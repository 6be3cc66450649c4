"""The render's pure parts: redaction, ordering, secret stand-ins and the policy step."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from infra.render.graph import dependency_order
from infra.render.mock_answers import SECRET_MARKER
from infra.render.plan import short_type
from infra.render.recording import RecordedResource, Recording
from infra.render.redact import REDACTED, redact
from infra.render.source import secret_stand_ins
from infra.render.verdict import check
from policy.model import Resource
from tests.infra.render.rendered import ROOT


def _secret(value: object) -> dict[str, object]:
    return {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": value}


def _resource(name: str, parent: str = "", deps: tuple[str, ...] = ()) -> RecordedResource:
    urn = f"urn:pulumi:dev::taskstream::test:index:Thing::{name}"
    return RecordedResource(
        "test:index:Thing", name, urn, True, {}, parent, "", list(deps), False, "", []
    )


def test_a_secret_map_keeps_its_keys_and_masks_every_value() -> None:
    inputs = {"stringData": _secret({"url": "postgres://x", "nested": {"token": "t"}})}
    assert redact(inputs) == {"stringData": {"url": REDACTED, "nested": {"token": REDACTED}}}


def test_whole_float_numbers_come_back_as_integers_and_others_stay() -> None:
    assert redact({"replicas": 2.0, "ratio": 0.5}) == {"replicas": 2, "ratio": 0.5}, (
        "the engine's doubles were not turned back into integers"
    )


def test_dependencies_come_before_their_dependents_in_waves() -> None:
    a = _resource("a")
    b = _resource("b", parent=a.urn)
    c = _resource("c", deps=(b.urn,))
    steps = dependency_order(Recording(resources=[c, b, a]))
    assert [(s.name, s.wave) for s in steps] == [("a", 0), ("b", 1), ("c", 2)], (
        f"wrong order: {steps}"
    )


def test_the_order_within_a_wave_does_not_depend_on_registration_order() -> None:
    root = _resource("root")
    wave = [_resource(name, parent=root.urn) for name in ("delta", "alpha", "charlie", "bravo")]
    last = _resource("last", deps=tuple(r.urn for r in wave))
    resources = [root, *wave, last]
    orders = set()
    for seed in range(6):
        shuffled = list(resources)
        random.Random(seed).shuffle(shuffled)
        orders.add(tuple(s.name for s in dependency_order(Recording(resources=shuffled))))
    assert orders == {("root", "alpha", "bravo", "charlie", "delta", "last")}, orders


def test_a_dependency_cycle_is_reported_with_the_resources_in_it() -> None:
    a = _resource("a", deps=("urn:pulumi:dev::taskstream::test:index:Thing::b",))
    b = _resource("b", deps=(a.urn,))
    with pytest.raises(ValueError, match="cycle among: a, b"):
        dependency_order(Recording(resources=[a, b]))


def test_index_modules_are_dropped_from_short_type_names() -> None:
    assert short_type("digitalocean:index/vpc:Vpc") == "digitalocean:Vpc"
    assert short_type("kubernetes:apps/v1:Deployment") == "kubernetes:apps/v1:Deployment"


def test_missing_webhook_urls_get_marked_stand_ins_for_each_receiver() -> None:
    stand_ins = secret_stand_ins({"alertReceivers": '["oncall", "team"]'})
    urls = json.loads(stand_ins["alertWebhookUrls"])
    assert set(urls) == {"oncall", "team"}, "a receiver has no stand-in URL"
    assert all(SECRET_MARKER in url and url.startswith("https://") for url in urls.values())
    assert secret_stand_ins({}) == {}, "a stack without receivers needs no stand-in"


def test_only_a_stack_that_turns_kagent_on_gets_a_stand_in_for_its_api_key() -> None:
    assert "kagentApiKey" not in secret_stand_ins({"kagent": "false"})
    assert secret_stand_ins({"kagent": "true"})["kagentApiKey"] == SECRET_MARKER


def test_a_privileged_container_fed_to_the_policy_step_is_a_violation() -> None:
    pod = {"containers": [{"name": "x", "image": "x:1", "securityContext": {"privileged": True}}]}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bad"},
        "spec": {"replicas": 1, "template": {"spec": pod}},
    }
    violations = check([Resource("kubernetes:apps/v1:Deployment", "bad", deployment)], "dev")
    assert "no-privilege" in {v.policy for v in violations}, f"not flagged: {violations}"


def test_a_render_after_asyncio_run_on_the_same_thread_still_runs(tmp_path: Path) -> None:
    # asyncio.run leaves the thread without a current loop; the SDK asks for one.
    probe = (
        "import asyncio, sys\n"
        "asyncio.run(asyncio.sleep(0))\n"
        "from taskstream.cli import main\n"
        f"sys.argv = ['taskstream', 'render', '--stack', 'local', '--out', {str(tmp_path)!r}]\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (tmp_path / "plan.json").is_file()
