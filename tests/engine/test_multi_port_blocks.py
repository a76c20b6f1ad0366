"""Blocks with several outputs, optional inputs and forward hyperparameters, checked and compiled.

LSTM gives output, h and c, and takes h0 and c0 together as ``hx``; MultiheadAttention takes
an optional mask by keyword and ``need_weights`` as a hyperparameter; a Function's ``chunk``
gives one port per piece; a Parameter is an ``nn.Parameter`` of its block.  The compiled
network must compute exactly what the same torch.nn code computes.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netstudio.analysis import check
from netstudio.compiler import compile_project
from netstudio.graph import Document, Project


def graph(shape=(2, 5, 8)):
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    d = doc.definition("main")
    for e in list(d.edges):
        doc.disconnect("main", e)
    doc.set_param("main", d.inputs[0].id, "shape", list(shape))
    return doc, d.inputs[0].id, d.outputs[0].id


def add_output(doc, name):
    return doc.add_node("main", "Output", name).id


def test_lstm_outputs_h_and_c_and_takes_h0_c0_together():
    doc, x, out = graph((2, 5, 8))
    lstm = doc.add_node("main", "LSTM", "lstm", {"input_size": 8, "hidden_size": 6, "batch_first": True}).id
    doc.connect("main", x, "out", lstm, "in")
    doc.connect("main", lstm, "output", out, "in")
    c_out = add_output(doc, "c")
    doc.connect("main", lstm, "c", c_out, "in")
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert result.info(lstm, ()).outputs["c"].shape == (1, 2, 6)
    net = compile_project(doc.project)
    reference = nn.LSTM(8, 6, batch_first=True)
    reference.load_state_dict(net.lstm.state_dict())
    inputs = torch.randn(2, 5, 8)
    y, c = net(inputs)
    expected, (_, c_expected) = reference(inputs)
    assert torch.equal(y, expected) and torch.equal(c, c_expected)

    # h0 without c0 is refused in one sentence; with both, they reach forward as hx=(h0, c0).
    h0 = doc.add_node("main", "Parameter", "h0", {"shape": [1, 2, 6], "init": "normal"}).id
    doc.connect("main", h0, "out", lstm, "h0")
    problems = [d.line() for d in check(doc.project).diagnostics]
    assert any("h0 and c0" in p for p in problems), problems
    c0 = doc.add_node("main", "Parameter", "c0", {"shape": [1, 2, 6]}).id
    doc.connect("main", c0, "out", lstm, "c0")
    assert check(doc.project).ok
    net = compile_project(doc.project)
    reference.load_state_dict(net.lstm.state_dict())
    y, c = net(inputs)
    expected, (_, c_expected) = reference(inputs, (net.h0, net.c0))
    assert torch.equal(y, expected) and torch.equal(c, c_expected)
    assert list(net.state_dict())[:2] == ["h0", "c0"] or {"h0", "c0"} <= set(net.state_dict())


@pytest.mark.parametrize("need_weights", [True, False])
def test_attention_takes_an_optional_mask_by_keyword_and_need_weights_as_a_hyperparameter(need_weights):
    doc, x, out = graph((2, 4, 8))
    attention = doc.add_node("main", "MultiheadAttention", "attention",
                             {"embed_dim": 8, "num_heads": 2, "batch_first": True,
                              "need_weights": need_weights}).id
    for port in ("query", "key", "value"):
        doc.connect("main", x, "out", attention, port)
    doc.connect("main", attention, "output", out, "in")
    mask = doc.add_node("main", "Constant", "mask", {"shape": [4, 4], "fill": "zeros", "dtype": "bool"}).id
    doc.connect("main", mask, "out", attention, "attn_mask")
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert ("weights" in result.info(attention, ()).outputs) is need_weights
    net = compile_project(doc.project)
    assert f"need_weights = {need_weights}" in net.code and "attn_mask = mask" in net.code
    reference = nn.MultiheadAttention(8, 2, batch_first=True)
    reference.load_state_dict(net.attention.state_dict())
    inputs = torch.randn(2, 4, 8)
    assert torch.equal(net(inputs), reference(inputs, inputs, inputs, attn_mask=net.mask,
                                              need_weights=need_weights)[0])


def test_an_unconnected_required_input_is_still_an_error_but_an_optional_one_is_not():
    doc, x, out = graph((2, 4, 8))
    attention = doc.add_node("main", "MultiheadAttention", "attention", {"embed_dim": 8, "num_heads": 2}).id
    doc.connect("main", x, "out", attention, "query")
    doc.connect("main", attention, "output", out, "in")
    lines = [d.line() for d in check(doc.project).diagnostics if d.severity == "error"]
    assert any("input 'key' is not connected" in line for line in lines)
    assert not any("attn_mask" in line or "key_padding_mask" in line for line in lines)


def test_a_function_chunk_gives_one_port_per_piece_and_compiles_to_the_method_call():
    doc, x, out = graph((2, 6))
    chunk = doc.add_node("main", "Function", "chunk",
                         {"function": "Tensor.chunk", "call": {"args": [{"port": "x"}, 3], "kwargs": {"dim": 1}}}).id
    doc.connect("main", x, "out", chunk, "x")
    multiply = doc.add_node("main", "Multiply", "mul").id
    doc.connect("main", chunk, "out0", multiply, "a")
    doc.connect("main", chunk, "out2", multiply, "b")
    doc.connect("main", multiply, "out", out, "in")
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert set(result.info(chunk, ()).outputs) == {"out0", "out1", "out2"}
    net = compile_project(doc.project)
    assert ".chunk(3, dim = 1)" in net.code
    inputs = torch.randn(2, 6)
    a, _, b = inputs.chunk(3, dim=1)
    assert torch.equal(net(inputs), a * b)


def test_a_bad_call_is_reported_on_its_node_in_one_sentence():
    doc, x, out = graph((2, 6))
    bad = doc.add_node("main", "Function", "bad",
                       {"function": "Tensor.view", "call": {"args": [{"port": "x"}, "lots"], "kwargs": {}}}).id
    doc.connect("main", x, "out", out, "in")
    diagnostics = [d for d in check(doc.project).diagnostics if d.node_id == bad]
    assert diagnostics and diagnostics[0].message.startswith("invalid hyperparameter: ")
    assert "\n" not in diagnostics[0].message


def test_a_parameter_block_is_a_learnable_tensor_named_after_its_node():
    doc, x, out = graph((2, 3, 4))
    token = doc.add_node("main", "Parameter", "cls_token", {"shape": [1, 1, 4], "init": "normal"}).id
    add = doc.add_node("main", "Add", "add").id
    doc.connect("main", x, "out", add, "a")
    doc.connect("main", token, "out", add, "b")
    doc.connect("main", add, "out", out, "in")
    result = check(doc.project)
    assert result.ok and result.info(token, ()).param_count == 4
    net = compile_project(doc.project)
    assert isinstance(net.cls_token, nn.Parameter) and list(net.state_dict()) == ["cls_token"]
    inputs = torch.randn(2, 3, 4)
    net(inputs).sum().backward()
    assert torch.equal(net.cls_token.grad, torch.full((1, 1, 4), 6.0))
    doc.set_param("main", token, "shape", [1, 1, 5])
    assert any("cannot" in d.message or "broadcast" in d.message for d in check(doc.project).diagnostics)


def test_a_sequential_with_an_edge_to_a_missing_node_gets_the_normal_diagnostic():
    from netstudio.graph.edge import Edge
    doc, _, _ = graph()
    project = doc.project.copy()
    seq = project.root_definition
    seq.kind, seq.class_name = "sequential", "Sequential"
    edge = next(iter(seq.edges.values()), None) or Edge("e99", seq.inputs[0].id, "out", "nowhere", "in")
    seq.edges[edge.id] = Edge(edge.id, seq.inputs[0].id, "out", "nowhere", "in")
    lines = [d.line() for d in check(project).diagnostics]
    assert any("which does not exist" in line for line in lines), lines
    assert not any("could not be checked" in line for line in lines)


def test_a_float64_parameter_counts_eight_bytes_an_element():
    doc, x, out = graph((2, 3))
    weight = doc.add_node("main", "Parameter", "weight", {"shape": [3, 5], "dtype": "float64"}).id
    matmul = doc.add_node("main", "MatMul", "matmul").id
    cast = doc.add_node("main", "Function", "cast",
                        {"function": "Tensor.to", "call": {"args": [{"port": "x"}, "float64"], "kwargs": {}}}).id
    doc.connect("main", x, "out", cast, "x")
    doc.connect("main", cast, "out", matmul, "a")
    doc.connect("main", weight, "out", matmul, "b")
    doc.connect("main", matmul, "out", out, "in")
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert result.network_bytes == 15 * 8
    assert compile_project(doc.project).weight.dtype == torch.float64


def test_a_call_that_is_not_an_object_is_one_problem_not_two():
    doc, x, out = graph((2, 6))
    bad = doc.add_node("main", "Function", "bad", {"function": "Tensor.view", "call": ["not", "an", "object"]}).id
    doc.connect("main", x, "out", out, "in")
    problems = [d.message for d in check(doc.project).diagnostics if d.node_id == bad and d.severity == "error"]
    assert problems == ["invalid hyperparameter: 'call' must be an object of named values"]


def test_an_optional_input_fed_by_a_broken_block_is_not_taken_as_unconnected():
    doc, x, out = graph((2, 4, 8))
    attention = doc.add_node("main", "MultiheadAttention", "attention",
                             {"embed_dim": 8, "num_heads": 2, "batch_first": True}).id
    for port in ("query", "key", "value"):
        doc.connect("main", x, "out", attention, port)
    doc.connect("main", attention, "output", out, "in")
    broken = doc.add_node("main", "Function", "broken",
                          {"function": "Tensor.view", "call": {"args": [{"port": "x"}, 7, 7], "kwargs": {}}}).id
    doc.connect("main", x, "out", broken, "x")
    doc.connect("main", broken, "out", attention, "attn_mask")
    result = check(doc.project)
    assert [d.node_id for d in result.diagnostics if d.severity == "error"] == [broken]
    assert result.info(attention, ()) is None     # not inferred as if the mask were absent


STATEFUL = '''class Stateful(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.lin = nn.Linear(width, width)

    def forward(self, x, state=None):
        if state is None:
            state = torch.zeros_like(x)
        h = torch.tanh(self.lin(x) + state)
        return h, state
'''


def test_a_code_block_takes_an_optional_port_by_keyword_and_returns_one_port_per_tuple_element():
    from netstudio.analysis import shapes
    from netstudio.graph.ports import input_ports, optional_input_ports, output_ports
    shapes._CODE_CACHE.clear()     # a fresh inference, not one remembered from an earlier check
    doc, x, out = graph((2, 4))
    doc.set_code("Stateful", STATEFUL)
    first = doc.add_node("main", "Code", "first", {"class_name": "Stateful", "args": {}}).id
    second = doc.add_node("main", "Code", "second", {"class_name": "Stateful", "args": {}}).id
    node = doc.node("main", first)
    assert input_ports(doc.project, node) == ("x", "state")
    assert optional_input_ports(doc.project, node) == {"state"}
    assert output_ports(doc.project, node) == ("h", "state")
    doc.connect("main", x, "out", first, "x")                 # no state: the default applies
    doc.connect("main", first, "h", second, "x")
    doc.connect("main", first, "state", second, "state")      # passed as state=...
    doc.connect("main", second, "h", out, "in")
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert result.info(first, ()).outputs["state"].shape == (2, 4)
    net = compile_project(doc.project)
    assert "state = " in net.code
    inputs = torch.randn(2, 4)
    h, state = net.first(inputs)
    assert torch.equal(net(inputs), net.second(h, state=state)[0])
    doc.disconnect("main", next(e.id for e in doc.definition("main").edges.values() if e.dst_port == "x"
                                and e.dst == first))
    lines = [d.line() for d in check(doc.project).diagnostics]
    assert any("input 'x' is not connected" in line for line in lines)
    assert not any("'state' is not connected" in line for line in lines)


def test_a_code_block_whose_tuple_holds_something_else_than_tensors_says_so():
    from netstudio.analysis import shapes
    shapes._CODE_CACHE.clear()     # a fresh inference, not one remembered from an earlier check
    doc, x, out = graph((2, 4))
    doc.set_code("Half", STATEFUL.replace("Stateful", "Half").replace("return h, state", "return h, None"))
    half = doc.add_node("main", "Code", "step", {"class_name": "Half", "args": {}}).id
    doc.connect("main", x, "out", half, "x")
    doc.connect("main", half, "out0", out, "in")     # ports out0, out1: not every element is a name
    [problem] = [d.line() for d in check(doc.project).errors]
    assert problem == "step: Half.forward must return 2 tensors (out0, out1), not tuple"


def test_a_connected_optional_port_reaches_the_code_blocks_shape_inference():
    from netstudio.analysis import shapes
    shapes._CODE_CACHE.clear()
    source = ("class Join(nn.Module):\n"
              "    def forward(self, x, extra=None):\n"
              "        return x if extra is None else torch.cat([x, extra], -1)\n")
    doc, x, out = graph((2, 4))
    doc.set_code("Join", source)
    join = doc.add_node("main", "Code", "join", {"class_name": "Join", "args": {}}).id
    doc.connect("main", x, "out", join, "x")
    doc.connect("main", join, "out", out, "in")
    assert check(doc.project).info(join, ()).outputs["out"].shape == (2, 4)
    doc.connect("main", x, "out", join, "extra")
    assert check(doc.project).info(join, ()).outputs["out"].shape == (2, 8)
