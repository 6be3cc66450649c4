"""kagent, the optional AI operations assistant, with read-only access to the cluster.

Off unless a stack sets `taskstream:kagent: "true"` (docs/operations.md, "AI-assisted
operations"). What the pinned chart would grant and what we change, read from
kagent-dev/kagent helm/kagent at v0.9.12 and its kagent-tools subchart 0.2.1
(kagent-dev/tools helm/kagent-tools at v0.2.1):

* The tool server (the only component that calls the Kubernetes API for the agents) gets a
  ClusterRole of `*` verbs on `*` resources by default. We turn the chart's RBAC for it off
  (`kagent-tools.rbac.create: false`), bind its ServiceAccount to our own ClusterRole of
  get/list/watch without Secrets (`READ_ONLY_RULES`, checked by the policy rule
  `read-only-roles`), and start it with `--read-only`, which drops its write tools.
* The controller reads every core resource, Secrets included, cluster-wide by default;
  `rbac.namespaces: [kagent]` confines its Roles to its own namespace, where the model key is.
* kmcp (an MCP server operator with its own cluster-wide RBAC), the Grafana MCP server, the
  docs server and every agent but the Kubernetes one are off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra import versions
from infra.components import helm
from infra.components.placement import InCluster, api, labels
from infra.config_model import KagentConfig

Manifest = dict[str, Any]

NAMESPACE = "kagent"
RELEASE = "kagent"
CRDS_RELEASE = "kagent-crds"
# The tool server's ServiceAccount: the subchart's fullname, release + nameOverride "tools".
TOOLS_NAME_OVERRIDE = "tools"
TOOLS_SERVICE_ACCOUNT = f"{RELEASE}-{TOOLS_NAME_OVERRIDE}"
# Marks a role the policy rule `read-only-roles` holds to get/list/watch without Secrets.
ACCESS_LABEL = "taskstream.io/access"
READ_ONLY = "read-only"
READ_VERBS = ("get", "list", "watch")
# The Secret and key each provider's ModelConfig reads (values.yaml providers.<name>).
PROVIDER_SECRETS: dict[str, tuple[str, str]] = {
    "openAI": ("kagent-openai", "OPENAI_API_KEY"),
    "anthropic": ("kagent-anthropic", "ANTHROPIC_API_KEY"),
    "gemini": ("kagent-gemini", "GOOGLE_API_KEY"),
}
# Agents the chart installs by default; only the Kubernetes one stays.
DISABLED_SUBCHARTS = (
    "kmcp",
    "grafana-mcp",
    "querydoc",
    "kgateway-agent",
    "istio-agent",
    "promql-agent",
    "observability-agent",
    "argo-rollouts-agent",
    "helm-agent",
    "cilium-policy-agent",
    "cilium-manager-agent",
    "cilium-debug-agent",
)

# What an operator asks about: workloads, their logs and events, scaling, routes, policies.
# Secrets are left out on purpose; so is every write verb.
READ_ONLY_RULES: list[Manifest] = [
    {
        "apiGroups": [""],
        "resources": [
            "pods",
            "pods/log",
            "services",
            "endpoints",
            "configmaps",
            "events",
            "namespaces",
            "nodes",
            "persistentvolumeclaims",
            "serviceaccounts",
        ],
        "verbs": list(READ_VERBS),
    },
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": list(READ_VERBS)},
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"],
        "verbs": list(READ_VERBS),
    },
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": list(READ_VERBS)},
    {
        "apiGroups": ["autoscaling"],
        "resources": ["horizontalpodautoscalers"],
        "verbs": list(READ_VERBS),
    },
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": list(READ_VERBS)},
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["networkpolicies"],
        "verbs": list(READ_VERBS),
    },
    {
        "apiGroups": ["gateway.networking.k8s.io"],
        "resources": ["gateways", "httproutes"],
        "verbs": list(READ_VERBS),
    },
    {
        "apiGroups": ["dapr.io"],
        "resources": ["components", "configurations", "subscriptions", "resiliencies"],
        "verbs": list(READ_VERBS),
    },
    {
        "apiGroups": ["monitoring.coreos.com"],
        "resources": ["prometheusrules", "servicemonitors", "podmonitors"],
        "verbs": list(READ_VERBS),
    },
]


def kagent_values(config: KagentConfig) -> Manifest:
    """kagent chart values: one provider whose key we store, tools read-only, extras off."""
    values: Manifest = {
        "providers": {"default": config.provider},
        "rbac": {"namespaces": [NAMESPACE]},
        "controller": {"watchNamespaces": [NAMESPACE]},
        "kagent-tools": {
            "nameOverride": TOOLS_NAME_OVERRIDE,
            "rbac": {"create": False},
            "tools": {"args": ["--read-only"]},
        },
    }
    for subchart in DISABLED_SUBCHARTS:
        values[subchart] = {"enabled": False}
    return values


@dataclass(frozen=True)
class KagentArgs:
    config: KagentConfig
    placement: InCluster


class Kagent(pulumi.ComponentResource):
    """Creates the kagent namespace, the model API key's Secret, the kagent-crds and kagent
    releases, and the read-only ClusterRole bound to kagent's tool server.

    Outputs: release.
    """

    def __init__(self, name: str, args: KagentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("taskstream:platform:Kagent", name, None, opts)
        placement = args.placement
        ns = helm.namespace(NAMESPACE, placement=placement, parent=self, labels=labels("kagent"))
        secret_name, secret_key = PROVIDER_SECRETS[args.config.provider]
        key = k8s.core.v1.Secret(
            "kagent-model-key",
            metadata=api({"name": secret_name, "namespace": NAMESPACE, "labels": labels("kagent")}),
            type="Opaque",
            string_data={secret_key: pulumi.Output.secret(args.config.api_key.value)},
            opts=placement.opts(self, depends_on=[ns]),
        )
        role = k8s.rbac.v1.ClusterRole(
            "kagent-read-only",
            metadata=api(
                {
                    "name": "kagent-read-only",
                    "labels": {**labels("kagent"), ACCESS_LABEL: READ_ONLY},
                }
            ),
            rules=[api(rule) for rule in READ_ONLY_RULES],
            opts=placement.opts(self),
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            "kagent-read-only",
            metadata=api({"name": "kagent-read-only", "labels": labels("kagent")}),
            role_ref=api(
                {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "kagent-read-only",
                }
            ),
            subjects=[
                api(
                    {
                        "kind": "ServiceAccount",
                        "name": TOOLS_SERVICE_ACCOUNT,
                        "namespace": NAMESPACE,
                    }
                )
            ],
            opts=placement.opts(self, depends_on=[role]),
        )
        # The CRDs ship as their own chart and must exist before the kagent chart's resources.
        crds = helm.release(
            CRDS_RELEASE,
            chart=versions.KAGENT_CRDS,
            namespace=NAMESPACE,
            values={},
            placement=placement,
            parent=self,
            depends_on=[ns],
        )
        self.release = helm.release(
            RELEASE,
            chart=versions.KAGENT,
            namespace=NAMESPACE,
            values=kagent_values(args.config),
            placement=placement,
            parent=self,
            depends_on=[crds, key, binding],
        )
        self.register_outputs({"namespace": NAMESPACE})
