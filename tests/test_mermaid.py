"""The component graph in summary.md: a Mermaid flowchart of our components by layer, with their main resources."""

import re

import pytest

from delivery.mermaid import KEY_TYPES, TYPES_PER_BOX, component_graph
from offline.summary import render_summary

from .conftest import declared


def parse(markdown: str) -> tuple[dict[str, list[str]], dict[str, str], set[tuple[str, str]]]:
    """Mermaid lines -> (subgraph id -> ids of the subgraphs enclosing it, node id -> label, edges)."""
    body = markdown.split("```mermaid\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert body[0] == "flowchart TB"
    stack: list[str] = []
    subgraphs: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    edges: set[tuple[str, str]] = set()
    for line in body[1:]:
        text = line.strip()
        if m := re.fullmatch(r'subgraph (\w+)\["([^"]*)"\]', text):
            subgraphs[m[1]] = list(stack)
            labels[m[1]] = m[2]
            stack.append(m[1])
        elif text == "end":
            stack.pop()
        elif m := re.fullmatch(r'(\w+)\["([^"]*)"\]', text):
            labels[m[1]] = m[2]
            subgraphs.setdefault(m[1], list(stack))
        elif m := re.fullmatch(r"(\w+) --> (\w+)", text):
            edges.add((m[1], m[2]))
        else:
            raise AssertionError(f"unexpected Mermaid line {line!r}")
    assert stack == [], "every subgraph is closed"
    return subgraphs, labels, edges


def box(labels: dict[str, str], name: str) -> str:
    (found,) = [i for i, label in labels.items() if label.startswith(f"{name}: ")]
    return found


@pytest.fixture(params=["test", "staging", "prod"])
def graph(request):
    run = declared(request.param)
    return run, *parse(component_graph(run))


def test_every_component_is_one_box_in_its_layer(graph):
    run, subgraphs, labels, _ = graph
    boxes = sorted(label for i, label in labels.items() if re.fullmatch(r"c\d+", i))
    assert boxes == sorted(f"{r.name}: {r.type.rsplit(':', 1)[1]}" for r in run.records if r.type.startswith("insight:"))
    assert (labels["aws"], labels["k8s"]) == ("AWS layer", "Kubernetes layer")
    for name in ("network", "cluster"):
        assert subgraphs[box(labels, name)] == ["aws"]
    platform = box(labels, "platform")
    assert subgraphs[platform] == ["k8s"]
    assert subgraphs[box(labels, "platform-logging")] == ["k8s", platform]


def test_boxes_hold_their_main_resources_counted(graph):
    run, subgraphs, labels, _ = graph
    network = box(labels, "network")
    held = [labels[i] for i, parents in subgraphs.items() if parents[-1:] == [network]]
    assert f"{len(run.of_type('aws:ec2/subnet:Subnet'))} x Subnet" in held
    counted = [label for label in held if not label.startswith(tuple(f"{t.rsplit(':', 1)[1]} " for t in KEY_TYPES))]
    assert len(counted) <= TYPES_PER_BOX + 1


def test_key_resources_are_named_never_hidden(graph):
    """The cluster, VPC, NAT gateways and keys each show by name, whatever else a box holds."""
    run, _, labels, _ = graph
    for type_ in ("eks:index:Cluster", "aws:ec2/vpc:Vpc", "aws:ec2/natGateway:NatGateway", "aws:kms/key:Key"):
        for record in run.of_type(type_):
            assert f"{type_.rsplit(':', 1)[1]} {record.name}" in labels.values(), record.name


def test_arrows_follow_dependencies_and_providers(graph):
    _, _, labels, edges = graph
    network, cluster, platform = (box(labels, n) for n in ("network", "cluster", "platform"))
    assert (network, cluster) in edges  # the cluster sits in the network's subnets
    assert (cluster, platform) in edges  # Kubernetes objects go through the cluster's provider
    assert (cluster, network) not in edges
    assert all(a in labels and b in labels for a, b in edges)


def test_summary_carries_the_graph(run):
    summary = render_summary(run)
    assert "## Component graph\n\n```mermaid\nflowchart TB\n" in summary
