"""The document API: every edit emits its events, and each can be undone through the API."""

from __future__ import annotations

import pytest
import torch

from netstudio.analysis import check
from netstudio.compiler import compile_project
from netstudio.graph import Document, EditError
from netstudio.serialization import load_project

from .builders import chain_project, link


@pytest.fixture
def recorded():
    doc, ids = chain_project([("Linear", {"out_features": 8}, "a"), ("ReLU", {}, "r")], kind="graph")
    log: list[tuple] = []
    for name in ("node_added", "node_removed", "node_changed", "edge_added", "edge_removed",
                 "definition_added", "definition_removed", "code_changed", "settings_changed", "reset", "changed"):
        getattr(doc.events, name).connect(lambda *args, _n=name: log.append((_n, *args)))
    return doc, ids, log


def test_add_node_emits_added_then_changed(recorded):
    doc, _, log = recorded
    node = doc.add_node("main", "Linear", params={"out_features": 3})
    assert log == [("node_added", "main", node.id), ("changed",)]
    assert node.name == "linear"
    assert doc.add_node("main", "Linear").name == "linear_2"


def test_remove_and_restore_node_with_its_edges(recorded):
    doc, ids, log = recorded
    before = doc.project.to_dict()
    removed = doc.remove_node("main", ids[0])
    assert [e[0] for e in log] == ["edge_removed", "edge_removed", "node_removed", "changed"]
    assert ids[0] not in doc.definition("main").nodes
    doc.restore_node(removed)
    assert doc.project.to_dict()["definitions"]["main"]["nodes"] == before["definitions"]["main"]["nodes"]
    assert sorted(e["id"] for e in doc.project.to_dict()["definitions"]["main"]["edges"]) == \
        sorted(e["id"] for e in before["definitions"]["main"]["edges"])


def test_events_fire_only_on_real_changes(recorded):
    doc, ids, log = recorded
    doc.rename("main", ids[0], "a")
    doc.move("main", ids[0], doc.node("main", ids[0]).position)
    doc.set_param("main", ids[0], "out_features", 8)
    assert [e for e in log if e[0] != "changed"] == []
    doc.set_param("main", ids[0], "out_features", 9)
    assert log == [("node_changed", "main", ids[0], "params"), ("changed",)]


def test_connect_checks_structure_but_allows_semantic_mistakes(recorded):
    doc, ids, _ = recorded
    with pytest.raises(EditError, match="has no input named 'nope'"):
        doc.connect("main", ids[0], "out", ids[1], "nope")
    with pytest.raises(EditError, match="There is no node"):
        doc.connect("main", "n999", "out", ids[1], "in")
    with pytest.raises(EditError, match="already connected"):
        doc.connect("main", ids[0], "out", ids[1], "in")
    # A second edge into an input is allowed by the API and reported as a diagnostic.
    doc.connect("main", doc.definition("main").inputs[0].id, "out", ids[1], "in")
    assert any("incoming connections" in d.message for d in check(doc.project).errors)


def test_batch_emits_changed_once(recorded):
    doc, ids, log = recorded
    with doc.batch():
        doc.move("main", ids[0], (10, 10))
        doc.move("main", ids[1], (20, 10))
    assert [e[0] for e in log] == ["node_changed", "node_changed", "changed"]


def test_tie_untie_and_list(recorded):
    doc, ids, log = recorded
    other = doc.add_node("main", "Linear", "b", {"out_features": 8})
    doc.tie("main", other.id, ids[0])
    assert doc.ties() == [("main", other.id, ids[0])]
    with pytest.raises(EditError):
        doc.tie("main", ids[0], ids[0])
    doc.untie("main", other.id)
    assert doc.ties() == []
    removed_target = doc.add_node("main", "Linear", "c", {"out_features": 8})
    doc.tie("main", removed_target.id, ids[0])
    removed = doc.remove_node("main", ids[0])
    assert doc.node("main", removed_target.id).tied_to is None
    doc.restore_node(removed)
    assert doc.node("main", removed_target.id).tied_to == ids[0]


def test_renaming_an_input_renames_the_container_port(examples_dir):
    doc = Document(load_project(examples_dir / "nest_mlp.netstudio"))
    inner = doc.definition("NestMLP_net")
    doc.rename("NestMLP_net", inner.inputs[0].id, "features")
    assert check(doc.project).ok
    net = next(n for n in doc.definition("main").nodes.values() if n.name == "net")
    assert any(e.dst == net.id and e.dst_port == "features" for e in doc.definition("main").edges.values())


def outputs_equal(project_a, project_b, shape) -> bool:
    torch.manual_seed(0)
    a = compile_project(project_a)
    b = compile_project(project_b)
    x = torch.rand(*shape)
    a(x), b(x)
    b.load_state_dict(a.state_dict())
    return torch.allclose(a(x), b(x))


def test_group_then_ungroup_keeps_the_network(examples_dir):
    doc = Document(load_project(examples_dir / "mlp_block.netstudio"))
    original = doc.project.copy()
    main = doc.definition("main")
    ids = [n.id for n in main.nodes.values() if n.name in ("hidden", "relu")]
    container = doc.group("main", ids, "Hidden")
    assert "Hidden" in doc.project.definitions
    assert set(doc.definition("Hidden").nodes) >= set(ids)
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    net = compile_project(doc.project)
    net(torch.rand(2, 20))
    assert list(net.state_dict()) == ["hidden.hidden.weight", "hidden.hidden.bias", "out.weight", "out.bias"]
    new_ids = doc.ungroup("main", container.id)
    assert "Hidden" not in doc.project.definitions and len(new_ids) == 2
    assert check(doc.project).ok
    assert sorted(n.name for n in doc.definition("main").nodes.values()) == sorted(
        n.name for n in original.root_definition.nodes.values())
    assert outputs_equal(original, doc.project, (2, 20))


def test_group_refuses_inputs_and_half_ties(examples_dir):
    doc = Document(load_project(examples_dir / "tied.netstudio"))
    main = doc.definition("main")
    with pytest.raises(EditError, match="Inputs and outputs"):
        doc.group("main", [main.inputs[0].id])
    tied = next(n for n in main.nodes.values() if n.tied_to)
    with pytest.raises(EditError, match="tie"):
        doc.group("main", [tied.id])


def test_ungroup_sequential_inside_sequential(examples_dir):
    doc = Document(load_project(examples_dir / "rgnet.netstudio"))
    original = doc.project.copy()
    block2 = doc.definition("main").chain()[0]
    doc.ungroup("main", block2.id)
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    net = compile_project(doc.project)
    assert [n for n, _ in net.named_children()][:4] == ["block 0", "block 1", "block 2", "block 3"]
    ref = compile_project(original)
    x = torch.rand(2, 4)
    renamed = {k.replace("0.block", "block").replace("1.weight", "4.weight").replace("1.bias", "4.bias"): v
               for k, v in ref.state_dict().items()}
    net.load_state_dict(renamed)
    torch.testing.assert_close(net(x), ref(x))


def test_snapshot_and_restore_emit_reset(recorded):
    doc, ids, log = recorded
    state = doc.snapshot()
    doc.remove_node("main", ids[0])
    log.clear()
    doc.restore(state)
    assert log == [("reset",), ("changed",)]
    assert ids[0] in doc.definition("main").nodes
    # Fresh ids never collide with restored ones.
    assert doc.add_node("main", "ReLU").id not in ids


def test_definitions_add_and_remove(recorded):
    doc, ids, log = recorded
    d = doc.add_definition("Inner", kind="sequential")
    assert d.chain() == []  # Input wired straight to Output
    with pytest.raises(EditError):
        doc.add_definition("Inner")
    blk = doc.add_node("main", "Sequential", "inner", {"definition": "Inner"})
    with pytest.raises(EditError, match="still used"):
        doc.remove_definition("Inner")
    doc.remove_node("main", blk.id)
    doc.remove_definition("Inner")
    assert "Inner" not in doc.project.definitions
    with pytest.raises(EditError):
        doc.remove_definition("main")


def test_code_and_settings(recorded):
    doc, ids, log = recorded
    doc.set_code("Foo", "class Foo(nn.Module):\n    def forward(self, x):\n        return x\n")
    doc.remove_code("Foo")
    doc.set_setting("seed", 7)
    with pytest.raises(EditError):
        doc.set_setting("colour", 1)
    assert [e for e in log if e[0] != "changed"] == [("code_changed", "Foo"), ("code_changed", "Foo"),
                                                      ("settings_changed", "seed")]
    assert doc.project.seed == 7


def test_link_helper_and_sequential_auto_names():
    doc, ids = chain_project([("Linear", {"out_features": 4}), ("ReLU", {})])
    d = doc.definition("main")
    assert [d.effective_name(n) for n in d.chain()] == ["0", "1"]
    last = d.chain()[-1]
    extra = doc.add_node("main", "Tanh")
    assert extra.name == ""
    out_edge = next(e for e in d.edges.values() if e.src == last.id)
    doc.disconnect("main", out_edge.id)
    link(doc, "main", last.id, extra.id)
    link(doc, "main", extra.id, d.outputs[0].id)
    assert [d.effective_name(n) for n in d.chain()] == ["0", "1", "2"]


def test_undo_paths_restore_edges_whose_port_disappeared(examples_dir):
    doc = Document(load_project(examples_dir / "nest_mlp.netstudio"))
    inner = doc.definition("NestMLP_net")
    removed = doc.remove_node("NestMLP_net", inner.inputs[0].id)   # the container loses its port 'X'
    main = doc.definition("main")
    net = next(n for n in main.nodes.values() if n.name == "net")
    feeding = next(e for e in main.edges.values() if e.dst == net.id)
    gone = doc.disconnect("main", feeding.id)
    doc.restore_edge("main", gone)                                   # undo of that disconnect still works
    assert any("has no input named 'X'" in d.message for d in check(doc.project).errors)
    doc.restore_node(removed)
    assert check(doc.project).ok


def test_grouping_unnamed_children_of_a_sequential_gives_a_working_block(examples_dir):
    doc = Document(load_project(examples_dir / "mlp.netstudio"))
    original = doc.project.copy()
    chain = doc.definition("main").chain()
    container = doc.group("main", [chain[0].id, chain[1].id], "Hidden")
    result = check(doc.project)
    assert result.ok, [d.line() for d in result.diagnostics]
    assert container.name == ""        # still named by its position in the Sequential
    net = compile_project(doc.project)
    assert list(net.state_dict()) == ["0.linear.weight", "0.linear.bias", "1.weight", "1.bias"]
    ref = compile_project(original)
    x = torch.rand(2, 20)
    net.load_state_dict({"0.linear.weight": ref[0].weight, "0.linear.bias": ref[0].bias,
                         "1.weight": ref[2].weight, "1.bias": ref[2].bias})
    torch.testing.assert_close(net(x), ref(x))


@pytest.mark.parametrize("name, message", [
    ("my input", "'my input' is not a valid name: use letters, digits and underscores, not starting with a digit."),
    ("class", "'class' is a Python keyword."),
    ("forward", "'forward' is reserved: torch.nn.Module already has an attribute of that name."),
    ("x" * 201, "A name can have at most 200 characters, not 201."),
    ("relu", "Another block in main is already named 'relu'."),
    ("", "A name cannot be empty."),
])
def test_rename_refuses_what_the_name_rule_refuses(examples_dir, name, message):
    doc = Document(load_project(examples_dir / "mlp_block.netstudio"))
    hidden = next(n for n in doc.definition("main").nodes.values() if n.name == "hidden")
    with pytest.raises(EditError) as err:
        doc.rename("main", hidden.id, name)
    assert str(err.value) == message
    assert hidden.name == "hidden"
    assert doc.name_problem("main", hidden.id, name) == message


def test_the_document_refuses_what_a_file_could_not_hold(examples_dir):
    doc = Document(load_project(examples_dir / "mlp_block.netstudio"))
    hidden = next(n for n in doc.definition("main").nodes.values() if n.name == "hidden")
    before = doc.project.to_dict()
    for edit in (lambda: doc.set_param("main", hidden.id, "out_features", object()),
                 lambda: doc.set_setting("description", "bad \ud800 text"),
                 lambda: doc.set_setting("seed", -1),
                 lambda: doc.move("main", hidden.id, (float("nan"), 0.0)),
                 lambda: doc.set_code("class", "x = 1"),
                 lambda: doc.add_definition("my block"),
                 lambda: doc.add_node("main", "Linear", "x-y")):
        with pytest.raises(EditError) as err:
            edit()
        assert "\n" not in str(err.value) and str(err.value).endswith(".")
    assert doc.project.to_dict() == before


def test_fresh_names_always_pass_the_rule(examples_dir):
    doc = Document(load_project(examples_dir / "mlp_block.netstudio"))
    code = doc.add_node("main", "Code", params={"class_name": "X", "args": {}})
    assert code.name == "code_2"           # "code" is an attribute of compiled blocks
    assert doc.unique_name("main", "1 weird name!") == "node_1_weird_name"


def test_definition_at_follows_container_ids_from_the_root(examples_dir):
    project = load_project(examples_dir / "chimera.netstudio")
    root = project.root_definition
    container = next(n for n in root.nodes.values() if n.type in ("Block", "Sequential"))
    inner = container.params["definition"]
    assert project.definition_at(()) == project.root
    assert project.definition_at((container.id,)) == inner
    assert project.definition_at(("n999",)) is None
    leaf = next(n for n in root.nodes.values() if n.type == "Linear")
    assert project.definition_at((leaf.id,)) is None      # not a container
