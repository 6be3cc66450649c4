"""Rules about the access we grant: a role that says it is read-only is read-only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.model import Context, dig, mapping, sequence

ROLE_TYPES = frozenset(
    {
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "kubernetes:rbac.authorization.k8s.io/v1:Role",
    }
)
# The label infra/components/kagent.py puts on the roles it hands an assistant.
ACCESS_LABEL = "taskstream.io/access"
READ_ONLY = "read-only"
# The verbs that only read (Kubernetes docs, reference/access-authn-authz/authorization,
# "Determine the request verb"): everything else writes, escalates or impersonates.
READ_VERBS = frozenset({"get", "list", "watch"})


def read_only_roles(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """A role labelled read-only grants get/list/watch only, and never on Secrets.

    A wildcard resource or API group is refused too: `*` in the core group covers Secrets,
    and a wildcard cannot be shown to leave them out.
    """
    if resource_type not in ROLE_TYPES:
        return []
    if mapping(dig(inputs, "metadata", "labels")).get(ACCESS_LABEL) != READ_ONLY:
        return []
    problems: list[str] = []
    for index, rule in enumerate(sequence(inputs.get("rules"))):
        verbs = {str(verb) for verb in sequence(mapping(rule).get("verbs"))}
        resources = {str(name) for name in sequence(mapping(rule).get("resources"))}
        groups = {str(group) for group in sequence(mapping(rule).get("apiGroups"))}
        writes = sorted(verbs - READ_VERBS)
        if writes:
            problems.append(f"rule {index} of a read-only role grants {', '.join(writes)}")
        if "*" in resources or "*" in groups:
            problems.append(f"rule {index} of a read-only role uses a wildcard resource or group")
        if "" in groups and "secrets" in resources:
            problems.append(f"rule {index} of a read-only role reads Secrets")
        if mapping(rule).get("nonResourceURLs"):
            problems.append(f"rule {index} of a read-only role grants non-resource URLs")
    return problems
