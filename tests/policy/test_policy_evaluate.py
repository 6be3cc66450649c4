"""`evaluate` is the entry point the offline render uses; the pack's plumbing is pure too."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy_builders import DEPLOYMENT, deployment, deployment_inputs, healthy_prod_stack

from policy.model import UNKNOWN, Violation, is_production, stack_from_urn, to_plain
from policy.rules import RULES, evaluate


def test_a_healthy_prod_stack_has_no_violations() -> None:
    assert evaluate(healthy_prod_stack(), "prod") == []


def test_every_rule_has_a_unique_name_and_a_description() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names)), names
    assert all(rule.description.endswith(".") for rule in RULES)


def test_resources_may_be_plain_tuples_of_type_name_inputs_protect() -> None:
    inputs = deployment_inputs(replicas=1)
    found = evaluate([(DEPLOYMENT, "api", inputs, False)], "prod")
    assert {v.policy for v in found} == {"prod-replicas", "prod-disruption-budget"}, found
    assert all(v.resource_name == "api" and v.resource_type == DEPLOYMENT for v in found)


def test_a_violation_reads_as_one_line_naming_rule_and_resource() -> None:
    violation = Violation("pinned-images", DEPLOYMENT, "api", "image 'x' has no tag")
    assert str(violation) == f"[pinned-images] {DEPLOYMENT} 'api': image 'x' has no tag"


def test_violations_come_in_resource_order() -> None:
    stack = [deployment("first", replicas=1), deployment("second", replicas=1)]
    names = [v.resource_name for v in evaluate(stack, "prod")]
    assert names == sorted(names), names


def test_the_stack_name_is_read_from_a_urn() -> None:
    urn = "urn:pulumi:prod::taskstream::kubernetes:apps/v1:Deployment::api"
    assert stack_from_urn(urn) == "prod"
    assert stack_from_urn("not-a-urn") == ""


def test_only_prod_stacks_are_production() -> None:
    assert is_production("prod")
    assert is_production("acme/taskstream/prod")
    assert not is_production("dev")
    assert not is_production("preprod")


class _UnknowableError(Exception):
    pass


class _EngineProxy(Mapping[str, Any]):
    """Behaves like pulumi-policy's proxy: reading an unknown value raises."""

    def __init__(self, data: dict[str, Any], unknown: set[str]) -> None:
        self._data, self._unknown = data, unknown

    def __getitem__(self, key: str) -> Any:
        if key in self._unknown:
            raise _UnknowableError(key)
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_engine_proxies_become_plain_data_with_unknowns_marked() -> None:
    inner = _EngineProxy({"image": "pending", "name": "api"}, unknown={"image"})
    plain = to_plain({"containers": [inner], "replicas": 2}, (_UnknowableError,))
    assert plain == {"containers": [{"image": UNKNOWN, "name": "api"}], "replicas": 2}
    assert isinstance(plain["containers"][0], dict)
