"""Group a selection into a new Block definition, and ungroup a container back.

Both are composite edits made only of the document's primitive calls, so every
view hears about each step through the usual events.
"""

from __future__ import annotations

from copy import deepcopy
from typing import TYPE_CHECKING

from ..errors import EditError
from .arguments import ArgumentError, bind_params
from .names import NameKind, make_valid_name
from .node import Node

if TYPE_CHECKING:
    from .document import Document


def _centroid(nodes: list[Node]) -> tuple[float, float]:
    xs = [n.position[0] for n in nodes]
    ys = [n.position[1] for n in nodes]
    return (sum(xs) / len(xs), sum(ys) / len(ys))


def group_nodes(doc: "Document", definition: str, node_ids: list[str], name: str | None) -> Node:
    parent = doc.definition(definition)
    selected = [doc.node(definition, i) for i in dict.fromkeys(node_ids)]
    if not selected:
        raise EditError("Select at least one node to group.")
    chosen = {n.id for n in selected}
    for n in selected:
        if n.type in ("Input", "Output"):
            raise EditError("Inputs and outputs of a block cannot be grouped; leave them out of the selection.")
    for n in parent.nodes.values():
        if n.tied_to is not None and (n.id in chosen) != (n.tied_to in chosen):
            raise EditError("Group both nodes of a tie, or neither; untie them first otherwise.")

    def_name = doc.unique_definition_name(name or "Block")
    first_index = min(list(parent.nodes).index(i) for i in chosen)
    crossing_in = [e for e in parent.edges.values() if e.dst in chosen and e.src not in chosen]
    crossing_out = [e for e in parent.edges.values() if e.src in chosen and e.dst not in chosen]
    internal = [e for e in parent.edges.values() if e.src in chosen and e.dst in chosen]
    cx, cy = _centroid(selected)
    xs = [n.position[0] for n in selected]
    left, right = min(xs) - 250.0, max(xs) + 250.0

    doc.add_definition(def_name, kind="graph", with_io=False)
    for e in crossing_in + crossing_out + internal:
        doc.disconnect(definition, e.id)
    # Children of a Sequential may be unnamed (their position names them); a Block needs names.
    names = {n.name for n in selected if n.name}
    for n in selected:
        if not n.name:
            name = make_valid_name(n.type.lower(), NameKind.CHILD, names)
            names.add(name)
            doc.rename(definition, n.id, name)
    for n in selected:
        doc.remove_node(definition, n.id)
        doc.insert_node(def_name, n)

    # One Input per distinct source outside, one Output per distinct source inside.
    in_nodes: dict[tuple[str, str], Node] = {}
    for e in crossing_in:
        key = (e.src, e.src_port)
        if key not in in_nodes:
            in_nodes[key] = doc.add_node(def_name, "Input", doc.unique_name(def_name, "X" if not in_nodes else "X2"),
                                         params={"shape": None}, position=(left, cy + 80.0 * len(in_nodes)))
        doc.connect(def_name, in_nodes[key].id, "out", e.dst, e.dst_port)
    out_nodes: dict[tuple[str, str], Node] = {}
    for e in crossing_out:
        key = (e.src, e.src_port)
        if key not in out_nodes:
            base = "output" if not out_nodes else f"output{len(out_nodes) + 1}"
            out_nodes[key] = doc.add_node(def_name, "Output", doc.unique_name(def_name, base),
                                          position=(right, cy + 80.0 * len(out_nodes)))
            doc.connect(def_name, e.src, e.src_port, out_nodes[key].id, "in")
    for e in internal:
        doc.connect(def_name, e.src, e.src_port, e.dst, e.dst_port, edge_id=e.id)
    if not out_nodes:
        doc.add_node(def_name, "Output", "output", position=(right, cy))
    if not in_nodes:
        doc.add_node(def_name, "Input", "X", params={"shape": None}, position=(left, cy))

    container_name = "" if parent.kind == "sequential" else doc.unique_name(definition, def_name.lower())
    container = doc.add_node(definition, "Block", container_name,
                             params={"definition": def_name}, position=(cx, cy), index=first_index)
    for (src, port), inp in in_nodes.items():
        doc.connect(definition, src, port, container.id, inp.name)
    for e in crossing_out:
        doc.connect(definition, container.id, out_nodes[(e.src, e.src_port)].name, e.dst, e.dst_port)
    return container


def ungroup_node(doc: "Document", definition: str, node_id: str) -> list[str]:
    container = doc.node(definition, node_id)
    if container.type not in ("Block", "Sequential"):
        raise EditError("Only a Block or Sequential node can be ungrouped.")
    inner = doc.definition(container.text_param("definition") or "")
    parent = doc.definition(definition)
    if any(n.tied_to == node_id for n in parent.nodes.values()) or container.tied_to:
        raise EditError("This block shares its parameters with another node; untie it first.")
    chain = {n.id: i for i, n in enumerate(inner.chain() or ())} if inner.kind == "sequential" else {}
    body = [n for n in inner.nodes.values() if n.type not in ("Input", "Output")]
    ox, oy = container.position
    ix, iy = _centroid(body) if body else (0.0, 0.0)

    given = container.params.get("args")
    values = {**inner.arguments, **{k: v for k, v in (given if isinstance(given, dict) else {}).items()
                                    if k in inner.arguments}}
    try:   # the copies take this use's argument values (which may refer to the parent's own arguments)
        bound = {n.id: bind_params(n.params, values) for n in body}
    except ArgumentError as err:
        raise EditError(f"This block cannot be ungrouped: one of its blocks {err}.") from None
    port_of_input = {n.id: n.name for n in inner.inputs}
    port_of_output = {n.id: n.name for n in inner.outputs}
    feeders = [e for e in parent.edges.values() if e.dst == node_id]
    consumers = [e for e in parent.edges.values() if e.src == node_id]
    at = list(parent.nodes).index(node_id)
    doc.remove_node(definition, node_id)

    new_ids: dict[str, str] = {}
    for n in body:
        copy = n.copy()
        copy.params = deepcopy(bound[n.id])
        copy.id = doc._fresh("n")
        keep_auto_index = parent.kind == "sequential" and not n.name
        copy.name = "" if keep_auto_index else doc.unique_name(definition, inner.effective_name(n, chain)
                                                                  or n.type.lower())
        copy.position = (ox + n.position[0] - ix, oy + n.position[1] - iy)
        copy.tied_to = None
        doc.insert_node(definition, copy, at + len(new_ids))
        new_ids[n.id] = copy.id
    for n in body:
        if n.tied_to in new_ids:
            doc.tie(definition, new_ids[n.id], new_ids[n.tied_to])

    def sources(src: str, port: str) -> list[tuple[str, str]]:
        if src in port_of_input:
            return [(f.src, f.src_port) for f in feeders if f.dst_port == port_of_input[src]]
        return [(new_ids[src], port)]

    for e in inner.edges.values():
        if e.dst in port_of_output:
            targets = [(c.dst, c.dst_port) for c in consumers if c.src_port == port_of_output[e.dst]]
        else:
            targets = [(new_ids[e.dst], e.dst_port)]
        for s, sp in sources(e.src, e.src_port):
            for t, tp in targets:
                doc.connect(definition, s, sp, t, tp)
    if not doc.project.uses_of(inner.name) and inner.name != doc.project.root:
        doc.remove_definition(inner.name)
    return list(new_ids.values())
