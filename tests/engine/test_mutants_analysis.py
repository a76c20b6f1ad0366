"""Tie candidates and network size: the cases mutation testing found unchecked (issue #9)."""

from __future__ import annotations

import torch

from netstudio.analysis import check
from netstudio.analysis.network_size import LARGE_NETWORK
from netstudio.analysis.tie_candidates import can_tie, tie_candidates, untied_sharers
from netstudio.limits import format_bytes

from netstudio.graph import Document, Project

from .builders import chain_project, link


def three_linears():
    doc, ids = chain_project([("Linear", {"out_features": 4}, "a"), ("Linear", {"out_features": 4}, "b"),
                              ("Linear", {"out_features": 4}, "c"), ("ReLU", {}, "r")], kind="graph", shape=(2, 4))
    return doc, ids


def names(nodes) -> list[str]:
    return [n.name for n in nodes]


def test_who_may_share_with_whom_once_a_tie_exists():
    doc, (a, b, c, r) = three_linears()
    d = doc.definition("main")
    doc.tie("main", b, a)
    assert names(untied_sharers(d)) == ["c"]           # a owns b's module, b uses a's
    result = check(doc.project)
    assert tie_candidates(doc.project, d, a, result) == []       # others use a's module
    assert tie_candidates(doc.project, d, "nope", result) == []
    assert names(tie_candidates(doc.project, d, b, result)) == ["c"]   # b may move to c, not to a again
    assert can_tie(doc.project, d, b, c, result) and can_tie(doc.project, d, b, c)
    assert not can_tie(doc.project, d, b, a, result)
    assert not can_tie(doc.project, d, "nope", c, result) and not can_tie(doc.project, d, b, "nope", result)
    assert not can_tie(doc.project, d, a, c, result)              # a is an owner
    assert not can_tie(doc.project, d, c, r, result)              # another type


LAZY_CODE = """class Lazy(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.LazyLinear(4)
    def forward(self, X):
        return self.lin(X)
"""


def code_fork(widths):
    """As ``fork``: X -> [Linear widths[i]] -> a or b (two Code blocks of one class) -> add -> output."""
    doc = Document(Project(definitions={}))
    doc.set_code("Lazy", LAZY_CODE)
    doc.add_definition("main", kind="graph", class_name="Net")
    d = doc.definition("main")
    doc.set_param("main", d.inputs[0].id, "shape", [2, 20])
    for e in list(d.edges):
        doc.disconnect("main", e)
    ends = []
    for i, width in enumerate(widths):
        front = doc.add_node("main", "Linear", f"front{i}", {"out_features": width})
        node = doc.add_node("main", "Code", "ab"[i], {"class_name": "Lazy", "args": {}})
        link(doc, "main", d.inputs[0].id, front.id)
        link(doc, "main", front.id, node.id)
        ends.append(node.id)
    add = doc.add_node("main", "Add", "add")
    doc.connect("main", ends[0], "out", add.id, "a")
    doc.connect("main", ends[1], "out", add.id, "b")
    link(doc, "main", add.id, d.outputs[0].id)
    return doc, ends[0], ends[1]


def test_code_blocks_compare_the_parameters_their_modules_made():
    doc, a, b = code_fork((8, 8))
    result = check(doc.project)
    assert result.ok, [x.line() for x in result.diagnostics]
    d = doc.definition("main")
    assert [n.id for n in tie_candidates(doc.project, d, a, result)] == [b]
    doc, a, b = code_fork((8, 6))
    result = check(doc.project)
    assert tie_candidates(doc.project, doc.definition("main"), a, result) == []
    assert not can_tie(doc.project, doc.definition("main"), a, b, result)


def test_a_tied_use_owns_no_bytes():
    doc, (a, b, c, _) = three_linears()
    alone = check(doc.project).network_bytes
    assert alone == 3 * 4 * (4 * 4 + 4)
    doc.tie("main", b, a)
    assert check(doc.project).network_bytes == 2 * 4 * (4 * 4 + 4)


def test_a_network_of_exactly_the_large_size_is_a_warning():
    doc, ids = chain_project([("Add", {}, "add")], kind="graph", shape=(1,))
    numel = LARGE_NETWORK // 4
    big = doc.add_node("main", "Constant", "big", {"shape": [numel], "fill": "zeros"})
    doc.connect("main", big.id, "out", ids[0], "b")
    result = check(doc.project, memory_budget=1 << 40)
    assert result.network_bytes == LARGE_NETWORK
    assert [(d.severity, d.message) for d in result.diagnostics] == [
        ("warning", f"the network's parameters and constants take {format_bytes(LARGE_NETWORK)} of memory")]
    doc.set_param("main", big.id, "shape", [numel - 1])
    assert check(doc.project, memory_budget=1 << 40).diagnostics == []
