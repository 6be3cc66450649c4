"""DigitalOcean's own rules for names and networks, shared by the config reader and the policy pack.

Standard library only: the policy pack imports this module from its own virtualenv.
"""

from __future__ import annotations

import ipaddress
import re

# docs.digitalocean.com/reference/api (POST /v2/registries, "name"): "A globally unique name for
# the container registry. Must be lowercase and be composed only of numbers, letters and -, up
# to a limit of 63 characters."
REGISTRY_NAME = re.compile(r"^[a-z0-9-]{1,63}$")
# Registry names are global across all DigitalOcean customers, so the project's own name is
# almost certainly someone else's registry already.
BARE_REGISTRY_NAMES = frozenset({"taskstream"})

# docs.digitalocean.com/products/networking/vpc/concepts/plan-your-network/ and the
# digitalocean_vpc reference (terraform provider v2.76.0, which pulumi-digitalocean 4.76.0
# bridges): a VPC range is RFC 1918 private space, from /16 (largest) down to /28, and "cannot
# overlap with other networks in the same account". A DOKS cluster needs room for its nodes and
# the load balancers in the VPC, so this project stops at /24.
RFC1918 = tuple(
    ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
VPC_LARGEST_PREFIX = 16
VPC_SMALLEST_PREFIX = 24
# DOKS puts pods in 10.244.0.0/16 and Services in 10.245.0.0/16 unless a cluster sets its own
# subnets (pulumi-digitalocean 4.76.0 KubernetesCluster cluster_subnet / service_subnet; DO
# reserves these and 10.246.0.0/24 for DOKS), so a VPC there would collide with the cluster.
DOKS_RESERVED = tuple(
    ipaddress.IPv4Network(block) for block in ("10.244.0.0/16", "10.245.0.0/16", "10.246.0.0/24")
)


def vpc_range_problem(text: str) -> str | None:
    """Why DigitalOcean (or DOKS) would refuse `text` as a VPC range; None when it is fine."""
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        return f"{text!r} is not a CIDR network address such as 10.110.0.0/20"
    if not isinstance(network, ipaddress.IPv4Network):
        return f"{text} is not IPv4"
    if not any(network.subnet_of(block) for block in RFC1918):
        return f"{text} is not RFC 1918 private space (10/8, 172.16/12, 192.168/16)"
    if not VPC_LARGEST_PREFIX <= network.prefixlen <= VPC_SMALLEST_PREFIX:
        return (
            f"{text} is a /{network.prefixlen}; use /{VPC_LARGEST_PREFIX} to /{VPC_SMALLEST_PREFIX}"
        )
    for reserved in DOKS_RESERVED:
        if network.overlaps(reserved):
            return f"{text} overlaps {reserved}, which DOKS uses for pods or Services"
    return None


def registry_name_problem(name: str) -> str | None:
    """Why `name` cannot be this project's registry name; None when it is fine."""
    if not REGISTRY_NAME.match(name):
        return (
            f"{name!r} is not a registry name: lowercase letters, digits and '-', "
            "at most 63 characters"
        )
    if name in BARE_REGISTRY_NAMES:
        return (
            f"{name!r} is the bare project name; registry names are global across "
            "DigitalOcean, so pick one of your own (or leave it unset for a generated one)"
        )
    return None
