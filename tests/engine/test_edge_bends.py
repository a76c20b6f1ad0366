"""Bend points of edges (issue 11): kept through save and load, dropped when a block moves,
checked on every way in (document edits and hostile files), and invisible to the checker."""

from __future__ import annotations

import json
import time

import pytest

from netstudio.errors import ProjectFormatError
from netstudio.graph import Document, EditError
from netstudio.graph.edge import Edge
from netstudio.graph.edge_bends import MAX_BENDS
from netstudio.graph.index import GraphIndex
from netstudio.graph.project import Project
from netstudio.graph.snapshots import Snapshots
from netstudio.serialization import load_project, save_project
from netstudio.serialization.project_file import load_project_file, project_from_dict

from .builders import chain_project
from .test_hostile_projects_builders import mlp_with

FAST = 10.0


@pytest.fixture
def chain():
    doc, ids = chain_project([("Linear", {"out_features": 8}, "a"), ("ReLU", {}, "r"), ("Linear", {}, "b")],
                             kind="graph")
    edges = list(doc.definition("main").edges)
    log: list[tuple] = []
    for name in ("node_changed", "edge_changed", "changed"):
        getattr(doc.events, name).connect(lambda *args, _n=name: log.append((_n, *args)))
    return doc, ids, edges, log


def test_an_edge_without_bends_writes_none_and_one_with_bends_round_trips():
    edge = Edge("e1", "a", "out", "b", "in")
    assert "bends" not in edge.to_dict()
    bent = edge.with_bends(((1, 2.5), (3, -4)))
    assert bent.to_dict()["bends"] == [[1, 2.5], [3, -4]]
    again = Edge.from_dict(json.loads(json.dumps(bent.to_dict())))
    assert again.bends == ((1.0, 2.5), (3.0, -4.0))
    assert again == edge and hash(again) == hash(edge)     # a way of drawing, not part of the graph


def test_bends_survive_save_and_load(chain, tmp_path):
    doc, _, edges, _ = chain
    doc.set_bends("main", {edges[1]: [(10, 20), (30.5, 20)]})
    save_project(doc.project, tmp_path / "p.netstudio")
    loaded = load_project(tmp_path / "p.netstudio")
    assert loaded.definitions["main"].edges[edges[1]].bends == ((10.0, 20.0), (30.5, 20.0))
    assert loaded.definitions["main"].edges[edges[0]].bends == ()
    text = (tmp_path / "p.netstudio").read_text()
    assert text.count('"bends"') == 1
    assert doc.project.copy().definitions["main"].edges[edges[1]].bends == ((10.0, 20.0), (30.5, 20.0))


def test_set_bends_emits_edge_changed_and_is_not_a_graph_edit(chain):
    doc, _, edges, log = chain
    generation = doc.graph_generation
    old = doc.set_bends("main", {edges[1]: [(1, 2)], edges[2]: []})
    assert old == {edges[1]: ()}                      # edges[2] had none: no change, no event
    assert log == [("edge_changed", "main", edges[1]), ("changed",)]
    assert doc.graph_generation == generation
    log.clear()
    assert doc.set_bends("main", {edges[1]: [(1, 2)]}) == {} and log == []
    # The index serves the new edge, in the same order, and equals a rebuilt one.
    assert doc.incoming("main", doc.definition("main").edges[edges[1]].dst)[0].bends == ((1.0, 2.0),)
    assert list(doc.definition("main").edges) == edges
    assert doc._index.definitions["main"].comparable() == GraphIndex(doc.project).definitions["main"].comparable()


@pytest.mark.parametrize("points, says", [
    ([(float("nan"), 0)], "finite"), ([(0, float("inf"))], "finite"), ([("1", 2)], "two numbers"),
    ("abc", "list of"), ([(1, 2, 3)], "two numbers"), ([[[1, 2]]], "two numbers"), ([(True, 1)], "two numbers"),
    ([(0, 0)] * (MAX_BENDS + 1), f"at most {MAX_BENDS}"), ([(0, 0)] * 1_000_000, f"at most {MAX_BENDS}"),
    ({"x": 1}, "list of"), (42, "list of"),
])
def test_set_bends_refuses_bad_points_in_one_sentence_and_changes_nothing(chain, points, says):
    doc, _, edges, log = chain
    before = doc.snapshot()
    start = time.monotonic()
    with pytest.raises(EditError) as err:
        doc.set_bends("main", {edges[0]: [(1, 1)], edges[1]: points})   # the good one is not applied either
    assert time.monotonic() - start < 1.0
    message = str(err.value)
    assert says in message and message.endswith(".") and "\n" not in message
    assert doc.snapshot() == before and log == []


def test_set_bends_refuses_an_unknown_edge(chain):
    doc, _, _, _ = chain
    with pytest.raises(EditError, match="no edge 'e999'"):
        doc.set_bends("main", {"e999": [(1, 1)]})


def test_moving_a_block_drops_the_bends_of_its_edges_only(chain):
    doc, ids, edges, log = chain
    doc.set_bends("main", {e: [(1, 1), (2, 1)] for e in edges})
    log.clear()
    d = doc.definition("main")
    touching = [e for e in edges if ids[1] in (d.edges[e].src, d.edges[e].dst)]
    dropped = doc.move("main", ids[1], (500, 80))
    assert dropped == {e: ((1.0, 1.0), (2.0, 1.0)) for e in touching}
    assert [d.edges[e].bends == () for e in edges] == [e in touching for e in edges]
    assert log == [("node_changed", "main", ids[1], "position")] + \
        [("edge_changed", "main", e) for e in touching] + [("changed",)]
    assert doc.move("main", ids[1], (500, 80)) == {}    # no move, nothing dropped


def test_snapshots_do_not_see_a_change_of_bends(chain):
    """The checker's snapshot keeps the very same definition: no check or build follows a layout."""
    doc, ids, edges, _ = chain
    snapshots = Snapshots(doc)
    first = snapshots.take()
    doc.set_bends("main", {edges[1]: [(5, 5)]})
    assert snapshots.take().definitions["main"] is first.definitions["main"]
    doc.move("main", ids[0], (1, 1))
    doc.add_node("main", "ReLU")
    third = snapshots.take().definitions["main"]
    assert third.edges == first.definitions["main"].edges      # equal graphs: the checker reuses its work
    snapshots.close()


def test_undo_snapshot_restores_bends(chain):
    doc, _, edges, _ = chain
    doc.set_bends("main", {edges[0]: [(7, 8)]})
    state = doc.snapshot()
    doc.set_bends("main", {edges[0]: []})
    doc.restore(state)
    assert doc.definition("main").edges[edges[0]].bends == ((7.0, 8.0),)


# -- hostile files ------------------------------------------------------------------------------------------
EDGE0 = ["definitions", "main", "edges", 0, "bends"]


@pytest.mark.parametrize("raw, says", [
    ("[[NaN, 1]]", "$.definitions.main.edges[0].bends[0][0]: nan is not a finite number"),
    ("[[1, Infinity]]", "$.definitions.main.edges[0].bends[0][1]: inf is not a finite number"),
    ("[[1, -Infinity]]", "$.definitions.main.edges[0].bends[0][1]: -inf is not a finite number"),
    ("[[1e400, 1]]", "$.definitions.main.edges[0].bends[0][0]: 1e400 is too large"),
    ('[["1", 2]]', "$.definitions.main.edges[0].bends[0][0]: '1' is not of type 'number'"),
    ('"[[1, 2]]"', "$.definitions.main.edges[0].bends: '[[1, 2]]' is not of type 'array'"),
    ("[[1, 2, 3]]", "$.definitions.main.edges[0].bends[0]: [1, 2, 3] is too long"),
    ("[[[1, 2], [3, 4]]]", "$.definitions.main.edges[0].bends[0][0]"),
    ('{"x": [1, 2]}', "is not of type 'array'"),
    ("[[true, 1]]", "True is not of type 'number'"),
    ("[null]", "None is not of type 'array'"),
    ("[" + ",".join(["[1, 2]"] * (MAX_BENDS + 1)) + "]",
     f"$.definitions.main.edges[0].bends: an edge has {MAX_BENDS + 1:,} bend points, more than the {MAX_BENDS}"),
    ("[" + ",".join(["[1, 2]"] * 300_000) + "]", "an edge has 300,000 bend points"),
    ("[" + ",".join(["[1, 2]"] * 1_000_000) + "]", "values, more than"),
    ("[" * 100 + "]" * 100, "nested more than 64"),
])
def test_hostile_bends_are_refused_quickly_in_one_sentence(tmp_path, raw, says):
    path = tmp_path / "bent.netstudio"
    path.write_text(mlp_with(EDGE0, raw))
    start = time.monotonic()
    with pytest.raises(ProjectFormatError) as err:
        load_project_file(path)
    assert time.monotonic() - start < FAST
    message = str(err.value)
    assert says in message, message
    assert "\n" not in message and message.endswith(".")


def test_a_file_with_good_bends_loads(tmp_path):
    path = tmp_path / "bent.netstudio"
    path.write_text(mlp_with(EDGE0, "[" + ",".join(["[1, -2.5e3]"] * MAX_BENDS) + "]"))
    edge = next(iter(load_project_file(path).project.definitions["main"].edges.values()))
    assert len(edge.bends) == MAX_BENDS and edge.bends[0] == (1.0, -2500.0)


def test_a_dict_with_nonfinite_bends_is_refused_and_not_saved(chain, tmp_path):
    doc, _, edges, _ = chain
    data = doc.project.to_dict()
    data["definitions"]["main"]["edges"][0]["bends"] = [[float("nan"), 0.0]]
    with pytest.raises(ProjectFormatError, match="not a finite number"):
        project_from_dict(data)
    project = Project.from_dict(data)     # not through the file checks: saving still refuses it
    with pytest.raises(Exception, match="not a finite number"):
        save_project(project, tmp_path / "x.netstudio")
    assert not (tmp_path / "x.netstudio").exists()


def test_a_document_over_a_copied_project_keeps_the_bends_in_its_index(chain):
    doc, _, edges, _ = chain
    doc.set_bends("main", {edges[0]: [(1, 2)]})
    other = Document(Project.from_dict(doc.project.to_dict()))
    edge = other.definition("main").edges[edges[0]]
    assert edge.bends == ((1.0, 2.0),) and other.outgoing("main", edge.src)[0].bends == ((1.0, 2.0),)
