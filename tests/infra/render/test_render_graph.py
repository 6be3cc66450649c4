"""The component graph the render draws (graph.mmd), and the README's copy of prod's."""

from __future__ import annotations

import re

import pytest

from infra.render.graph import components
from infra.render.mermaid import mermaid
from infra.render.recording import RecordedResource, Recording
from tests.infra.render.rendered import Rendered, rendered
from tools.dev.readme_graph import README, embed, embedded

NODE = re.compile(r"^    (\w+)[\[(]")
EDGE = re.compile(r"^  (\w+) --> (\w+)$")


def _nodes(graph: str) -> set[str]:
    return {m.group(1) for line in graph.splitlines() if (m := NODE.match(line))}


def _edges(graph: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for line in graph.splitlines() if (m := EDGE.match(line))]


def _graph(render: Rendered) -> str:
    return (render.out / "graph.mmd").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    # The same directory as conftest's `render`, so the session renders prod only once.
    return rendered("prod", tmp_path_factory.getbasetemp() / "render")


def test_the_readme_shows_the_graph_the_program_renders_for_prod(prod: Rendered) -> None:
    readme = README.read_text(encoding="utf-8")
    assert embedded(readme) == _graph(prod), (
        "README.md's component graph is stale: run `uv run python tools/dev/readme_graph.py`"
    )


def test_embedding_replaces_only_the_block_between_the_markers() -> None:
    readme = README.read_text(encoding="utf-8")
    changed = embed(readme, "flowchart LR\n  a --> b\n")
    assert embedded(changed) == "flowchart LR\n  a --> b\n"
    before, after = readme.split("<!-- component graph", 1)[0], readme.rsplit("graph -->", 1)[1]
    assert changed.startswith(before)
    assert changed.endswith(after)
    assert embed(changed, embedded(readme)) == readme


def test_the_graph_draws_every_release_and_cloud_resource_inside_its_component(
    render: Rendered,
) -> None:
    graph = _graph(render)
    assert graph.startswith("flowchart LR\n"), graph[:40]
    drawn = _nodes(graph)
    for r in render.recording.resources:
        if r.type.startswith("kubernetes:helm.sh/"):
            name = re.sub(r"[^a-z0-9]+", "_", r.inputs["name"]).strip("_")
            assert f"helm_{name}" in drawn, f"release {r.name} is not drawn"
        if r.type.startswith("digitalocean:"):
            assert any(node.endswith(re.sub(r"\W+", "_", r.name)) for node in drawn), r.name
    # Kubernetes objects are one node per component, never one per object.
    objects = {n for n in drawn if n.startswith("objects_")}
    assert 0 < len(objects) <= len(set(components(render.recording).values()))
    assert len(drawn) < 40, f"{len(drawn)} nodes: the picture is no longer readable"


def test_the_arrows_join_drawn_nodes_and_never_form_a_cycle(render: Rendered) -> None:
    graph = _graph(render)
    drawn = _nodes(graph)
    edges = _edges(graph)
    assert edges, "no dependency drawn"
    assert {n for edge in edges for n in edge} <= drawn
    after: dict[str, set[str]] = {}
    for source, target in edges:
        after.setdefault(source, set()).add(target)
    done: set[str] = set()
    for start in sorted(drawn):
        path, stack = set(), [(start, iter(sorted(after.get(start, ()))))]
        path.add(start)
        while stack:
            node, successors = stack[-1]
            following = next(successors, None)
            if following is None:
                stack.pop()
                path.discard(node)
                done.add(node)
            elif following in path:
                pytest.fail(f"the graph has a cycle through {following}")
            elif following not in done:
                path.add(following)
                stack.append((following, iter(sorted(after.get(following, ())))))


def test_the_graph_is_sorted_and_the_same_on_every_run(render: Rendered) -> None:
    graph = _graph(render)
    assert mermaid(render.recording, components(render.recording)) == graph
    edges = _edges(graph)
    assert edges == sorted(set(edges)), "arrows unsorted or repeated"


# ------------------------------------------------------------- small plans, by hand


def _resource(
    type_: str,
    name: str,
    *,
    parent: str = "",
    dependencies: tuple[str, ...] = (),
    provider: str = "",
    custom: bool = True,
    inputs: dict[str, object] | None = None,
) -> RecordedResource:
    return RecordedResource(
        type=type_,
        name=name,
        urn=f"urn:{type_}::{name}",
        custom=custom,
        inputs=dict(inputs or {}),
        parent=parent,
        provider=provider,
        dependencies=list(dependencies),
        protect=False,
        deleted_with="",
        ignore_changes=[],
    )


VPC = "digitalocean:index/vpc:Vpc"
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
PROVIDER = "pulumi:providers:kubernetes"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def _plan() -> Recording:
    platform = _resource("taskstream:platform:Cluster", "platform", custom=False)
    tools = _resource("taskstream:platform:Tools", "tools", custom=False)
    vpc = _resource(VPC, "vpc", parent=platform.urn)
    cluster = _resource(CLUSTER, "cluster", parent=platform.urn, dependencies=(vpc.urn,))
    # The provider is not drawn: what waits for it waits for the cluster.
    k8s = _resource(PROVIDER, "k8s", parent=platform.urn, dependencies=(cluster.urn,))
    via = f"{k8s.urn}::k8s-id"
    namespace = _resource(NAMESPACE, "ns", parent=tools.urn, provider=via)
    release = _resource(
        RELEASE,
        "tool",
        parent=tools.urn,
        provider=via,
        dependencies=(namespace.urn,),
        inputs={"name": "tool"},
    )
    # After the release in its own component, and (redundantly) after the cluster.
    config = _resource(
        CONFIG_MAP, "cm", parent=tools.urn, provider=via, dependencies=(release.urn, vpc.urn)
    )
    return Recording(resources=[platform, tools, vpc, cluster, k8s, namespace, release, config])


def test_a_small_plan_draws_components_releases_cloud_and_one_objects_node() -> None:
    recording = _plan()
    graph = mermaid(recording, components(recording))
    assert graph == (
        "flowchart LR\n"
        '  subgraph component_platform["platform"]\n'
        '    do_kubernetescluster_cluster["cluster<br/>KubernetesCluster"]\n'
        '    do_vpc_vpc["vpc<br/>Vpc"]\n'
        "  end\n"
        '  subgraph component_tools["tools"]\n'
        '    helm_tool(["tool<br/>Helm release"])\n'
        '    objects_tools[["Kubernetes objects"]]\n'
        "  end\n"
        # The provider stands for the cluster; vpc -> objects is implied through the cluster;
        # the namespace -> release -> config map order inside `tools` is not drawn.
        "  do_kubernetescluster_cluster --> helm_tool\n"
        "  do_kubernetescluster_cluster --> objects_tools\n"
        "  do_vpc_vpc --> do_kubernetescluster_cluster\n"
    )


def test_waiting_for_a_component_is_waiting_for_everything_drawn_in_it() -> None:
    recording = _plan()
    tools = recording.named("tools")
    later = _resource("taskstream:platform:Later", "later", custom=False)
    job = _resource(CONFIG_MAP, "after", parent=later.urn, dependencies=(tools.urn,))
    recording.resources.extend([later, job])
    edges = _edges(mermaid(recording, components(recording)))
    assert ("helm_tool", "objects_later") in edges
    assert ("objects_tools", "objects_later") in edges


def test_labels_cannot_break_out_of_their_quotes() -> None:
    recording = Recording(resources=[_resource(VPC, 'a"b')])
    graph = mermaid(recording, components(recording))
    assert '["a#quot;b<br/>Vpc"]' in graph, graph


def test_a_render_owns_its_graph_so_a_rerender_replaces_it() -> None:
    from infra.render.run import OWNED

    assert "graph.mmd" in OWNED, "a render must own (and so clear) its graph"
