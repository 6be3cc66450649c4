"""Pieces every namespace's NetworkPolicies are built from, and the cluster's own peers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Manifest = dict[str, Any]

# CoreDNS keeps the kube-dns name and label on DOKS, kind and minikube alike
# (kubernetes/kubernetes cluster/addons/dns/coredns, `k8s-app: kube-dns`).
KUBE_DNS_NAMESPACE = "kube-system"
KUBE_DNS_POD_LABELS = {"k8s-app": "kube-dns"}
DNS_PORT = 53
# The API server sits outside the pod network: DOKS's managed control plane answers on 443,
# kind's and minikube's on 6443. Only an ipBlock can name it.
KUBE_API_PORTS = (443, 6443)
ANYWHERE = "0.0.0.0/0"
# Set by the API server on every namespace since Kubernetes 1.22.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def namespace_peer(namespace: str) -> Manifest:
    """Every pod of one namespace."""
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}


def pods_peer(namespace: str, labels: Mapping[str, str]) -> Manifest:
    """The pods of `namespace` that carry all of `labels`."""
    return {**namespace_peer(namespace), "podSelector": {"matchLabels": dict(labels)}}


def names_selector(label: str, values: Sequence[str]) -> Manifest:
    """A podSelector for the pods whose `label` is one of `values`."""
    return {"matchExpressions": [{"key": label, "operator": "In", "values": sorted(values)}]}


def ports(*numbers: int, protocol: str = "TCP") -> list[Manifest]:
    return [{"protocol": protocol, "port": number} for number in numbers]


def default_deny() -> Manifest:
    """No pod of the namespace sends or receives anything another policy does not allow."""
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def dns_egress(pod_selector: Manifest) -> Manifest:
    """Name lookups through the cluster DNS, over UDP and TCP, and nowhere else on port 53."""
    return {
        "podSelector": pod_selector,
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [pods_peer(KUBE_DNS_NAMESPACE, KUBE_DNS_POD_LABELS)],
                "ports": ports(DNS_PORT, protocol="UDP") + ports(DNS_PORT),
            }
        ],
    }
