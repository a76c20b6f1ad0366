"""The canvas's edits, each pushed as one undo step.  Every function checks what it
can first, and returns an error sentence (or None) rather than raising, so a
refused edit never leaves a half-done command on the stack."""

from __future__ import annotations

from PySide6.QtCore import QPointF

from netstudio.analysis.tie_candidates import tie_candidates
from netstudio.graph.topology import topology
from netstudio.catalog import get_block
from netstudio.catalog.block_spec import Role
from netstudio.catalog.code_block import TEMPLATE
from netstudio.catalog.containers import KIND_OF_CONTAINER
from netstudio.graph import Document
from netstudio.graph.layout import Layout, layered_layout
from netstudio.graph.names import NameKind, make_valid_name
from netstudio.graph.ports import input_ports, output_ports
from ui.document.commands import AddNode, ArrangeNodes, Disconnect, RemoveNode, Rename, Tie, push_snapshot

from . import theme
from .clipboard import paste_payload
from .looks import CONTAINER_TYPES


def snap_point(pos: QPointF | tuple[float, float]) -> tuple[float, float]:
    x, y = (pos.x(), pos.y()) if isinstance(pos, QPointF) else pos
    return (round(x / theme.GRID) * theme.GRID, round(y / theme.GRID) * theme.GRID)


# -- adding blocks ----------------------------------------------------------------------------
def unique_class_name(doc: Document, base: str) -> str:
    taken = set(doc.project.code) | {d.class_name for d in doc.project.definitions.values()}
    return make_valid_name(base, NameKind.CLASS, taken, fallback="CustomLayer")


def add_block(controller, definition: str, type_name: str, pos) -> tuple[str | None, str | None]:
    """Add a block of ``type_name`` centred at ``pos``; returns (node id, error)."""
    spec = get_block(type_name)
    if spec is None:
        return None, f"There is no block type {type_name!r}."
    doc, position = controller.document, snap_point(pos)
    if type_name in KIND_OF_CONTAINER:
        def action(doc: Document) -> str:
            name = doc.unique_definition_name(type_name)
            doc.add_definition(name, kind=KIND_OF_CONTAINER[type_name])
            return doc.add_node(definition, type_name, params={"definition": name}, position=position).id
        return push_snapshot(controller, f"Add {type_name}", action)
    if spec.role is Role.CODE:
        def action(doc: Document) -> str:
            name = unique_class_name(doc, spec.param("class_name").default)
            doc.set_code(name, TEMPLATE.format(name=name))
            return doc.add_node(definition, "Code", params={"class_name": name, "args": {}}, position=position).id
        return push_snapshot(controller, "Add code block", action)
    cmd = AddNode(doc, definition, type_name, position)
    controller.push(cmd)
    return (cmd.node.id if cmd.node else None), None


# -- removing -------------------------------------------------------------------------------------
def delete(controller, definition: str, node_ids: list[str], edge_ids: list[str]) -> None:
    doc = controller.document
    d = doc.definition(definition)
    nodes = [i for i in node_ids if i in d.nodes]
    edges = [i for i in edge_ids if i in d.edges and d.edges[i].src not in nodes and d.edges[i].dst not in nodes]
    if not nodes and not edges:
        return
    count = len(nodes) + len(edges)
    text = f"Delete {count} items" if count > 1 else "Delete"
    touched = [e for e in d.edges.values() if e.id in edges or e.src in nodes or e.dst in nodes]
    if any(_dangling(doc.project, d, e) for e in touched):
        # The engine cannot re-connect an edge whose port is gone (say its block's Input was
        # deleted), so RemoveNode/Disconnect could not be undone: snapshot the project instead.
        def action(doc: Document) -> None:
            with doc.batch():
                for edge_id in edges:
                    doc.disconnect(definition, edge_id)
                for node_id in nodes:
                    doc.remove_node(definition, node_id)
        push_snapshot(controller, text, action)
        return
    stack = controller.undo_stack
    stack.beginMacro(text)
    try:
        for edge_id in edges:
            controller.push(Disconnect(doc, definition, edge_id))
        for node_id in nodes:
            controller.push(RemoveNode(doc, definition, node_id))
    finally:
        stack.endMacro()


def _dangling(project, d, edge) -> bool:
    src, dst = d.nodes.get(edge.src), d.nodes.get(edge.dst)
    return src is None or dst is None or edge.src_port not in output_ports(project, src) \
        or edge.dst_port not in input_ports(project, dst)


# -- renaming, ties -----------------------------------------------------------------------------------
def rename(controller, definition: str, node_id: str, name: str) -> str | None:
    """Rename a node; returns why not (the engine's name rule, or a clash), or None."""
    doc = controller.document
    name = name.strip()
    d = doc.definition(definition)
    node = d.nodes.get(node_id)
    if node is None or node.name == name:
        return None
    problem = doc.name_problem(definition, node_id, name)
    if problem:
        return problem
    if node.type in ("Input", "Output") and doc.project.uses_of(definition):
        # Renaming re-connects the edges of every block using this definition; the engine
        # refuses (half-way) when one of those edges is already broken, so keep it all-or-nothing.
        _, error = push_snapshot(controller, f"Rename to {name!r}",
                                 lambda doc: doc.rename(definition, node_id, name))
        return error and f"Could not rename: {error}"
    controller.push(Rename(doc, definition, node_id, name))
    return None


def tie(controller, definition: str, node_id: str, target_id: str) -> str | None:
    doc = controller.document
    d = doc.definition(definition)
    if target_id not in {n.id for n in tie_candidates(doc.project, d, node_id, controller.result)}:
        return "These two blocks cannot share parameters (they differ in type, hyperparameters or shapes)."
    controller.push(Tie(doc, definition, node_id, target_id))
    return None


def tie_pair(controller, definition: str, a: str, b: str) -> str | None:
    """Tie two selected nodes: the later one in the data flow uses the earlier one's module."""
    d = controller.document.definition(definition)
    order = {n: i for i, n in enumerate(topology(d).order)}
    first, second = sorted((a, b), key=lambda i: (order.get(i, len(order)), list(d.nodes).index(i)))
    return tie(controller, definition, second, first)


def untie(controller, definition: str, node_ids: list[str]) -> None:
    doc = controller.document
    d = doc.definition(definition)
    tied = [i for i in node_ids if i in d.nodes and d.nodes[i].tied_to]
    if not tied:
        return
    controller.undo_stack.beginMacro("Stop sharing parameters")
    try:
        for node_id in tied:
            controller.push(Tie(doc, definition, node_id, None))
    finally:
        controller.undo_stack.endMacro()


# -- grouping --------------------------------------------------------------------------------------------
def group(controller, definition: str, node_ids: list[str]) -> tuple[str | None, str | None]:
    d = controller.document.definition(definition)
    ids = [i for i in node_ids if i in d.nodes and d.nodes[i].type not in ("Input", "Output")]
    if not ids:
        return None, "Select the blocks to group (inputs and outputs stay outside)."
    chosen = set(ids)
    for n in d.nodes.values():
        if n.tied_to is not None and (n.id in chosen) != (n.tied_to in chosen):
            return None, "Group both blocks of a parameter tie, or neither; stop sharing first otherwise."
    return push_snapshot(controller, "Group into a block", lambda doc: doc.group(definition, ids).id)


def ungroup(controller, definition: str, node_ids: list[str]) -> tuple[list[str], str | None]:
    d = controller.document.definition(definition)
    containers = [i for i in node_ids if i in d.nodes and d.nodes[i].type in CONTAINER_TYPES]
    if not containers:
        return [], "Select a Block or Sequential node to ungroup."

    def action(doc: Document) -> list[str]:
        out = []
        for node_id in containers:
            out.extend(doc.ungroup(definition, node_id))
        return out
    result, error = push_snapshot(controller, "Ungroup", action)
    return result or [], error


# -- pasting -----------------------------------------------------------------------------------------------
def paste(controller, definition: str, payload: dict, offset: tuple[float, float]) -> tuple[list[str], str | None]:
    result, error = push_snapshot(controller, f"Paste {len(payload.get('nodes', []))} blocks",
                                  lambda doc: paste_payload(doc, definition, payload, offset))
    return result or [], error


# -- layout ---------------------------------------------------------------------------------------------------
LAYOUT_OFF_THREAD_ABOVE = 500   # blocks: a larger definition is laid out on a worker (``layout_job``)


def auto_layout(controller, definition: str, text: str = "Auto layout") -> bool:
    """Lay out a definition at once (on this thread), as one undo step; whether anything changed.
    The canvas lays out a large one on a worker instead (``CanvasWidget.auto_layout``)."""
    return apply_layout(controller, definition, layered_layout(controller.document.definition(definition)), text)


def apply_layout(controller, definition: str, layout: Layout, text: str = "Auto layout") -> bool:
    """Move every node to its place in ``layout`` and route the long edges through its bends, as one
    undo step (positions and bends snap to the grid alike, so a level run stays level)."""
    doc = controller.document
    d = doc.definition(definition)
    positions = {node_id: snap_point(pos) for node_id, pos in layout.positions.items() if node_id in d.nodes}
    bends = {edge_id: tuple(snap_point(p) for p in layout.bends.get(edge_id, ())) for edge_id in d.edges}
    cmd = ArrangeNodes(doc, definition, positions, bends, text)
    if not cmd.changes():
        return False
    controller.push(cmd)
    return True


def lay_out_before_showing(d) -> bool:
    """A project being opened whose top level piles up is laid out before any view draws it (no undo
    step: nothing was shown yet), so the canvas is built once, at the final places, instead of built
    and then moved block by block.  Whether it was laid out."""
    if not needs_layout(d):
        return False
    layout = layered_layout(d)
    for node_id, pos in layout.positions.items():
        if node_id in d.nodes:
            d.nodes[node_id].position = snap_point(pos)
    for edge_id, edge in list(d.edges.items()):
        bends = tuple(snap_point(p) for p in layout.bends.get(edge_id, ()))
        if bends != edge.bends:
            d.edges[edge_id] = edge.with_bends(bends)
    return True


def needs_layout(d) -> bool:
    """Whether a definition's nodes pile up (all at one place, or most overlapping)."""
    nodes = list(d.nodes.values())
    if len(nodes) < 2:
        return False
    positions = [n.position for n in nodes]
    if len(set(positions)) == 1:
        return True
    cells: dict[tuple[int, int], int] = {}
    for x, y in positions:
        key = (int(x // (theme.NODE_WIDTH * 0.75)), int(y // 40))
        cells[key] = cells.get(key, 0) + 1
    crowded = sum(c for c in cells.values() if c > 1)
    return crowded * 2 >= len(nodes)
