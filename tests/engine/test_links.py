"""The rules for drawing an edge, asked of the engine (the canvas only shows the answer)."""

from __future__ import annotations

from netstudio.graph.links import link_problem, reaches

from .builders import chain_project


def test_a_chain_refuses_cycles_second_edges_and_self_feeding():
    doc, (a, b, c) = chain_project([("Linear", {"out_features": 20}, "a"), ("ReLU", {}, "b"),
                                    ("Linear", {"out_features": 20}, "c")], kind="graph")
    p = doc.project
    assert link_problem(p, "main", c, "out", a, "in") == \
        "This input is connected already; drag its edge away first."
    into_a = next(e for e in doc.definition("main").edges.values() if e.dst == a)
    assert link_problem(p, "main", c, "out", a, "in", ignore_edge=into_a.id) == \
        "This connection would make a cycle; a network must flow one way."
    assert link_problem(p, "main", b, "out", b, "in", ignore_edge=into_a.id) == "A block cannot feed itself."
    assert link_problem(p, "main", a, "in", c, "out") == "Connect an output to an input."
    assert link_problem(p, "main", a, "out", "n999", "in") == \
        "Both ends of a connection must be blocks of this definition."


def test_a_new_branch_is_allowed():
    doc, (a, add) = chain_project([("Linear", {"out_features": 20}, "a"), ("Add", {}, "add")], kind="graph")
    x = doc.definition("main").inputs[0].id
    assert link_problem(doc.project, "main", x, "out", add, "b") is None


def test_reaches_follows_the_direction_of_the_data():
    doc, (a, b, c) = chain_project([("ReLU", {}, "a"), ("ReLU", {}, "b"), ("ReLU", {}, "c")], kind="graph")
    d = doc.definition("main")
    assert reaches(d, a, c) and not reaches(d, c, a) and reaches(d, b, b)
    middle = next(e for e in d.edges.values() if e.src == a and e.dst == b)
    assert not reaches(d, a, c, ignore_edge=middle.id)
