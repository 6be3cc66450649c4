"""DigitalOcean invariants over a recorded stack: references are dependencies, data is kept.

Pure functions of a `Recording`, so every stack is checked the same way and a broken stack
built in a test shows that a check can fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra.render.recording import RecordedResource, Recording, reveal

DO_PREFIX = "digitalocean:"
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
DOCKER_CREDENTIALS = (
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
)
# What a `destroy` must never take with it in prod: the rows, the role owning them, the images.
DATA_HOLDING = (
    "digitalocean:index/databaseCluster:DatabaseCluster",
    "digitalocean:index/databaseDb:DatabaseDb",
    "digitalocean:index/databaseUser:DatabaseUser",
    "digitalocean:index/containerRegistry:ContainerRegistry",
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _identifiers(resource: RecordedResource) -> set[str]:
    """How another resource's input can name this one: its provider id, its `name` input."""
    found = {f"{resource.name}-id"}  # the mock engine's id for every resource
    name = reveal(resource.inputs).get("name")
    if isinstance(name, str) and name:
        found.add(name)
    return found


def undeclared_references(recording: Recording) -> list[str]:
    """Inputs naming another DigitalOcean resource of the stack without depending on it.

    Pulumi orders creates (and deletes) only along dependencies, and an input carries one only
    when it is built from the other resource's Output; a name or id typed as a string does
    not. The provider then calls DigitalOcean before the named resource exists (a 404 on
    create) or after it is gone. Source: Pulumi docs, "Inputs and outputs" (an output passed
    as an input records the dependency) and pulumi/pulumi sdk/python/lib/pulumi/runtime/rpc.py
    (serialize_properties collects per-property dependencies from Outputs only).
    """
    targets = [r for r in recording.resources if r.custom and r.type.startswith(DO_PREFIX)]
    named_by = {r.urn: _identifiers(r) for r in targets}
    sources = [
        r
        for r in recording.resources
        if r.custom and r.type.startswith((DO_PREFIX, "pulumi:providers:"))
    ]
    problems: list[str] = []
    for source in sources:
        for key, value in reveal(source.inputs).items():
            if key == "name":
                continue  # a resource's own name names nothing else
            values = set(_strings(value))
            candidates = {
                urn
                for urn, identifiers in named_by.items()
                if urn != source.urn and identifiers & values
            }
            if candidates and not candidates & set(source.property_dependencies.get(key, [])):
                named = ", ".join(sorted(urn.rsplit("::", 1)[-1] for urn in candidates))
                problems.append(
                    f"{source.type} {source.name!r}: input {key!r} names {named} as a plain "
                    "value; pass that resource's Output so the input depends on it"
                )
    return problems


def credentials_without_a_source(recording: Recording) -> list[str]:
    """Pull credentials whose registry name was typed in rather than read off the registry
    (or off the stack that owns it): their Create would race the registry's."""
    return [
        f"{creds.name!r}: registryName {reveal(creds.inputs).get('registryName')!r} depends "
        "on nothing; read it from the ContainerRegistry or the owning stack's output"
        for creds in recording.of_type(DOCKER_CREDENTIALS)
        if not creds.property_dependencies.get("registryName")
    ]


def unprotected_data(recording: Recording) -> list[str]:
    """Data-holding resources a `destroy --exclude-protected` would remove."""
    return [
        f"{r.type} {r.name!r} is not protected"
        for r in recording.resources
        if r.type in DATA_HOLDING and not r.protect
    ]


def clusters_leaking_on_destroy(recording: Recording) -> list[str]:
    """DOKS clusters whose delete would leave their load balancers and volumes billed.

    Source: pulumi-digitalocean 4.76.0 sdk/python/pulumi_digitalocean/kubernetes_cluster.py,
    `destroy_all_associated_resources`: only when true are the load balancers, volumes and
    volume snapshots created through the Kubernetes API destroyed with the cluster.
    """
    return [
        f"cluster {c.name!r} does not set destroyAllAssociatedResources"
        for c in recording.of_type(CLUSTER)
        if c.inputs.get("destroyAllAssociatedResources") is not True
    ]
