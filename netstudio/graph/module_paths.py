"""Where each node lives in the compiled module: its dotted module path(s).

A definition used twice has two instances, so one node can have several
paths (``0.net.0`` and ``1.net.0``).  This is how the canvas and the parameter
tree find each other, and how a node's own initializer settings reach the
parameters of every instance.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import get_block
from ..catalog.block_spec import TENSOR_ROLES, Role
from .project import Project


@dataclass(frozen=True)
class NodePlace:
    """One instance of a node: its definition, id, instance path and module path."""

    definition: str
    node_id: str
    instance: tuple[str, ...]   # container node ids from the root
    module_path: str            # dotted, as in named_modules(); "" is the root


def node_places(project: Project) -> list[NodePlace]:
    """Every module-bearing node instance, in module order (stateless graph ops excluded)."""
    places: list[NodePlace] = []
    root = project.definitions.get(project.root)
    if root is not None:
        _walk(project, root.name, (), "", places, {root.name})
    return places


def _walk(project: Project, name: str, instance: tuple[str, ...], prefix: str, out: list[NodePlace],
          active: set[str]) -> None:
    d = project.definitions[name]
    chain = d.chain() if d.kind == "sequential" else None
    nodes = chain if chain is not None else list(d.nodes.values())
    index = {n.id: i for i, n in enumerate(chain or ())}
    names = {n.id: d.effective_name(n, index) for n in nodes}
    for node in nodes:
        spec = get_block(node.type)
        if spec is None or spec.role in (Role.INPUT, Role.OUTPUT, *TENSOR_ROLES):
            continue
        if d.kind == "graph" and (spec.stateless and not node.tied_to):
            continue
        if d.kind == "graph" and node.tied_to:
            owner = d.nodes.get(node.tied_to)
            path = prefix + (owner.name if owner else "")
        else:
            path = prefix + names[node.id]
        out.append(NodePlace(name, node.id, instance, path))
        child = node.text_param("definition") if spec.role is Role.CONTAINER else None
        if child in project.definitions and child not in active and not node.tied_to:
            _walk(project, child, instance + (node.id,), path + ".", out, active | {child})


def paths_of_node(project: Project, definition: str, node_id: str) -> list[str]:
    return [p.module_path for p in node_places(project) if p.definition == definition and p.node_id == node_id]
