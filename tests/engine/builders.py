"""Small helpers for building projects through the document API in tests."""

from __future__ import annotations

from netstudio.graph import Document, Project
from netstudio.graph.ports import input_ports, output_ports


def first_in(doc: Document, definition: str, node_id: str) -> str:
    return input_ports(doc.project, doc.node(definition, node_id))[0]


def first_out(doc: Document, definition: str, node_id: str) -> str:
    return output_ports(doc.project, doc.node(definition, node_id))[0]


def link(doc: Document, definition: str, src: str, dst: str, port: str | None = None):
    return doc.connect(definition, src, first_out(doc, definition, src), dst,
                       port or first_in(doc, definition, dst))


def chain_project(blocks: list[tuple], kind: str = "sequential", shape=(2, 20),
                  code: dict[str, str] | None = None) -> tuple[Document, list[str]]:
    """A project whose root runs Input → blocks... → Output; returns the document and the block ids.

    Each block is ``(type, params)`` or ``(type, params, name)``.
    """
    doc = Document(Project(definitions={}))
    for class_name, source in (code or {}).items():
        doc.set_code(class_name, source)
    doc.add_definition("main", kind=kind, class_name="Sequential" if kind == "sequential" else "Net")
    d = doc.definition("main")
    doc.set_param("main", d.inputs[0].id, "shape", list(shape))
    for e in list(d.edges):
        doc.disconnect("main", e)
    ids, prev = [], d.inputs[0].id
    for block in blocks:
        name = block[2] if len(block) > 2 else None
        node = doc.add_node("main", block[0], name, block[1])
        link(doc, "main", prev, node.id)
        ids.append(node.id)
        prev = node.id
    link(doc, "main", prev, d.outputs[0].id)
    return doc, ids
