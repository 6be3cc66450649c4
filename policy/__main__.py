"""The CrossGuard policy pack: wraps the pure rules of policy/rules.py for the Pulumi engine.

Pulumi runs this file with the pack's own virtualenv (policy/requirements.txt), which is why
it is the only module importing pulumi_policy: the project's environment cannot install it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# The engine runs the pack from inside policy/; the rules import themselves as `policy.*`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import (  # type: ignore[import-not-found]
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError  # type: ignore[import-not-found]

from policy.model import Resource, Rule, stack_from_urn, to_plain
from policy.rules import RULES, check_resource

_UNKNOWN_ERRORS = (UnknownValueError,)


def _resource(policy_resource: Any, props: Any) -> Resource:
    return Resource(
        type=policy_resource.resource_type,
        name=policy_resource.name,
        inputs=to_plain(props, _UNKNOWN_ERRORS),
        protect=bool(policy_resource.opts.protect),
    )


def _resource_policy(rule: Rule) -> Any:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = _resource(args, args.props)
        for violation in check_resource(rule, resource, stack_from_urn(args.urn), ()):
            report_violation(violation.message, None)

    return ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validate)


def _stack_policy(rule: Rule) -> Any:
    # Stack policies see every resource, so cross-resource rules (PDBs, HPAs) can look around.
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        located = [(r.urn, _resource(r, r.props)) for r in args.resources]
        resources = [resource for _, resource in located]
        stack = stack_from_urn(located[0][0]) if located else ""
        for urn, resource in located:
            for violation in check_resource(rule, resource, stack, resources):
                report_violation(violation.message, urn)

    return StackValidationPolicy(name=rule.name, description=rule.description, validate=validate)


PolicyPack(
    name="taskstream",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        _stack_policy(rule) if rule.cross_resource else _resource_policy(rule) for rule in RULES
    ],
)
