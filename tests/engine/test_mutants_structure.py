"""Every structural diagnostic, exactly: its severity, where it points, its sentence (issue #9).

Mutation testing showed that many checks were only reached with their
message unread: a check could report on the wrong node, or twice, or
not at all, and no test failed.  Here each kind of mistake is made on
purpose and the whole list of diagnostics is compared.
"""

from __future__ import annotations

import pytest

import importlib

from netstudio.analysis import check
from netstudio.analysis.diagnostics import ERROR, WARNING
from netstudio.analysis.structure import DefinitionChecker
from netstudio.graph import Document, Project
from netstudio.graph.edge import Edge
from netstudio.graph.topology import topology

from .builders import chain_project, link

check_module = importlib.import_module("netstudio.analysis.check")
NOT_A_NAME = "is not a valid name: use letters, digits and underscores, not starting with a digit"
GOOD_CODE = "class Good(nn.Module):\n    def forward(self, X):\n        return X\n"


def found(project) -> list[tuple[str, str, str]]:
    return [(d.severity, d.where, d.message) for d in check(project).diagnostics]


def test_a_definition_without_input_or_output():
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net", with_io=False)
    result = check(doc.project)
    assert [(d.where, d.message, d.node_id) for d in result.diagnostics] == [
        ("main", "main has no Input node", None), ("main", "main has no Output node", None)]


def test_the_top_level_input_needs_a_shape_and_is_then_left_out_of_inference():
    doc, ids = chain_project([("Linear", {"out_features": 3}, "lin")], kind="graph")
    doc.set_param("main", doc.definition("main").inputs[0].id, "shape", None)
    result = check(doc.project)
    assert found(doc.project) == [(ERROR, "X", "the top-level Input needs an example shape, such as [2, 20]")]
    assert result.diagnostics[0].node_id == doc.definition("main").inputs[0].id
    assert result.info(ids[0]) is None


def test_an_error_keeps_its_node_out_of_inference_a_warning_does_not():
    doc, ids = chain_project([("Linear", {"out_features": 0}, "bad"), ("ReLU", {}, "r")], kind="graph")
    spare = doc.add_node("main", "ReLU", "spare")
    link(doc, "main", doc.definition("main").inputs[0].id, spare.id)
    result = check(doc.project)
    assert found(doc.project) == [
        (ERROR, "bad", "invalid hyperparameter: 'out_features' must be between 1 and 16,777,216, not 0"),
        (WARNING, "spare", "its output is not used")]
    assert result.info(ids[0]) is None and result.info(ids[1]) is None   # nor anything downstream
    assert result.output(spare.id).shape == (2, 20)


@pytest.mark.parametrize("params, code, expected", [
    ({"class_name": "not a class", "args": {}}, {}, f"code block cannot be compiled: 'not a class' {NOT_A_NAME}"),
    ({"class_name": "Good", "args": {"1x": 2}}, {"Good": GOOD_CODE}, f"code block cannot be compiled: '1x' {NOT_A_NAME}"),
    ({"class_name": "Missing", "args": {}}, {}, "the project has no code for class 'Missing'"),
])
def test_code_block_problems_found_before_running_anything(params, code, expected):
    doc, ids = chain_project([("Code", params, "c1")], kind="graph", code=code)
    result = check(doc.project)
    assert found(doc.project) == [(ERROR, "c1", expected)]
    assert result.diagnostics[0].node_id == ids[0]


def test_a_syntax_error_in_untrusted_code_is_one_diagnostic():
    doc, _ = chain_project([("Code", {"class_name": "Bad", "args": {}}, "c1")], kind="graph",
                           code={"Bad": "class Bad(nn.Module:\n    pass\n"})
    doc.set_setting("trusted", False)
    [(severity, where, message)] = found(doc.project)
    assert (severity, where) == (ERROR, "c1") and message.startswith("code error in Bad: line 1: ")


def test_containers_of_the_wrong_kind():
    doc, _ = chain_project([], kind="graph", shape=(2, 4))
    doc.add_definition("Seq", kind="sequential", class_name="Sequential")
    doc.add_definition("Gr", kind="graph", class_name="Gr")
    a = doc.add_node("main", "Block", "a", {"definition": "Seq"})
    b = doc.add_node("main", "Sequential", "b", {"definition": "Gr"})
    result = check(doc.project)
    mine = [(d.where, d.message, d.node_id) for d in result.diagnostics if "; use a " in d.message]
    assert mine == [("a", "'Seq' is a sequential definition; use a Sequential node for it", a.id),
                    ("b", "'Gr' is a graph definition; use a Block node for it", b.id)]


def tie_project():
    doc, ids = chain_project([("Linear", {"out_features": 4}, "a"), ("Linear", {"out_features": 4}, "b"),
                              ("Linear", {"out_features": 4}, "c"), ("ReLU", {}, "r")], kind="graph", shape=(2, 4))
    k1 = doc.add_node("main", "Constant", "k1", {"shape": [2]})
    k2 = doc.add_node("main", "Constant", "k2", {"shape": [2]})
    return doc, ids, k1, k2


def test_every_kind_of_bad_tie():
    doc, ids, k1, k2 = tie_project()
    main = doc.definition("main")
    main.nodes[ids[1]].tied_to = ids[0]
    main.nodes[ids[2]].tied_to = ids[1]
    main.nodes[ids[3]].tied_to = ids[0]
    main.nodes[k2.id].tied_to = k1.id
    result = check(doc.project)
    assert [(d.where, d.message, d.node_id) for d in result.errors] == [
        ("c", "shares parameters with 'b', which itself shares another node's", ids[2]),
        ("r", "is a ReLU but shares parameters with 'a', a Linear", ids[3]),
        ("k2", "a Constant has no module to share", k2.id)]
    doc.add_definition("Other", kind="graph", class_name="Other")
    other = doc.add_node("Other", "Linear", "o", {"out_features": 4})
    main.nodes[ids[1]].tied_to = other.id
    main.nodes[ids[2]].tied_to = "nope"
    main.nodes[ids[3]].tied_to = None
    main.nodes[k2.id].tied_to = None
    assert [(d.where, d.message) for d in check(doc.project).errors] == [
        ("b", "shares parameters with a node of 'Other'; ties must stay in one block"),
        ("c", "shares parameters with node 'nope', which does not exist")]


def test_names_in_a_graph():
    doc, ids = chain_project([("Linear", {"out_features": 4}, "a"), ("ReLU", {}, "r"), ("ReLU", {}, "s")],
                             kind="graph", shape=(2, 4))
    main = doc.definition("main")
    main.class_name = "not ok"
    main.nodes[ids[1]].name = "a"
    main.nodes[ids[2]].name = ""
    result = check(doc.project)
    assert [(d.where, d.message, d.node_id) for d in result.diagnostics] == [
        ("main", f"the definition cannot be compiled: 'not ok' {NOT_A_NAME}", None),
        ("ReLU", "has no name", ids[2]),
        ("a", "name 'a' is used by 2 nodes; names must be unique in a block", ids[0]),
        ("a", "name 'a' is used by 2 nodes; names must be unique in a block", ids[1])]


def test_names_in_a_sequential():
    doc, ids = chain_project([("Linear", {"out_features": 4}), ("ReLU", {}), ("ReLU", {}, "x")], shape=(2, 4))
    main = doc.definition("main")
    main.nodes[ids[2]].name = "0"    # looks like the first child's position
    assert found(doc.project) == [
        (ERROR, "0", "invalid name: '0' looks like a position; leave the name empty to be named by the position")]
    main.nodes[ids[2]].name = "x"
    main.nodes[ids[1]].name = "x"
    assert found(doc.project) == [
        (ERROR, "x", "name 'x' is used by 2 nodes; names must be unique in a block")] * 2
    main.nodes[ids[1]].name = ""
    main.class_name = "Sequential"   # a plain Sequential: no class of its own to name
    assert found(doc.project) == []
    main.class_name = "bad name"
    assert found(doc.project) == [(ERROR, "main", f"the definition cannot be compiled: 'bad name' {NOT_A_NAME}")]
    main.class_name = "MySeq"
    assert found(doc.project) == []


def test_a_graph_named_sequential_still_needs_a_valid_class_name():
    doc, _ = chain_project([("Linear", {"out_features": 4}, "a")], kind="graph", shape=(2, 4))
    doc.definition("main").class_name = "Sequential"
    assert found(doc.project) == []      # a valid class name for a graph, too
    doc.definition("main").class_name = ""
    assert found(doc.project) == [(ERROR, "main", "the definition cannot be compiled: a name cannot be empty")]


@pytest.mark.parametrize("kind, class_name, problem", [
    ("sequential", "Sequential", None), ("sequential", "bad name", f"'bad name' {NOT_A_NAME}"),
    ("graph", "Sequential", None), ("graph", "bad name", f"'bad name' {NOT_A_NAME}"),
    ("graph", "", "a name cannot be empty")])
def test_the_class_name_rule_of_a_definition_alone(kind, class_name, problem):
    """Only a plain Sequential needs no class name of its own; any other name must be valid."""
    doc, _ = chain_project([("ReLU", {}, "r")], kind=kind, shape=(2, 4))
    d = doc.definition("main")
    d.class_name = class_name
    found = DefinitionChecker(doc.project, d, topology(d)).run()
    assert [(x.node_id, x.message) for x in found] == (
        [] if problem is None else [(None, f"the definition cannot be compiled: {problem}")])


def test_edges_to_missing_nodes_and_ports():
    doc, ids = chain_project([("Linear", {"out_features": 4}, "a"), ("Add", {}, "add")], kind="graph", shape=(2, 4))
    main = doc.definition("main")
    main.edges["zz"] = Edge("zz", "ghost", "out", ids[0], "in")
    main.edges["zy"] = Edge("zy", ids[0], "nope", ids[1], "b")
    main.edges["zx"] = Edge("zx", ids[0], "out", ids[1], "c")
    result = check(doc.project)
    assert [(d.where, d.message, d.node_id) for d in result.diagnostics] == [
        ("a", "has a connection to node 'ghost', which does not exist", ids[0]),
        ("a", "has no output named 'nope'", ids[0]),
        ("add", "has no input named 'c'", ids[1])]


def test_an_edge_from_a_node_to_nowhere_and_two_edges_into_one_input():
    doc, ids = chain_project([("Linear", {"out_features": 4}, "a"), ("ReLU", {}, "r")], kind="graph", shape=(2, 4))
    main = doc.definition("main")
    main.edges["zz"] = Edge("zz", ids[0], "out", "ghost", "in")
    doc.connect("main", main.inputs[0].id, "out", ids[1], "in")
    assert found(doc.project) == [
        (ERROR, "a", "has a connection to node 'ghost', which does not exist"),
        (ERROR, "r", "its input has 2 incoming connections; an input takes exactly one")]


def test_an_edge_from_the_input_to_nowhere_is_reported_on_the_input():
    """A graph is no chain: an edge no chain walk can follow (Input -> a missing node) is
    reported as it is, not as a definition that could not be checked."""
    doc, _ = chain_project([], kind="graph", shape=(2, 4))
    main = doc.definition("main")
    x = main.inputs[0].id
    for edge in list(main.edges):
        doc.disconnect("main", edge)
    main.edges["zz"] = Edge("zz", x, "out", "ghost", "in")
    result = check(doc.project)
    assert [(d.severity, d.where, d.message) for d in result.diagnostics] == [
        (ERROR, "X", "has a connection to node 'ghost', which does not exist"),
        (WARNING, "X", "its output is not used"),
        (ERROR, "output", "its input is not connected")]
    assert not result.ok and len(result.errors) == 2 and len(result.for_node(x)) == 2
    assert result.info(x) is None and result.output(x) is None     # an error keeps it out of inference


def test_unconnected_inputs_are_named_and_only_outputs_that_lead_nowhere_warn():
    doc, ids = chain_project([("Add", {}, "add")], kind="graph", shape=(2, 4))
    relu = doc.add_node("main", "ReLU", "r")
    assert found(doc.project) == [(ERROR, "add", "input 'b' is not connected"),
                                  (ERROR, "r", "its input is not connected"),
                                  (WARNING, "r", "its output is not used")]


def test_what_cannot_sit_in_a_sequential():
    doc, ids = chain_project([("Linear", {"out_features": 4}), ("Add", {})], shape=(2, 4))
    assert found(doc.project) == [
        (ERROR, "1", "a Add cannot sit in a Sequential (it needs 2 inputs); use a Block instead"),
        (ERROR, "1", "input 'b' is not connected")]
    doc, ids = chain_project([("Linear", {"out_features": 4}), ("ReLU", {})], shape=(2, 4))
    doc.definition("main").nodes[ids[1]].type = "Nope"    # an unknown block is one diagnostic, not a crash
    assert found(doc.project)[0] == (ERROR, "1", "has unknown block type 'Nope'")


def test_a_sequential_child_with_two_outputs():
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="sequential", class_name="Sequential")
    doc.add_definition("Two", kind="graph", class_name="Two")
    two = doc.definition("Two")
    second = doc.add_node("Two", "Output", "second")
    link(doc, "Two", two.inputs[0].id, two.outputs[0].id)
    doc.connect("Two", two.inputs[0].id, "out", second.id, "in")
    main = doc.definition("main")
    doc.set_param("main", main.inputs[0].id, "shape", [2, 4])
    for edge in list(main.edges):
        doc.disconnect("main", edge)
    blk = doc.add_node("main", "Block", None, {"definition": "Two"})
    doc.connect("main", main.inputs[0].id, "out", blk.id, "X")
    doc.connect("main", blk.id, "output", main.outputs[0].id, "in")
    result = check(doc.project)
    assert [(d.where, d.message, d.node_id) for d in result.errors] == [
        ("0", "a Sequential's children must take one input and give one output", blk.id)]


# ---------------------------------------------------------------- check() itself

def test_diagnostics_of_a_definition_the_root_does_not_use_are_warnings_named_by_definition():
    doc, _ = chain_project([("Linear", {"out_features": 4}, "a")], kind="graph", shape=(2, 4))
    doc.add_definition("Spare", kind="sequential", class_name="Spare")
    spare = doc.definition("Spare")
    for edge in list(spare.edges):
        doc.disconnect("Spare", edge)
    assert found(doc.project) == [
        (WARNING, "Spare", "Spare is a Sequential, so its blocks must form one chain from the Input to the Output"),
        (WARNING, "Spare/X", "its output is not used"),
        (WARNING, "Spare/output", "its input is not connected")]
    assert check(doc.project).ok


def test_inside_a_used_sequential_block_diagnostics_are_errors_named_by_position():
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    doc.add_definition("Inner", kind="sequential", class_name="Inner")
    inner = doc.definition("Inner")
    for edge in list(inner.edges):
        doc.disconnect("Inner", edge)
    lin = doc.add_node("Inner", "Linear", None, {"in_features": 7, "out_features": 3})
    link(doc, "Inner", inner.inputs[0].id, lin.id)
    link(doc, "Inner", lin.id, inner.outputs[0].id)
    main = doc.definition("main")
    doc.set_param("main", main.inputs[0].id, "shape", [2, 5])
    for edge in list(main.edges):
        doc.disconnect("main", edge)
    blk = doc.add_node("main", "Sequential", "blk", {"definition": "Inner"})
    link(doc, "main", main.inputs[0].id, blk.id)
    link(doc, "main", blk.id, main.outputs[0].id)
    [diag] = check(doc.project).errors
    assert (diag.severity, diag.where, diag.message) == (ERROR, "blk.0", "Linear expects 7 input features, receives 5")


def test_one_mistake_inside_a_block_used_twice_is_reported_once_per_place():
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    doc.add_definition("Inner", kind="graph", class_name="Inner")
    inner = doc.definition("Inner")
    for edge in list(inner.edges):
        doc.disconnect("Inner", edge)
    lin = doc.add_node("Inner", "Linear", "lin", {"in_features": 7, "out_features": 3})
    link(doc, "Inner", inner.inputs[0].id, lin.id)
    link(doc, "Inner", lin.id, inner.outputs[0].id)
    main = doc.definition("main")
    doc.set_param("main", main.inputs[0].id, "shape", [2, 5])
    for edge in list(main.edges):
        doc.disconnect("main", edge)
    one = doc.add_node("main", "Block", "one", {"definition": "Inner"})
    two = doc.add_node("main", "Block", "two", {"definition": "Inner"})
    link(doc, "main", main.inputs[0].id, one.id)
    link(doc, "main", main.inputs[0].id, two.id)
    link(doc, "main", one.id, main.outputs[0].id)
    errors = check(doc.project).errors
    assert [(d.where, d.message) for d in errors] == [("one.lin", "Linear expects 7 input features, receives 5")]


def test_a_missing_root_definition_is_one_diagnostic():
    """Nothing else is checked: the definitions' own mistakes wait until the root exists."""
    doc, ids = chain_project([("Linear", {"out_features": 4}, "a")], kind="graph")
    doc.definition("main").nodes[ids[0]].name = "not ok"
    doc.add_node("main", "ReLU", "loose")
    doc.project.root = "nope"
    result = check(doc.project)
    assert [(d.severity, d.message, d.definition) for d in result.diagnostics] == [
        (ERROR, "the top-level definition 'nope' does not exist", "nope")]
    assert result.infos == {} and not result.ok and result.network_bytes == 0


def test_a_checker_bug_becomes_a_diagnostic_on_its_definition(monkeypatch):
    doc, ids = chain_project([("Linear", {"out_features": 4}, "a")], kind="graph")

    def broken(self):
        raise RuntimeError("a rule's bug")
    monkeypatch.setattr(check_module.DefinitionChecker, "run", broken)
    result = check(doc.project)
    assert [(d.severity, d.where, d.message) for d in result.diagnostics] == [
        (ERROR, "main", "could not be checked: RuntimeError: a rule's bug")]
    assert result.info(ids[0]) is None     # its nodes are not inferred either


def test_a_bug_anywhere_in_check_becomes_one_diagnostic(monkeypatch):
    doc, _ = chain_project([("Linear", {"out_features": 4}, "a")], kind="graph")

    def broken(self):
        raise RuntimeError("inference bug")
    monkeypatch.setattr(check_module.ShapeInference, "run", broken)
    result = check(doc.project)
    assert [(d.severity, d.where, d.message, d.definition) for d in result.diagnostics] == [
        (ERROR, "main", "the project could not be checked: RuntimeError: inference bug", "main")]
