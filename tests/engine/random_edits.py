"""Random edit sequences through the document API, for property tests of what the document and the
incremental checker keep up to date (indexes, cached shapes) against a rebuild from scratch."""

from __future__ import annotations

from hypothesis import strategies as st

from netstudio.errors import EditError
from netstudio.graph import Document
from netstudio.graph.ports import input_ports, output_ports

from .builders import chain_project

NAMES = ["a", "b", "linear", "linear_2", "relu", "X", "output", "class", ""]


def start() -> Document:
    """A root chain using a nested block ``Sub`` twice, so edits reach several instances."""
    doc, _ = chain_project([("Linear", {"in_features": 20, "out_features": 8}), ("ReLU", {})], kind="graph")
    doc.add_definition("Sub", kind="graph", class_name="Sub")
    sub = doc.definition("Sub")
    doc.remove_node("Sub", sub.outputs[0].id)
    lin = doc.add_node("Sub", "Linear", None, {"in_features": 8, "out_features": 8})
    out = doc.add_node("Sub", "Output", "output")
    doc.connect("Sub", sub.inputs[0].id, "out", lin.id, "in")
    doc.connect("Sub", lin.id, "out", out.id, "in")
    main = doc.definition("main")
    last = next(e for e in main.edges.values() if e.dst == main.outputs[0].id)
    doc.disconnect("main", last.id)
    prev, port = last.src, "out"
    for _ in range(2):
        block = doc.add_node("main", "Block", None, {"definition": "Sub"})
        doc.connect("main", prev, port, block.id, "X")
        prev, port = block.id, "output"
    doc.connect("main", prev, port, main.outputs[0].id, "in")
    return doc


def edit(doc: Document, data: st.DataObject, saved: list) -> None:
    """One random edit (refused ones are fine: they must leave everything as it was)."""
    op = data.draw(st.sampled_from(["add", "add", "remove", "connect", "connect", "disconnect", "rename",
                                    "tie", "tie", "untie", "param", "param", "restore", "remove_restore", "definition",
                                    "port_rename", "shape"]))
    defs = list(doc.project.definitions)
    name = data.draw(st.sampled_from(defs))
    d = doc.definition(name)
    nodes = list(d.nodes)
    pick = (lambda: data.draw(st.sampled_from(nodes))) if nodes else None
    try:
        if op == "add":
            kind = data.draw(st.sampled_from(["Linear", "ReLU", "Add", "Block", "Input", "Output", "GRU"]))
            params = {"Linear": {"in_features": 8, "out_features": data.draw(st.sampled_from([8, 4]))},
                      "GRU": {"input_size": 8, "hidden_size": 8},
                      "Block": {"definition": data.draw(st.sampled_from(["Sub", "Other", "missing"]))}}
            doc.add_node(name, kind, None, params.get(kind, {}), index=data.draw(st.none() | st.integers(0, 9)))
        elif op == "remove" and pick:
            doc.remove_node(name, pick())
        elif op == "connect" and pick:
            s, t = doc.node(name, pick()), doc.node(name, pick())
            outs, ins = output_ports(doc.project, s), input_ports(doc.project, t)
            if outs and ins:
                doc.connect(name, s.id, data.draw(st.sampled_from(outs)), t.id, data.draw(st.sampled_from(ins)))
        elif op == "disconnect" and d.edges:
            doc.disconnect(name, data.draw(st.sampled_from(list(d.edges))))
        elif op == "rename" and pick:
            doc.rename(name, pick(), data.draw(st.sampled_from(NAMES)))
        elif op == "tie" and pick:
            linears = [i for i in nodes if d.nodes[i].type == "Linear"]     # mostly ties that can work
            choose = (lambda: data.draw(st.sampled_from(linears))) if len(linears) > 1 else pick
            doc.tie(name, choose(), choose())
        elif op == "untie" and pick:
            doc.untie(name, pick())
        elif op == "param" and pick:
            node = doc.node(name, pick())
            if node.type == "Block":
                doc.set_param(name, node.id, "definition", data.draw(st.sampled_from(["Sub", "Other", "main"])))
            elif node.type == "Linear":
                key = data.draw(st.sampled_from(["out_features", "in_features", "bias"]))
                doc.set_param(name, node.id, key, data.draw(st.sampled_from([4, 8, -1, True])))
        elif op == "restore":
            if saved and data.draw(st.booleans()):
                doc.restore(saved.pop())
            else:
                saved.append(doc.snapshot())
        elif op == "remove_restore" and pick:
            removed = doc.remove_node(name, pick())
            if data.draw(st.booleans()):
                doc.restore_node(removed)
        elif op == "definition":
            if "Other" in doc.project.definitions:
                doc.remove_definition("Other")
            else:
                doc.add_definition("Other", kind=data.draw(st.sampled_from(["graph", "sequential"])))
        elif op == "port_rename":
            io = [n for n in d.nodes.values() if n.type in ("Input", "Output")]
            if io:
                doc.rename(name, data.draw(st.sampled_from(io)).id, data.draw(st.sampled_from(["X", "Y", "output"])))
        elif op == "shape":
            inputs = d.inputs
            if inputs:
                doc.set_param(name, inputs[0].id, "shape", data.draw(st.sampled_from([[2, 20], [3, 20], [2, 8], None])))
    except EditError:
        pass
