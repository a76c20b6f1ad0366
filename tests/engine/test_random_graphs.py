"""Property: for any graph, ``check`` either accepts it, and then the compiled
module runs on the meta device with exactly the inferred output shape, or it
returns diagnostics, and ``compile`` raises GraphError.  Never anything else.

The graphs mix catalog layers, Function blocks (allow-listed calls, some with
bad arguments), Parameter blocks, nested blocks and blocks with constructor
arguments whose uses pass good, bad or undeclared values."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from netstudio.analysis import check
from netstudio.compiler import compile_project
from netstudio.errors import GraphError
from netstudio.graph import Document, EditError, Project
from netstudio.graph.ports import input_ports, output_ports
from netstudio.serialization import project_from_dict

SINGLE = ["Linear", "ReLU", "Tanh", "GELU", "Softmax", "Flatten", "Dropout", "LayerNorm", "Identity",
          "AddScalar", "MulScalar", "Sum", "Mean", "BatchNorm1d", "Sigmoid"]
MULTI = ["Add", "Multiply", "MatMul", "Concat"]
DIMS = st.integers(1, 5)
X = {"port": "x"}
# Function calls of one tensor port ``x``; some cannot work on some shapes (the checker must say so).
FUNCTION_CALLS = [
    ("torch.flatten", [X, 1], {}), ("Tensor.transpose", [X, 0, -1], {}), ("torch.unsqueeze", [X, 1], {}),
    ("torch.softmax", [X, -1], {}), ("torch.exp", [X], {}), ("Tensor.reshape", [X, 2, -1], {}),
    ("torch.sum", [X], {"dim": -1, "keepdim": True}), ("Tensor.permute", [X, 5, 0], {}),
]


def params_for(draw, type_name: str) -> dict:
    bad = draw(st.integers(0, 14)) == 0
    if type_name == "Linear":
        return {"in_features": draw(st.one_of(st.none(), DIMS)),
                "out_features": draw(st.sampled_from([0, -1, "x"])) if bad else draw(DIMS)}
    if type_name == "LayerNorm":
        return {"normalized_shape": [draw(DIMS)]}
    if type_name == "Softmax":
        return {"dim": draw(st.integers(-3, 2))}
    if type_name in ("Sum", "Mean"):
        return {"dim": draw(st.one_of(st.none(), st.integers(-2, 2))), "keepdim": draw(st.booleans())}
    if type_name == "Concat":
        return {"dim": draw(st.integers(-2, 2))}
    if type_name == "Dropout":
        return {"p": draw(st.sampled_from([0.0, 0.5, 2.0 if bad else 0.1]))}
    if type_name in ("AddScalar", "MulScalar"):
        return {"value": draw(st.sampled_from([1.0, -2.5, float("nan") if bad else 0.5]))}
    if type_name == "Constant":
        return {"shape": draw(st.lists(DIMS, min_size=1, max_size=3)), "fill": draw(st.sampled_from(["rand", "ones"]))}
    if type_name == "Function":
        key, args, kwargs = draw(st.sampled_from(FUNCTION_CALLS))
        return {"function": "torch.nope" if bad else key, "call": {"args": args, "kwargs": kwargs}}
    if type_name == "Parameter":
        return {"shape": draw(st.lists(DIMS, min_size=0, max_size=3)), "init": draw(st.sampled_from(["zeros", "normal"]))}
    return {}


def with_argument(draw, params: dict, arguments: dict) -> dict:
    """Sometimes a Linear's out_features refers to an argument of its block (or to one it lacks)."""
    if "out_features" in params and arguments and draw(st.booleans()):
        name = draw(st.sampled_from(sorted(arguments) + (["missing"] if draw(st.integers(0, 8)) == 0 else [])))
        params = {**params, "out_features": {"arg": name}}
    return params


@st.composite
def random_body(draw, doc: Document, definition: str, kind: str, allow_blocks: bool) -> None:
    d = doc.definition(definition)
    for e in list(d.edges):
        doc.disconnect(definition, e)
    inp, out = d.inputs[0].id, d.outputs[0].id
    n = draw(st.integers(0, 6))
    pool = SINGLE if kind == "sequential" else SINGLE + MULTI + ["Constant", "Function", "Parameter"]
    arguments = d.arguments
    if allow_blocks:
        pool = pool + ["Block"]
    made: list[str] = [inp]
    for _ in range(n):
        type_name = draw(st.sampled_from(pool + (["Mystery"] if draw(st.integers(0, 20)) == 0 else [])))
        if type_name == "Block":
            inner = doc.unique_definition_name("Inner")
            doc.add_definition(inner, kind=draw(st.sampled_from(["graph", "sequential"])))
            if draw(st.booleans()):
                doc.set_argument(inner, "width", draw(DIMS))
            draw(random_body(doc, inner, doc.definition(inner).kind, allow_blocks=False))
            type_name = "Sequential" if doc.definition(inner).kind == "sequential" else "Block"
            params = {"definition": inner}
            if draw(st.booleans()):   # this use passes a value: good, out of range, or for an undeclared name
                params["args"] = {draw(st.sampled_from(["width", "width", "height"])):
                                  draw(st.sampled_from([1, 3, 0, "x"]))}
            node = doc.add_node(definition, type_name, params=params)
        else:
            node = doc.add_node(definition, type_name, params=with_argument(draw, params_for(draw, type_name),
                                                                            arguments))
        ports = input_ports(doc.project, node)
        for port in ports:
            if kind == "sequential":
                src = made[-1]
            elif draw(st.integers(0, 12)) == 0:
                continue  # leave an input unconnected
            else:
                src = draw(st.sampled_from(made))
            outs = output_ports(doc.project, doc.node(definition, src))
            if outs:
                try:
                    doc.connect(definition, src, outs[0], node.id, port)
                except EditError:
                    pass
        made.append(node.id)
        if kind != "sequential" and draw(st.integers(0, 15)) == 0:  # a stray edge: duplicate input or cycle
            target = draw(st.sampled_from(made[1:]))
            tports = input_ports(doc.project, doc.node(definition, target))
            if tports and output_ports(doc.project, node):
                try:
                    doc.connect(definition, node.id, output_ports(doc.project, node)[0], target, tports[0])
                except EditError:
                    pass
    last = made[-1]
    outs = output_ports(doc.project, doc.node(definition, last))
    if outs:
        doc.connect(definition, last, outs[0], out, "in")
    # Ties between same-type nodes, sometimes.
    linears = [i for i in made[1:] if doc.node(definition, i).type == "Linear"]
    if len(linears) >= 2 and draw(st.booleans()):
        doc.tie(definition, linears[-1], linears[0])
    if len(made) > 2 and draw(st.integers(0, 12)) == 0:  # a name clash
        doc.node(definition, made[2]).name = doc.node(definition, made[1]).name or "x"  # as a file may have it


@st.composite
def random_project(draw) -> Project:
    kind = draw(st.sampled_from(["graph", "sequential"]))
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind=kind, class_name="Net")
    shape = draw(st.lists(DIMS, min_size=1, max_size=3))
    doc.set_param("main", doc.definition("main").inputs[0].id, "shape", [2] + shape)
    draw(random_body(doc, "main", kind, allow_blocks=True))
    return doc.project


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(project=random_project())
def test_check_then_compile_never_crashes(project):
    result = check(project)
    event("valid" if result.ok else "invalid")
    if not result.ok:
        with pytest.raises(GraphError) as err:
            compile_project(project, device="meta")
        assert err.value.diagnostics
        assert all(d.message and "\n" not in d.message for d in result.diagnostics)
        return
    net = compile_project(project, device="meta")
    root = project.root_definition
    x = torch.empty(root.inputs[0].params["shape"], device="meta")
    y = net.eval()(x)   # shapes as eval mode decides them: a batch-one BatchNorm is only a warning
    expected = result.info(root.outputs[0].id).inputs[0]
    assert tuple(y.shape) == expected.shape and y.dtype == expected.dtype


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(project=random_project())
def test_save_load_round_trip(project):
    data = project.to_dict()
    again = project_from_dict(data, trusted=True)
    assert again.to_dict() == data
    assert [d.line() for d in check(again).diagnostics] == [d.line() for d in check(project).diagnostics]
