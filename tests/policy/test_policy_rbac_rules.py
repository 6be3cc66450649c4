"""read-only-roles: a role labelled read-only reads, and never Secrets."""

from __future__ import annotations

from typing import Any

import pytest

from infra.components import kagent
from policy import rbac_rules
from policy.model import Resource
from policy.rules import evaluate

CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"


def _role(rules: list[dict[str, Any]], *, read_only: bool = True) -> Resource:
    labels = {rbac_rules.ACCESS_LABEL: rbac_rules.READ_ONLY} if read_only else {}
    inputs = {"metadata": {"name": "r", "labels": labels}, "rules": rules}
    return Resource(CLUSTER_ROLE, "r", inputs, False)


def _messages(role: Resource) -> list[str]:
    return [v.message for v in evaluate([role], "dev") if v.policy == "read-only-roles"]


def test_kagents_role_is_read_only_by_the_rule() -> None:
    assert (kagent.ACCESS_LABEL, kagent.READ_ONLY) == (
        rbac_rules.ACCESS_LABEL,
        rbac_rules.READ_ONLY,
    ), "infra labels its roles with what the rule looks for"
    assert _messages(_role(kagent.READ_ONLY_RULES)) == []


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}, "patch"),
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}, "grants *"),
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}, "Secrets"),
        ({"apiGroups": [""], "resources": ["*"], "verbs": ["list"]}, "wildcard"),
        ({"apiGroups": ["*"], "resources": ["pods"], "verbs": ["list"]}, "wildcard"),
        ({"nonResourceURLs": ["/metrics"], "verbs": ["get"]}, "non-resource"),
    ],
)
def test_a_read_only_role_that_writes_or_reads_secrets_fails(
    rule: dict[str, Any], expected: str
) -> None:
    [message] = _messages(_role([rule]))
    assert expected in message, message


def test_a_role_not_labelled_read_only_is_not_this_rules_business() -> None:
    admin = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
    assert _messages(_role([admin], read_only=False)) == []
