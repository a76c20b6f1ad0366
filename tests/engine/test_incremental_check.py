"""Checking snapshot after snapshot with one ``Checker`` gives exactly what a full check gives, and
redoes only what an edit reaches."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.analysis import check
from netstudio.analysis import shapes as shapes_module
from netstudio.analysis import structure as structure_module
from netstudio.analysis.incremental import Checker
from netstudio.graph.snapshots import Snapshots

from .builders import chain_project
from .random_edits import edit, start


def same(a, b) -> None:
    assert a.diagnostics == b.diagnostics
    assert a.infos == b.infos
    assert a.network_bytes == b.network_bytes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_incremental_checks_equal_full_checks_after_random_edits(data):
    doc, saved = start(), []
    snapshots, checker = Snapshots(doc), Checker()
    for _ in range(data.draw(st.integers(1, 30))):
        for _ in range(data.draw(st.integers(1, 3))):     # several edits may come between two checks
            edit(doc, data, saved)
        snapshot = snapshots.take()
        same(checker.check(snapshot), check(snapshot))
        same(checker.check(snapshot, 100), check(snapshot, 100))   # over budget: the same biggest block
        same(check(snapshot), check(doc.project))         # a snapshot is the document as it is


def test_snapshots_share_what_an_edit_left_alone():
    doc = start()
    snapshots = Snapshots(doc)
    first = snapshots.take()
    main = doc.definition("main")
    node = next(n for n in main.nodes.values() if n.type == "Linear")
    doc.set_param("main", node.id, "out_features", 4)
    second = snapshots.take()
    assert second.definitions["Sub"] is first.definitions["Sub"]
    changed = [i for i, n in second.definitions["main"].nodes.items() if n is not first.definitions["main"].nodes[i]]
    assert changed == [node.id]
    assert second.definitions["main"].nodes[node.id].params["out_features"] == 4
    assert first.definitions["main"].nodes[node.id].params["out_features"] == 8   # never changed afterwards
    assert snapshots.take().definitions["main"] is second.definitions["main"]


def counting(monkeypatch):
    """How many nodes shape inference infers, and how many definitions the structural pass checks."""
    counts = {"nodes": 0, "definitions": 0}
    infer_one, run = shapes_module.ShapeInference._infer_one, structure_module.DefinitionChecker.run

    def count_node(self, *args):
        counts["nodes"] += 1
        return infer_one(self, *args)

    def count_definition(self):
        counts["definitions"] += 1
        return run(self)
    monkeypatch.setattr(shapes_module.ShapeInference, "_infer_one", count_node)
    monkeypatch.setattr(structure_module.DefinitionChecker, "run", count_definition)
    return counts


def test_an_edit_infers_again_only_what_lies_downstream(monkeypatch):
    doc, ids = chain_project([("Linear", {"in_features": 20, "out_features": 20}), ("ReLU", {})] * 50,
                             kind="graph")
    doc.add_definition("Other", kind="graph")
    snapshots, checker = Snapshots(doc), Checker()
    checker.check(snapshots.take())
    counts = counting(monkeypatch)
    doc.set_param("main", ids[-2], "out_features", 10)     # the last Linear: it, its ReLU and the Output
    result = checker.check(snapshots.take())
    assert counts == {"nodes": 3, "definitions": 1}
    assert result.output(ids[-1]).shape == (2, 10)
    counts.update(nodes=0, definitions=0)
    doc.move("main", ids[0], (5.0, 5.0))                  # changes nothing that is checked
    checker.check(snapshots.take())
    assert counts == {"nodes": 1, "definitions": 1}


def test_an_edit_inside_a_block_leaves_the_top_level_structure_alone(monkeypatch):
    doc = start()
    snapshots, checker = Snapshots(doc), Checker()
    checker.check(snapshots.take())
    counts = counting(monkeypatch)
    sub = doc.definition("Sub")
    linear = next(n for n in sub.nodes.values() if n.type == "Linear")
    doc.set_param("Sub", linear.id, "bias", False)
    snapshot = snapshots.take()
    same(checker.check(snapshot), check(snapshot))
    assert counts["definitions"] == 1 + 2      # Sub, here and in the full check


def checked_after(doc, change) -> None:
    """Check, make ``change``, check again: the incremental result equals a full check."""
    snapshots, checker = Snapshots(doc), Checker()
    checker.check(snapshots.take())
    change()
    snapshot = snapshots.take()
    same(checker.check(snapshot), check(snapshot))


def test_removing_an_edge_into_an_optional_port_infers_its_node_again():
    doc, ids = chain_project([("GRU", {"input_size": 20, "hidden_size": 8}, "gru")], kind="graph")
    state = doc.add_node("main", "Constant", "h", {"shape": [1, 2, 9]})
    edge = doc.connect("main", state.id, "out", ids[0], "hx")
    assert not check(doc.project).ok     # a state of the wrong size
    checked_after(doc, lambda: doc.disconnect("main", edge.id))
    assert check(doc.project).ok


def test_changing_a_node_infers_again_the_nodes_tied_to_it():
    doc, ids = chain_project([("Linear", {"in_features": 20, "out_features": 8}, "a")], kind="graph")
    main = doc.definition("main")
    b = doc.add_node("main", "Linear", "b", {"in_features": 20, "out_features": 8})
    doc.connect("main", main.inputs[0].id, "out", b.id, "in")
    doc.tie("main", b.id, ids[0])
    checked_after(doc, lambda: doc.set_param("main", ids[0], "in_features", 16))
    assert check(doc.project).for_node(b.id)


def test_an_edge_is_checked_again_when_a_node_it_joins_loses_its_port():
    doc, ids = chain_project([("ReLU", {}, "r")], kind="graph")
    main = doc.definition("main")
    join = doc.add_node("main", "Concat", "join", {"inputs": 3})
    for port in ("in0", "in1", "in2"):
        doc.connect("main", ids[0], "out", join.id, port)
    checked_after(doc, lambda: doc.set_param("main", join.id, "inputs", 2))
    assert any("no input named 'in2'" in d.message for d in check(doc.project).for_node(join.id))
    assert main.nodes[join.id].params["inputs"] == 2


def test_over_the_budget_the_first_of_equally_big_blocks_is_named_as_in_a_whole_check():
    doc, ids = chain_project([("Linear", {"in_features": 20, "out_features": 20}, "a"),
                              ("Linear", {"in_features": 20, "out_features": 20}, "b")], kind="graph")
    snapshots, checker = Snapshots(doc), Checker()
    checker.check(snapshots.take(), 100)
    doc.set_param("main", ids[0], "bias", False)
    doc.set_param("main", ids[0], "bias", True)      # inferred again: last in the kept shapes now
    snapshot = snapshots.take()
    result = checker.check(snapshot, 100)
    same(result, check(snapshot, 100))
    assert result.errors[-1].node_id == ids[0]


def test_after_a_bug_in_a_check_the_next_starts_afresh_and_the_collector_is_back_on(monkeypatch):
    import gc

    import pytest
    doc = start()
    snapshots, checker = Snapshots(doc), Checker()
    checker.check(snapshots.take())
    linear = next(n for n in doc.definition("main").nodes.values() if n.type == "Linear")
    doc.set_param("main", linear.id, "out_features", 4)
    run = shapes_module.ShapeInference.run

    def broken(self):
        self.instances[()].infos.clear()     # half-way through, as a bug might leave it
        raise RuntimeError("a bug")
    monkeypatch.setattr(shapes_module.ShapeInference, "run", broken)
    with pytest.raises(RuntimeError):
        checker.check(snapshots.take())
    assert gc.isenabled()
    monkeypatch.setattr(shapes_module.ShapeInference, "run", run)
    snapshot = snapshots.take()
    same(checker.check(snapshot), check(snapshot))


def test_a_value_edit_in_a_sequential_checks_again_only_the_nodes_it_touched(monkeypatch):
    """A Sequential's unnamed children take their names from the chain, so a rewiring checks them all
    again; an edit of values (or a move) leaves the chain as it was, and only the edited node and its
    neighbours are looked at (10,000 blocks: 130 ms after each such edit, now about 40)."""
    doc, ids = chain_project([("Linear", {"in_features": 20, "out_features": 20}), ("ReLU", {})] * 50,
                             kind="sequential")
    snapshots, checker = Snapshots(doc), Checker()
    checker.check(snapshots.take())
    looked_at: list[str] = []
    for name in ("_check_node", "_check_in_chain"):
        real = getattr(structure_module.DefinitionChecker, name)
        monkeypatch.setattr(structure_module.DefinitionChecker, name,
                            lambda self, node, real=real: (looked_at.append(node.id), real(self, node))[1])

    def check_again() -> set[str]:
        looked_at.clear()
        snapshot = snapshots.take()
        result = checker.check(snapshot)
        seen = set(looked_at)
        same(result, check(snapshot))
        return seen
    seen = check_again()
    assert ids[40] not in seen                                   # nothing changed yet
    doc.set_param("main", ids[40], "out_features", 10)
    seen = check_again()
    assert ids[40] in seen and seen <= {ids[39], ids[40], ids[41]}
    doc.move("main", ids[3], (7.0, 7.0))
    assert check_again() <= {ids[2], ids[3], ids[4]}
    # Rewiring: every child is looked at again (their names may shift along the chain).
    doc.remove_node("main", ids[41])
    doc.connect("main", ids[40], "out", ids[42], "in")
    assert len(check_again()) > 90


def test_a_child_that_stops_fitting_its_sequential_is_found_by_the_next_incremental_check():
    """The chain is kept, but an edited child's place in it is looked at again: a code block switched
    to a class whose forward takes two inputs cannot sit in a Sequential any more."""
    code = {"One": "class One(nn.Module):\n    def forward(self, x):\n        return x\n",
            "Two": "class Two(nn.Module):\n    def forward(self, x, y):\n        return x + y\n"}
    doc, ids = chain_project([("ReLU", {}), ("Code", {"class_name": "One", "args": {}}), ("ReLU", {})],
                             kind="sequential", code=code)
    snapshots, checker = Snapshots(doc), Checker()
    first = checker.check(snapshots.take())
    assert not any("one input and give one output" in diag.message for diag in first.diagnostics)
    doc.set_param("main", ids[1], "class_name", "Two")
    snapshot = snapshots.take()
    result = checker.check(snapshot)
    same(result, check(snapshot))
    assert any("one input and give one output" in diag.message for diag in result.errors)
