"""The document's indexes (graph/index.py) stay equal to a rebuild through any edit sequence, and the
edits that use them behave as the scanning versions did."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.graph import Document
from netstudio.graph.index import GraphIndex

from .builders import chain_project
from .random_edits import edit, start


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_indexes_equal_a_rebuild_after_random_edits(data):
    doc, saved = start(), []
    for _ in range(data.draw(st.integers(1, 40))):
        edit(doc, data, saved)
        assert doc._index.comparable() == GraphIndex(doc.project).comparable()


def test_uses_and_find_node_follow_edits():
    doc = start()
    uses = doc.project.uses_of("Sub")
    assert sorted(doc.uses_of("Sub")) == sorted(uses) and len(uses) == 2
    doc.set_param("main", uses[0][1], "definition", "main")
    assert doc.uses_of("Sub") == [uses[1]]
    sub_node = next(iter(doc.definition("Sub").nodes))
    assert doc.find_node(sub_node)[0].name == "Sub" and doc.find_node("nope") == (None, None)


def test_fresh_names_skip_taken_suffixes_and_reuse_freed_ones():
    doc, ids = chain_project([("ReLU", {})] * 4, kind="graph")
    assert [doc.node("main", i).name for i in ids] == ["relu", "relu_2", "relu_3", "relu_4"]
    doc.remove_node("main", ids[1])
    assert doc.unique_name("main", "relu") == "relu_2"
    doc.rename("main", ids[2], "other")
    assert doc.add_node("main", "ReLU").name == "relu_2"
    assert doc.add_node("main", "ReLU").name == "relu_3"
    assert doc.add_node("main", "ReLU").name == "relu_5"


def test_removing_a_node_then_undoing_keeps_its_edges_in_their_order():
    doc, ids = chain_project([("Add", {}), ("ReLU", {})], kind="graph")
    before = list(doc.definition("main").edges.values())
    removed = doc.remove_node("main", ids[0])
    assert [e.id for e in removed.edges] == [e.id for e in before if ids[0] in (e.src, e.dst)]
    doc.restore_node(removed)
    assert sorted(doc.definition("main").edges) == sorted(e.id for e in before)


def test_an_opened_project_continues_its_ids():
    doc = start()
    again = Document(doc.project.copy())
    assert again.add_node("main", "ReLU").id == doc.add_node("main", "ReLU").id
