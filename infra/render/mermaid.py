"""The platform as a picture: its component graph in Mermaid, drawn from a recorded plan.

What the picture shows, and what it leaves out so that it stays readable:

* every top-level component is a subgraph; inside it are its Helm releases and its
  DigitalOcean resources, one node each;
* a component's own Kubernetes objects (Namespaces, Secrets, Deployments, ...: 60 of them
  on prod) are one node, "Kubernetes objects": drawn one by one, with the dozens of
  `dependsOn` edges the app's objects carry, the graph is unreadable. The objects inside a
  Helm release are not in the plan at all (the chart makes them);
* providers, generated passwords, stack references and image builds are not drawn; a
  dependency that runs through one of them is drawn to what that one waits for (every
  in-cluster resource waits for the cluster, through the Kubernetes provider);
* an arrow runs from what is created first to what waits for it (`dependsOn`, a value read
  off another resource, or a provider), and a node's parent is the subgraph it sits in;
* inside a component, arrows to or from its objects node are left out: the objects sit on
  both sides of a release (a Namespace before it, a custom resource of its CRDs after it),
  and drawn as one node they would make a cycle that is not there;
* an arrow that another path already implies is left out (the transitive reduction): the
  cluster points at the first things in it, not at everything in it.

The output is sorted, so the same plan always gives the same text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from infra.render.recording import RecordedResource, Recording

HELM_RELEASE = "kubernetes:helm.sh/"
KUBERNETES = "kubernetes:"
DIGITALOCEAN = "digitalocean:"
OBJECTS = "objects"
OBJECTS_LABEL = "Kubernetes objects"


@dataclass(frozen=True)
class Node:
    id: str
    component: str
    text: str


def _id(*parts: str) -> str:
    return "_".join(re.sub(r"[^a-z0-9]+", "_", part.lower()).strip("_") for part in parts)


def _label(*lines: str) -> str:
    text = "<br/>".join(lines)
    return '"' + text.replace('"', "#quot;") + '"'


def _type_name(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def _is_release(resource: RecordedResource) -> bool:
    return resource.custom and resource.type.startswith(HELM_RELEASE)


def _is_cloud(resource: RecordedResource) -> bool:
    return resource.custom and resource.type.startswith(DIGITALOCEAN)


def _is_object(resource: RecordedResource) -> bool:
    return (
        resource.custom
        and resource.type.startswith(KUBERNETES)
        and not resource.type.startswith(HELM_RELEASE)
    )


def _own_node(resource: RecordedResource, component: str) -> Node | None:
    """The node `resource` is drawn as (its component's objects node for a Kubernetes
    object), or None when it is not drawn."""
    if _is_release(resource):
        name = str(resource.inputs.get("name") or resource.name)
        return Node(_id("helm", name), component, f"([{_label(name, 'Helm release')}])")
    if _is_cloud(resource):
        type_name = _type_name(resource.type)
        node_id = _id("do", type_name, resource.name)
        return Node(node_id, component, f"[{_label(resource.name, type_name)}]")
    if _is_object(resource):
        return Node(_id(OBJECTS, component), component, f"[[{_label(OBJECTS_LABEL)}]]")
    return None


def _provider_urn(reference: str) -> str:
    # A provider reference is "<urn>::<id>"; the URN itself contains "::" separators.
    return reference.rsplit("::", 1)[0] if reference else ""


class _Graph:
    def __init__(self, recording: Recording, component: Mapping[str, str]) -> None:
        self.by_urn = {r.urn: r for r in recording.resources}
        self.node_of: dict[str, Node] = {}
        for r in recording.resources:
            node = _own_node(r, component.get(r.urn, ""))
            if node is not None:
                self.node_of[r.urn] = node
        self.component = component
        self._targets: dict[str, frozenset[str]] = {}

    def predecessors(self, resource: RecordedResource) -> list[str]:
        return [*resource.dependencies, _provider_urn(resource.provider)]

    def targets(self, urn: str, seen: frozenset[str] = frozenset()) -> frozenset[str]:
        """The drawn nodes that stand for `urn` as something to wait for."""
        if urn in self._targets:
            return self._targets[urn]
        resource = self.by_urn.get(urn)
        found: frozenset[str]
        if resource is None or urn in seen:
            found = frozenset()
        elif urn in self.node_of:
            found = frozenset({self.node_of[urn].id})
        elif not resource.custom:
            # Waiting for a component is waiting for everything drawn inside it.
            found = frozenset(
                node.id
                for member, node in self.node_of.items()
                if self.component.get(member) == resource.name
            )
        else:
            # Not drawn: stand in for it with whatever it waits for itself.
            found = frozenset().union(
                *(self.targets(p, seen | {urn}) for p in self.predecessors(resource))
            )
        self._targets[urn] = found
        return found

    def edges(self) -> set[tuple[str, str]]:
        nodes = {node.id: node for node in self.node_of.values()}
        edges: set[tuple[str, str]] = set()
        for urn, node in self.node_of.items():
            for predecessor in self.predecessors(self.by_urn[urn]):
                for source in self.targets(predecessor):
                    inside = nodes[source].component == node.component
                    objects = OBJECTS in (source.split("_", 1)[0], node.id.split("_", 1)[0])
                    if source != node.id and not (inside and objects):
                        edges.add((source, node.id))
        return _reduced(edges)


def _reduced(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """`edges` without those another path implies: a -> c goes when a -> b -> ... -> c."""
    after: dict[str, set[str]] = {}
    for source, target in edges:
        after.setdefault(source, set()).add(target)

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen: set[str] = set()
        stack = [t for t in after.get(start, ()) if (start, t) != skip]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(after.get(current, ()))
        return seen

    return {(s, t) for s, t in edges if t not in reachable(s, (s, t))}


def mermaid(recording: Recording, component: Mapping[str, str]) -> str:
    """The component graph of `recording` as a Mermaid flowchart.

    `component` names the top-level component of every resource, by URN.
    """
    graph = _Graph(recording, component)
    nodes = {node.id: node for node in graph.node_of.values()}
    lines = ["flowchart LR"]
    for name in sorted({node.component for node in nodes.values()}):
        lines.append(f"  subgraph {_id('component', name)}[{_label(name)}]")
        members = sorted((n for n in nodes.values() if n.component == name), key=_key)
        lines.extend(f"    {node.id}{node.text}" for node in members)
        lines.append("  end")
    lines.extend(f"  {source} --> {target}" for source, target in sorted(graph.edges()))
    return "\n".join(lines) + "\n"


def _key(node: Node) -> str:
    return node.id
