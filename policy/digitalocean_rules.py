"""Rules about DigitalOcean's own constraints: VPC ranges, registry names, what destroy leaves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.digitalocean_limits import registry_name_problem, vpc_range_problem
from policy.model import Context, is_unknown

VPC = "digitalocean:index/vpc:Vpc"
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"


def vpc_range(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """A VPC names its range, and the range is one DigitalOcean and DOKS accept.

    Source: docs.digitalocean.com/products/networking/vpc/concepts/plan-your-network/ (RFC 1918,
    /16 to /28, no overlap with another network of the account) and pulumi-digitalocean 4.76.0
    KubernetesCluster cluster_subnet/service_subnet (DOKS's own 10.244/16 and 10.245/16).
    """
    if resource_type != VPC:
        return []
    ip_range = inputs.get("ipRange")
    if is_unknown(ip_range):
        return []
    if not isinstance(ip_range, str) or not ip_range:
        return [
            "the VPC sets no ipRange; set taskstream:vpcIpRange per stack so the ranges of the "
            "account's stacks are chosen, recorded and checked to be distinct"
        ]
    problem = vpc_range_problem(ip_range)
    return [] if problem is None else [f"ipRange {problem}"]


def registry_name(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """A created registry has a valid name of its own, not the project's bare name.

    Source: DigitalOcean API reference, POST /v2/registries: the name is "globally unique",
    lowercase letters, digits and '-', at most 63 characters.
    """
    if resource_type != REGISTRY:
        return []
    name = inputs.get("name")
    if is_unknown(name):
        return []  # generated (a pulumi-random suffix) and not known before it is created
    if not isinstance(name, str):
        return ["the registry has no name"]
    problem = registry_name_problem(name)
    return [] if problem is None else [problem]


def registry_protected(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """The container registry is protected in every stack: the other stacks pull from it.

    Source: docs.digitalocean.com/products/container-registry (basic tier: one registry per
    account), so one stack's `destroy` would take every stack's images.
    """
    if resource_type != REGISTRY or ctx.protect:
        return []
    return [
        "the registry is not protected; every stack of the account pulls from it, so declare "
        "it with ResourceOptions(protect=True)"
    ]


def cluster_takes_its_cloud_resources(
    resource_type: str, inputs: Mapping[str, Any], ctx: Context
) -> list[str]:
    """A DOKS cluster deletes the load balancers and volumes its controllers created.

    Source: pulumi-digitalocean 4.76.0 sdk/python/pulumi_digitalocean/kubernetes_cluster.py,
    `destroy_all_associated_resources`; without it the cluster's delete leaves them billed.
    """
    if resource_type != CLUSTER:
        return []
    value = inputs.get("destroyAllAssociatedResources")
    if is_unknown(value) or value is True:
        return []
    return [
        "destroyAllAssociatedResources is not true; deleting the cluster would leave its load "
        "balancers and volumes running and billed"
    ]
