"""Each kind of mistake is a diagnostic on the node that causes it, never an exception."""

from __future__ import annotations

import pytest
import torch

from netstudio.analysis import check
from netstudio.compiler import compile_project
from netstudio.errors import GraphError
from netstudio.graph import Document, Project

from .builders import chain_project, link


def messages(project) -> list[str]:
    return [d.line() for d in check(project).diagnostics]


def test_shape_mismatch_names_the_node_and_both_shapes():
    doc, ids = chain_project([("Linear", {"out_features": 128}, "hidden"), ("ReLU", {}),
                              ("Linear", {"in_features": 256, "out_features": 10}, "out")], kind="graph")
    result = check(doc.project)
    (diag,) = result.errors
    assert diag.line() == "out: Linear expects 256 input features, receives 128"
    assert diag.node_id == ids[2]


def test_valid_chain_has_shapes_on_every_edge():
    doc, ids = chain_project([("Linear", {"out_features": 256}), ("ReLU", {}), ("Linear", {"out_features": 10})])
    result = check(doc.project)
    assert result.ok
    assert [result.output(i).shape for i in ids] == [(2, 256), (2, 256), (2, 10)]


def test_cycle():
    doc, ids = chain_project([("Linear", {"out_features": 20}, "a"), ("Add", {}, "add")], kind="graph")
    link(doc, "main", ids[1], ids[0])  # second input into 'a' → two edges and a cycle
    d = doc.definition("main")
    # Remove the original edge into 'a' so only the cycle remains there.
    first = next(e for e in d.edges.values() if e.dst == ids[0] and e.src == d.inputs[0].id)
    doc.disconnect("main", first.id)
    doc.connect("main", d.inputs[0].id, "out", ids[1], "b")
    text = messages(doc.project)
    assert any(m.startswith("a: is part of a cycle") for m in text)
    assert any(m.startswith("add: is part of a cycle") for m in text)


def test_unconnected_input_and_two_edges_into_one_input():
    doc, ids = chain_project([("Add", {}, "add")], kind="graph")
    text = messages(doc.project)
    assert "add: input 'b' is not connected" in text
    d = doc.definition("main")
    extra = doc.add_node("main", "Linear", "extra", {"out_features": 20})
    link(doc, "main", d.inputs[0].id, extra.id)
    doc.connect("main", extra.id, "out", ids[0], "a")
    assert "add: input 'a' has 2 incoming connections; an input takes exactly one" in messages(doc.project)


def test_unknown_block_type_and_invalid_hyperparameters():
    doc, ids = chain_project([("Linear", {"out_features": 0}, "lin"), ("Dropout", {"p": 1.5}, "drop")], kind="graph")
    node = doc.add_node("main", "Transformer9000", "mystery")
    text = messages(doc.project)
    assert "lin: invalid hyperparameter: 'out_features' must be between 1 and 16,777,216, not 0" in text
    assert "drop: invalid hyperparameter: 'p' must be between 0 and 1, not 1.5" in text
    assert "mystery: has unknown block type 'Transformer9000'" in text
    doc.set_param("main", ids[0], "out_features", "ten")
    assert "lin: invalid hyperparameter: 'out_features' must be a whole number, not 'ten'" in messages(doc.project)
    doc.set_param("main", ids[0], "colour", "red")
    assert "lin: Linear has no hyperparameter 'colour'" in messages(doc.project)
    assert node.id in {d.node_id for d in check(doc.project).errors}


@pytest.mark.parametrize("name, message", [
    ("a", "a: name 'a' is used by 2 nodes; names must be unique in a block"),
    ("x.y", "x.y: invalid name: 'x.y' contains '.', which PyTorch uses to separate module names"),
    ("forward", "forward: invalid name: 'forward' is reserved: torch.nn.Module already has an attribute of that name"),
    ("training", "training: invalid name: 'training' is reserved: torch.nn.Module already has an attribute of that name"),
    ("", "Linear: has no name"),
    ("my input", "my input: invalid name: 'my input' is not a valid name: use letters, digits and underscores, "
                 "not starting with a digit"),
    ("class", "class: invalid name: 'class' is a Python keyword"),
    ("x\n-y", "x\\n-y: invalid name: 'x\\n-y' is not a valid name: use letters, digits and underscores, "
               "not starting with a digit"),
])
def test_name_clash_and_invalid_names(name, message):
    """Names as a file may hold them (the document refuses them in edits): each is a diagnostic on its node,
    printed with control characters escaped, and the network is not compiled."""
    doc, ids = chain_project([("Linear", {"out_features": 20}, "a"), ("Linear", {"out_features": 20}, "b")],
                             kind="graph")
    doc.project.definitions["main"].nodes[ids[1]].name = name
    result = check(doc.project)
    assert message in [d.line() for d in result.diagnostics]
    assert ids[1] in {d.node_id for d in result.errors}
    with pytest.raises(GraphError):
        compile_project(doc.project)


def test_tied_nodes_of_different_shapes():
    doc, ids = chain_project([("Linear", {"out_features": 8}), ("Linear", {"out_features": 16}),
                              ("Linear", {"out_features": 8})])
    doc.tie("main", ids[2], ids[0])
    text = messages(doc.project)
    assert any(m.startswith("2: shares parameters with") and "weight" in m and "(8, 20)" in m for m in text), text


def test_tied_nodes_with_different_hyperparameters():
    doc, ids = chain_project([("Linear", {"out_features": 8}), ("Linear", {"out_features": 16})])
    doc.tie("main", ids[1], ids[0])
    assert ("1: shares parameters with '0' but has out_features 16 instead of 8: tied nodes must have the same shape"
            in messages(doc.project))


CODE_RAISES_IN_FORWARD = '''class Boom(nn.Module):
    def forward(self, X):
        raise ValueError("no thanks")
'''

CODE_RAISES_IN_INIT = '''class Boom(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = undefined_name
    def forward(self, X):
        return X
'''


@pytest.mark.parametrize("source, expected", [
    ("class Boom(nn.Module:\n    pass\n", "code error in Boom: line 1: "),
    ("x = 1\n", "code error in Boom: the code defines no class named 'Boom'"),
    (CODE_RAISES_IN_FORWARD, "Boom.forward raised line 3: ValueError: no thanks"),
    (CODE_RAISES_IN_INIT, "Boom(...) raised line 4: NameError: name 'undefined_name' is not defined"),
])
def test_code_block_errors_are_diagnostics(source, expected):
    doc, ids = chain_project([("Code", {"class_name": "Boom", "args": {}}, "boom")], code={"Boom": source})
    text = messages(doc.project)
    assert any(m.startswith("boom: " + expected) for m in text), text
    with pytest.raises(GraphError) as err:
        compile_project(doc.project)
    assert err.value.diagnostics and "\n" not in str(err.value)


def test_untrusted_code_never_runs(tmp_path):
    marker = tmp_path / "ran"
    source = (f"open({str(marker)!r}, 'w').close()\nclass Spy(nn.Module):\n    def forward(self, X):\n"
              "        return X\n")
    doc, ids = chain_project([("Code", {"class_name": "Spy", "args": {}}, "spy")], code={"Spy": source})
    doc.set_setting("trusted", False)
    assert "spy: code block Spy is disabled because the project is not trusted" in messages(doc.project)
    with pytest.raises(GraphError):
        compile_project(doc.project)
    assert not marker.exists()
    doc.set_setting("trusted", True)
    assert check(doc.project).ok and marker.exists()


def test_sequential_must_be_a_chain_and_cannot_hold_multi_input_blocks():
    doc, ids = chain_project([("Linear", {"out_features": 4})])
    add = doc.add_node("main", "Add")
    text = messages(doc.project)
    assert "main: main is a Sequential, so its blocks must form one chain from the Input to the Output" in text
    assert add.id in {d.node_id for d in check(doc.project).diagnostics}


def test_missing_and_recursive_definitions():
    doc, _ = chain_project([], kind="graph")
    blk = doc.add_node("main", "Block", "blk", {"definition": "Nope"})
    assert "blk: uses the block definition 'Nope', which does not exist" in messages(doc.project)
    doc.set_param("main", blk.id, "definition", "main")
    assert any("blocks cannot nest recursively" in m for m in messages(doc.project))


def test_compile_on_invalid_graph_raises_one_documented_error_with_diagnostics():
    doc, _ = chain_project([("Linear", {"in_features": 3, "out_features": 4}, "lin")], kind="graph")
    with pytest.raises(GraphError) as err:
        compile_project(doc.project)
    assert str(err.value) == "The network cannot be compiled: lin: Linear expects 3 input features, receives 20."
    assert [d.node_id for d in err.value.diagnostics]


def test_huge_layer_is_reported_never_allocated():
    import tracemalloc

    from netstudio.summary import summarize
    doc, ids = chain_project([("Linear", {"in_features": 1_000_000, "out_features": 1_000_000})], shape=(2, 1_000_000))
    tracemalloc.start()
    result = check(doc.project)
    summary = summarize(doc.project, result)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    (error,) = result.errors
    assert error.node_id == ids[0]
    assert error.message.startswith("the network needs 3.6 TB for its parameters and constants, more than the "
                                    "memory budget of ")
    assert result.network_bytes == 4 * (1_000_000 * 1_000_000 + 1_000_000)
    assert summary.total_params == 1_000_000 * 1_000_000 + 1_000_000
    assert summary.total_bytes == 4 * summary.total_params
    assert "TB" in summary.format().splitlines()[-1]
    assert peak < 50 * 1024 * 1024
    with pytest.raises(GraphError, match="memory budget"):
        compile_project(doc.project)
    # The meta device holds no data, so the budget does not apply there.
    net = compile_project(doc.project, device="meta")
    assert net[0].weight.is_meta


def test_diagnostics_inside_nested_blocks_carry_their_instance_path():
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    doc.add_definition("Inner", kind="graph")
    inner = doc.definition("Inner")
    lin = doc.add_node("Inner", "Linear", "lin", {"in_features": 7, "out_features": 3})
    link(doc, "Inner", inner.inputs[0].id, lin.id)
    link(doc, "Inner", lin.id, inner.outputs[0].id)
    main = doc.definition("main")
    doc.set_param("main", main.inputs[0].id, "shape", [2, 5])
    blk = doc.add_node("main", "Block", "blk", {"definition": "Inner"})
    link(doc, "main", main.inputs[0].id, blk.id)
    link(doc, "main", blk.id, main.outputs[0].id)
    (diag,) = check(doc.project).errors
    assert diag.path == (blk.id,) and diag.where == "blk.lin" and diag.node_id == lin.id
    assert diag.line() == "blk.lin: Linear expects 7 input features, receives 5"


def test_summary_survives_missing_and_recursive_definitions():
    from netstudio.summary import summarize
    doc, _ = chain_project([], kind="graph")
    blk = doc.add_node("main", "Block", "blk", {"definition": "Nope"})
    assert summarize(doc.project, check(doc.project)).total_params == 0
    doc.set_param("main", blk.id, "definition", "main")
    assert summarize(doc.project, check(doc.project)).total_params == 0


DOUBLE = """class Double(nn.Module):
    # used at two widths by test_one_code_class_at_two_widths_gets_two_shapes
    def forward(self, X):
        return torch.cat([X, X], -1)
"""


def test_one_code_class_at_two_widths_gets_two_shapes():
    """Code blocks' shapes are cached by class, source and arguments *and by their inputs*: a class
    used at two widths must not get the first width's shape the second time."""
    doc, ids = chain_project([("Code", {"class_name": "Double", "args": {}}, "a"),
                              ("Code", {"class_name": "Double", "args": {}}, "b")],
                             kind="graph", shape=(2, 3), code={"Double": DOUBLE})
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert [result.output(i).shape for i in ids] == [(2, 6), (2, 12)]
    doc.set_param("main", doc.definition("main").inputs[0].id, "shape", [2, 5])
    again = check(doc.project)
    assert [again.output(i).shape for i in ids] == [(2, 10), (2, 20)]


def test_a_tied_node_takes_its_owners_hyperparameters_not_its_own():
    """``b`` keeps the in_features it had (4; the tie check lets input sizes differ), but it runs
    ``a``'s module, which takes 8: no mismatch, and its output is a's."""
    doc, ids = chain_project([("Linear", {"in_features": 8, "out_features": 8}, "a"),
                              ("Linear", {"in_features": 4, "out_features": 8}, "b")], kind="graph", shape=(2, 8))
    doc.tie("main", ids[1], ids[0])
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert result.output(ids[1]).shape == (2, 8)
    net = compile_project(doc.project)
    assert net(torch.rand(2, 8)).shape == (2, 8) and [k for k, _ in net.named_parameters()] == ["a.weight", "a.bias"]
