"""Shape inference's promises that mutation testing found unchecked (issue #9)."""

from __future__ import annotations

import torch

from netstudio.analysis import check
from netstudio.analysis.diagnostics import ERROR, WARNING
from netstudio.analysis.shapes import SMALL_INPUT, NodeInfo, ShapeInference
from netstudio.catalog import TensorSpec
from netstudio.graph import Document, Project
from netstudio.graph.edge import Edge
from netstudio.graph.topology import topology

from .builders import chain_project, link

F32 = torch.float32


def test_param_count_multiplies_each_shape_and_adds_them():
    assert NodeInfo().param_count == 0
    assert NodeInfo(params={"weight": (3, 4), "bias": (3,)}).param_count == 15
    assert NodeInfo(params={"scalar": ()}).param_count == 1


def test_each_node_knows_its_inputs_and_an_input_node_has_none():
    doc, ids = chain_project([("Linear", {"out_features": 5}, "a"), ("Add", {}, "add")], kind="graph", shape=(2, 3))
    main = doc.definition("main")
    doc.connect("main", ids[0], "out", ids[1], "b")
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert result.info(ids[0]).inputs == (TensorSpec((2, 3), F32),)
    assert result.info(ids[1]).inputs == (TensorSpec((2, 5), F32),) * 2
    assert result.info(main.inputs[0].id).inputs == ()
    assert result.output(main.inputs[0].id).shape == (2, 3)


def test_a_node_whose_rule_fails_gets_no_shape_and_neither_does_what_follows():
    doc, ids = chain_project([("Linear", {"out_features": 8}, "a"), ("Linear", {"in_features": 3, "out_features": 2}, "b"),
                              ("ReLU", {}, "r")], kind="graph")
    result = check(doc.project)
    assert [d.line() for d in result.diagnostics] == ["b: Linear expects 3 input features, receives 8"]
    assert result.output(ids[0]).shape == (2, 8)
    assert result.info(ids[1]) is None and result.info(ids[2]) is None


def blocks_project(kind: str = "graph") -> tuple[Document, str, str]:
    """main: Input (2, 4) -> blk (Inner: Linear 4 -> 6) -> relu -> Output."""
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    doc.add_definition("Inner", kind=kind, class_name="Inner")
    inner = doc.definition("Inner")
    for edge in list(inner.edges):
        doc.disconnect("Inner", edge)
    lin = doc.add_node("Inner", "Linear", "lin" if kind == "graph" else None, {"out_features": 6})
    link(doc, "Inner", inner.inputs[0].id, lin.id)
    link(doc, "Inner", lin.id, inner.outputs[0].id)
    main = doc.definition("main")
    doc.set_param("main", main.inputs[0].id, "shape", [2, 4])
    for edge in list(main.edges):
        doc.disconnect("main", edge)
    blk = doc.add_node("main", "Block" if kind == "graph" else "Sequential", "blk", {"definition": "Inner"})
    relu = doc.add_node("main", "ReLU", "relu")
    link(doc, "main", main.inputs[0].id, blk.id)
    link(doc, "main", blk.id, relu.id)
    link(doc, "main", relu.id, main.outputs[0].id)
    return doc, blk.id, relu.id


def test_a_containers_output_feeds_what_follows_it():
    for kind in ("graph", "sequential"):
        doc, blk, relu = blocks_project(kind)
        result = check(doc.project)
        assert result.ok, [d.line() for d in result.diagnostics]
        port = "output"
        assert result.output(blk, port).shape == (2, 6) and result.output(relu).shape == (2, 6)
        inner_lin = next(n.id for n in doc.definition("Inner").nodes.values() if n.type == "Linear")
        assert result.output(inner_lin, path=(blk,)).shape == (2, 6)
        assert result.info(doc.definition("Inner").outputs[0].id, path=(blk,)) is not None
        assert result.network_bytes == 4 * (6 * 4 + 6)


def test_where_a_shape_error_is_says_the_instance_path_by_names_and_positions():
    doc, blk, _ = blocks_project("sequential")
    inner = doc.definition("Inner")
    lin = next(n for n in inner.nodes.values() if n.type == "Linear")
    doc.set_param("Inner", lin.id, "in_features", 9)
    [diag] = check(doc.project).errors
    assert (diag.where, diag.path, diag.node_id) == ("blk.0", (blk,), lin.id)
    doc, blk, _ = blocks_project("graph")
    lin = next(n for n in doc.definition("Inner").nodes.values() if n.type == "Linear")
    doc.set_param("Inner", lin.id, "in_features", 9)
    [diag] = check(doc.project).errors
    assert (diag.where, diag.message) == ("blk.lin", "Linear expects 9 input features, receives 4")


def test_a_named_child_of_a_sequential_is_called_by_its_name():
    doc, ids = chain_project([("Linear", {"out_features": 8}), ("Linear", {"in_features": 3, "out_features": 2}, "head")])
    [diag] = check(doc.project).errors
    assert diag.where == "head"


def test_tied_uses_of_one_lazy_layer_at_two_widths_are_a_shape_error():
    """Both Linear uses are lazy; the owner meets width 8 and the tied use width 4: one weight cannot be both."""
    doc, ids = chain_project([("Linear", {"out_features": 4}, "a"), ("Linear", {"out_features": 4}, "b")],
                             kind="graph", shape=(2, 8))
    doc.tie("main", ids[1], ids[0])
    [diag] = check(doc.project).errors
    assert (diag.where, diag.node_id) == ("b", ids[1])
    assert diag.message == ("shares parameters with 'a', whose weight is (4, 8), but its input needs (4, 4): "
                            "tied nodes must have the same shape")


def test_a_tied_layer_that_warns_warns_for_each_use():
    doc, ids = chain_project([("BatchNorm1d", {"num_features": 4}, "a"), ("BatchNorm1d", {"num_features": 4}, "b")],
                             kind="graph", shape=(1, 4))
    doc.tie("main", ids[1], ids[0])
    result = check(doc.project)
    assert [(d.severity, d.where) for d in result.diagnostics] == [(WARNING, "a"), (WARNING, "b")]
    assert result.ok and result.output(ids[1]).shape == (1, 4)


def test_inputs_without_a_usable_shape_or_dtype_are_left_out_never_crash():
    doc, ids = chain_project([("ReLU", {}, "r")], kind="graph")
    x = doc.definition("main").inputs[0]
    x.params["dtype"] = ["float32"]            # not even hashable: a hostile file
    result = check(doc.project)
    assert result.info(ids[0]) is None
    assert all("could not be checked" not in d.message for d in result.diagnostics)
    x.params["dtype"] = "float64"
    assert check(doc.project).output(ids[0]) == TensorSpec((2, 20), torch.float64)


def test_a_root_named_like_its_input_node_is_inferred_all_the_same():
    doc = Document(Project(definitions={}, root="n1net"))
    doc.add_definition("n1net", kind="graph", class_name="Net")
    d = doc.definition("n1net")
    assert d.inputs[0].id in "n1net"
    doc.set_param("n1net", d.inputs[0].id, "shape", [2, 3])
    assert check(doc.project).output(d.inputs[0].id).shape == (2, 3)


def test_inference_alone_skips_what_it_cannot_handle():
    """Without check's structural pass: a missing root, and unknown or bad nodes, are skipped."""
    doc, ids = chain_project([("ReLU", {}, "r")], kind="graph")
    project = doc.project
    topologies = {d.name: topology(d) for d in project.definitions.values()}
    project.root = "gone"
    inference = ShapeInference(project, topologies, {})
    inference.run()
    assert inference.infos == {} and inference.diagnostics == []
    project.root = "main"
    doc.definition("main").nodes[ids[0]].type = "Nope"
    inference = ShapeInference(project, topologies, {})
    inference.run()
    assert (((), ids[0])) not in inference.infos and inference.diagnostics == []


def test_inference_alone_leaves_out_inputs_it_has_no_spec_for():
    """An Input the checker found bad, or one without an example shape, gives nothing to infer;
    the others do, whatever the root is called."""
    doc = Document(Project(definitions={}, root="n1net"))
    doc.add_definition("n1net", kind="graph", class_name="Net")
    d = doc.definition("n1net")
    x = d.inputs[0].id
    assert x in "n1net"
    doc.set_param("n1net", x, "shape", [2, 3])
    project = doc.project
    topologies = {d.name: topology(d)}
    inference = ShapeInference(project, topologies, {"n1net": {"unrelated"}})
    inference.run()
    assert inference.infos[((), x)].outputs == {"out": TensorSpec((2, 3), F32)}
    inference = ShapeInference(project, topologies, {"n1net": {x}})
    inference.run()
    assert inference.infos == {} and inference.diagnostics == []
    doc.set_param("n1net", x, "shape", None)
    inference = ShapeInference(project, topologies, {})
    inference.run()
    assert inference.infos == {} and inference.diagnostics == []


def test_inference_alone_never_walks_a_graph_as_a_chain():
    """A graph's nodes are called by their names: an edge no chain walk could follow (the Input to
    a missing node) does not stop the Constant beside it from being inferred."""
    doc, _ = chain_project([], kind="graph", shape=(2, 4))
    main = doc.definition("main")
    x, out = main.inputs[0].id, main.outputs[0].id
    for edge in list(main.edges):
        doc.disconnect("main", edge)
    const = doc.add_node("main", "Constant", "c", {"shape": [2, 3]})
    link(doc, "main", const.id, out)
    main.edges["zz"] = Edge("zz", x, "out", "ghost", "in")
    inference = ShapeInference(doc.project, {"main": topology(main)}, {})
    inference.run()
    assert inference.diagnostics == []
    assert inference.infos[((), const.id)].outputs == {"out": TensorSpec((2, 3), F32)}


def test_tied_uses_inside_a_block_are_compared_in_each_of_its_instances():
    """Inner: X -> a (lazy Linear 4) -> b (lazy Linear 4, tied to a): fed 4 features the two agree,
    fed 8 they cannot share one weight, and the error points into the block's instance."""
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    doc.add_definition("Inner", kind="graph", class_name="Inner")
    inner = doc.definition("Inner")
    for edge in list(inner.edges):
        doc.disconnect("Inner", edge)
    a = doc.add_node("Inner", "Linear", "a", {"out_features": 4})
    b = doc.add_node("Inner", "Linear", "b", {"out_features": 4})
    link(doc, "Inner", inner.inputs[0].id, a.id)
    link(doc, "Inner", a.id, b.id)
    link(doc, "Inner", b.id, inner.outputs[0].id)
    doc.tie("Inner", b.id, a.id)
    main = doc.definition("main")
    doc.set_param("main", main.inputs[0].id, "shape", [2, 4])
    for edge in list(main.edges):
        doc.disconnect("main", edge)
    blk = doc.add_node("main", "Block", "blk", {"definition": "Inner"})
    link(doc, "main", main.inputs[0].id, blk.id)
    link(doc, "main", blk.id, main.outputs[0].id)
    assert check(doc.project).ok
    doc.set_param("main", main.inputs[0].id, "shape", [2, 8])
    [diag] = check(doc.project).errors
    assert (diag.where, diag.path, diag.node_id) == ("blk.b", (blk.id,), b.id)
    assert diag.message.startswith("shares parameters with 'a', whose weight is (4, 8)")


def test_tied_lazy_batchnorms_without_parameters_must_get_one_size():
    """No weights to compare, but the first use sizes the running statistics: a second use fed
    another number of channels would fail at the first forward, so it is an error at once."""
    doc, ids = chain_project([("BatchNorm1d", {"affine": False}, "a"), ("Linear", {"out_features": 6}, "lin"),
                              ("BatchNorm1d", {"affine": False}, "b")], kind="graph", shape=(4, 8))
    doc.tie("main", ids[2], ids[0])
    result = check(doc.project)
    assert [(d.where, d.node_id, d.message) for d in result.errors] == [
        ("b", ids[2], "shares parameters with 'a', whose num_features its input sets to 8, but its own input "
                      "gives 6: tied nodes must have the same shape")]
    doc.set_param("main", ids[1], "out_features", 8)
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert result.output(ids[2]).shape == (4, 8)


# ---------------------------------------------------------------- code blocks

IDENTITY_WITH_WEIGHTS = """class Data(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
    def forward(self, X):
        if X.abs().sum() > 1:          # needs real values: not on the meta device
            return X
        return self.lin(X)
"""


def test_a_code_block_that_needs_real_values_runs_once_on_zeros_with_its_own_weights():
    doc, ids = chain_project([("Code", {"class_name": "Data", "args": {}}, "c")], kind="graph", shape=(2, 4),
                             code={"Data": IDENTITY_WITH_WEIGHTS})
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert result.output(ids[0]).shape == (2, 4)
    assert result.info(ids[0]).params == {"lin.weight": (4, 4), "lin.bias": (4,)}
    again = check(doc.project)              # the second check answers from the cache
    assert again.output(ids[0]).shape == (2, 4) and again.info(ids[0]).params == result.info(ids[0]).params


KEEP_HALF = """class KeepHalf(nn.Module):
    def forward(self, X):
        return X[..., : X.shape[-1] // 2]
"""


def test_one_code_class_at_two_widths_gives_two_shapes():
    """Answers are cached by class, source, arguments and input: a second width is a second answer."""
    doc, ids = chain_project([("Code", {"class_name": "KeepHalf", "args": {}}, "one"), ("Linear", {"out_features": 6}, "lin"),
                              ("Code", {"class_name": "KeepHalf", "args": {}}, "two")],
                             kind="graph", shape=(2, 10), code={"KeepHalf": KEEP_HALF})
    for _ in range(2):                       # the second check answers from the cache
        result = check(doc.project)
        assert result.ok, [d.line() for d in result.diagnostics]
        assert result.output(ids[0]).shape == (2, 5) and result.output(ids[2]).shape == (2, 3)


WIDE = """class Wide(nn.Module):
    # meta is enough here, whatever the size
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
    def forward(self, X):
        return X[:, :3] * self.scale
"""

NEEDS_VALUES = """class NeedsValues(nn.Module):
    def forward(self, X):
        if X.sum() > 0:
            return X * 2
        return X[:, :1]
"""


def test_code_on_a_huge_input_runs_on_meta_only():
    doc, ids = chain_project([("Code", {"class_name": "Wide", "args": {}}, "c")], kind="graph",
                             shape=(2048, 4096), code={"Wide": WIDE})
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert result.output(ids[0]).shape == (2048, 3) and result.info(ids[0]).params == {"scale": ()}


def test_code_that_needs_values_runs_on_zeros_up_to_the_small_input_limit_and_not_beyond():
    rows = SMALL_INPUT // 4096
    doc, ids = chain_project([("Code", {"class_name": "NeedsValues", "args": {}}, "c")], kind="graph",
                             shape=(rows, 4096), code={"NeedsValues": NEEDS_VALUES})
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert result.output(ids[0]).shape == (rows, 1)
    doc.set_param("main", doc.definition("main").inputs[0].id, "shape", [rows + 1, 4096])
    [diag] = check(doc.project).errors
    assert diag.where == "c" and diag.message.startswith("NeedsValues.forward raised ")


def test_code_whose_forward_does_not_return_one_tensor_is_a_diagnostic():
    source = "class Pair(nn.Module):\n    def forward(self, X):\n        return tuple([X, X])\n"   # no visible tuple
    doc, ids = chain_project([("Code", {"class_name": "Pair", "args": {}}, "c")], kind="graph", code={"Pair": source})
    result = check(doc.project)
    [diag] = result.errors
    assert diag.line() == "c: Pair.forward must return one tensor, not tuple"
    assert result.info(ids[0]) is None                  # no shape, not the one before it
    assert result.info(doc.definition("main").outputs[0].id) is None


def test_a_bug_in_a_shape_rule_is_a_diagnostic_on_its_node(monkeypatch):
    import dataclasses

    from netstudio.analysis import shapes
    from netstudio.catalog import get_block
    doc, ids = chain_project([("ReLU", {}, "r"), ("Linear", {"out_features": 2}, "after")], kind="graph")

    def broken(params, ins):
        raise KeyError("oops")
    relu = dataclasses.replace(get_block("ReLU"), infer=broken)
    monkeypatch.setattr(shapes, "get_block", lambda name: relu if name == "ReLU" else get_block(name))
    result = check(doc.project)
    assert [(d.severity, d.where) for d in result.diagnostics] == [(ERROR, "r")]
    assert result.diagnostics[0].message.startswith("shape inference failed: KeyError")
    assert result.info(ids[0]) is None and result.info(ids[1]) is None
