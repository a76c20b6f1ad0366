"""Which nodes may share parameters: only pairs the checker accepts once tied.

Also the rule behind it, which input dimension sizes a deferred layer
(``netstudio.catalog.deferred_sizes``)."""

from __future__ import annotations

import pytest

from netstudio.analysis import check
from netstudio.analysis.tie_candidates import can_tie, could_share, tie_candidates
from netstudio.catalog import TensorSpec
from netstudio.catalog.deferred_sizes import INPUT_SIZED, effective_sizes, size_from_input, sized_keys
from netstudio.graph import Document, Project
from tests.engine.builders import chain_project, link


# -- which dimension sizes which hyperparameter -------------------------------------------------------------
@pytest.mark.parametrize("block, key, shape, size", [
    ("Linear", "in_features", (2, 20), 20),
    ("Linear", "in_features", (4, 7, 3), 3),
    ("Conv2d", "in_channels", (8, 3, 32, 32), 3),
    ("Conv2d", "in_channels", (5, 28, 28), 5),
    ("BatchNorm1d", "num_features", (16, 12), 12),
    ("BatchNorm1d", "num_features", (16, 12, 50), 12),
    ("BatchNorm2d", "num_features", (16, 6, 9, 9), 6),
])
def test_each_deferred_size_comes_from_its_input_dimension(block, key, shape, size):
    assert size_from_input(block, key, (TensorSpec(shape),)) == size


def test_unknown_rules_and_inputs_give_no_size():
    assert size_from_input("Linear", "out_features", (TensorSpec((2, 20)),)) is None
    assert size_from_input("ReLU", "in_features", (TensorSpec((2, 20)),)) is None
    assert size_from_input("Linear", "in_features", ()) is None
    assert size_from_input("Conv2d", "in_channels", (TensorSpec((3, 4)),)) is None   # too few dimensions
    assert sized_keys("Linear") == ("in_features",) and sized_keys("ReLU") == ()
    assert set(INPUT_SIZED) == {"in_features", "in_channels", "num_features"}


def test_effective_sizes_prefer_the_value_set():
    x = (TensorSpec((2, 20)),)
    assert effective_sizes("Linear", {"in_features": None}, x) == {"in_features": 20}
    assert effective_sizes("Linear", {"in_features": 5}, x) == {"in_features": 5}
    assert effective_sizes("Linear", {"in_features": None}, None) == {"in_features": None}


def test_the_rule_matches_what_pytorch_gives_a_lazy_layer():
    import torch
    from torch import nn
    for module, shape, attr, key, block in ((nn.LazyLinear(3), (2, 20), "in_features", "in_features", "Linear"),
                                           (nn.LazyConv2d(4, 3), (1, 5, 8, 8), "in_channels", "in_channels", "Conv2d"),
                                           (nn.LazyBatchNorm1d(), (4, 6), "num_features", "num_features",
                                            "BatchNorm1d")):
        module(torch.zeros(shape))
        assert getattr(module, attr) == size_from_input(block, key, (TensorSpec(shape),))


# -- tie candidates ---------------------------------------------------------------------------------------------
def fork(widths: tuple[int, int], params_a: dict, params_b: dict, type_name: str = "Linear",
         shape=(2, 20)) -> tuple[Document, str, str]:
    """X → [Linear widths[0]] → a; X → [Linear widths[1]] → b; a + b → output (a graph block).

    A front layer of ``widths[i]`` outputs feeds node a (or b), so each is fed that many features.
    """
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    d = doc.definition("main")
    x, out = d.inputs[0].id, d.outputs[0].id
    doc.set_param("main", x, "shape", list(shape))
    for e in list(d.edges):
        doc.disconnect("main", e)
    ends = []
    for i, (width, params) in enumerate(zip(widths, (params_a, params_b))):
        front = doc.add_node("main", "Linear", f"front{i}", {"in_features": None, "out_features": width})
        node = doc.add_node("main", type_name, "ab"[i], params)
        link(doc, "main", x, front.id)
        link(doc, "main", front.id, node.id)
        ends.append(node.id)
    add = doc.add_node("main", "Add", "add")
    doc.connect("main", ends[0], "out", add.id, "a")
    doc.connect("main", ends[1], "out", add.id, "b")
    link(doc, "main", add.id, out)
    return doc, ends[0], ends[1]


def ties_cleanly(doc: Document, a: str, b: str, definition: str = "main") -> bool:
    """What the checker says once ``a`` uses ``b``'s module: no error (the tie is undone after)."""
    doc.tie(definition, a, b)
    try:
        return check(doc.project).ok
    finally:
        doc.untie(definition, a)


def ids(nodes) -> list[str]:
    return [n.id for n in nodes]


def test_deferred_linears_fed_different_widths_are_not_offered():
    doc, a, b = fork((20, 8), {"in_features": None, "out_features": 4}, {"in_features": None, "out_features": 4})
    result = check(doc.project)
    assert result.ok
    d = doc.definition("main")
    assert not ties_cleanly(doc, a, b)                     # the checker refuses this tie at once...
    assert tie_candidates(doc.project, d, a, result) == []  # ...so it is never offered
    assert tie_candidates(doc.project, d, b, result) == []
    assert not can_tie(doc.project, d, a, b, result)


def test_deferred_linears_fed_the_same_width_are_offered():
    doc, a, b = fork((8, 8), {"in_features": None, "out_features": 4}, {"in_features": None, "out_features": 4})
    result = check(doc.project)
    d = doc.definition("main")
    assert ids(tie_candidates(doc.project, d, a, result)) == [b]
    assert ids(tie_candidates(doc.project, d, b, result)) == [a]
    assert can_tie(doc.project, d, a, b, result)
    assert ties_cleanly(doc, a, b)


def test_a_set_size_and_a_deferred_one_match_when_the_input_agrees():
    doc, a, b = fork((8, 8), {"in_features": 8, "out_features": 4}, {"in_features": None, "out_features": 4})
    result = check(doc.project)
    d = doc.definition("main")
    assert ids(tie_candidates(doc.project, d, a, result)) == [b] and ties_cleanly(doc, a, b)
    doc, a, b = fork((8, 6), {"in_features": 8, "out_features": 4}, {"in_features": None, "out_features": 4})
    result = check(doc.project)
    assert tie_candidates(doc.project, doc.definition("main"), a, result) == [] and not ties_cleanly(doc, a, b)


def test_set_sizes_that_differ_are_not_offered_even_before_a_check():
    doc, a, b = fork((8, 6), {"in_features": 8, "out_features": 4}, {"in_features": 6, "out_features": 4})
    d = doc.definition("main")
    assert tie_candidates(doc.project, d, a) == []
    assert tie_candidates(doc.project, d, a, check(doc.project)) == []
    assert not ties_cleanly(doc, a, b)


def test_batchnorm_without_parameters_still_needs_the_same_channels():
    # affine=False: no parameters to compare, but the running statistics are sized by the input
    params = {"num_features": None, "affine": False}
    doc, a, b = fork((8, 6), params, params, "BatchNorm1d")
    result = check(doc.project)
    assert tie_candidates(doc.project, doc.definition("main"), a, result) == []
    doc, a, b = fork((6, 6), params, params, "BatchNorm1d")
    result = check(doc.project)
    assert ids(tie_candidates(doc.project, doc.definition("main"), a, result)) == [b]


def test_a_set_batchnorm_size_must_match_what_the_deferred_owner_meets():
    """a (num_features 6, fed 6) may not use b's deferred module, which its own input (8) sizes;
    with b fed 6 too it may."""
    sized, deferred = {"num_features": 6, "affine": False}, {"num_features": None, "affine": False}
    doc, a, b = fork((6, 8), sized, deferred, "BatchNorm1d")
    result = check(doc.project)
    d = doc.definition("main")
    assert tie_candidates(doc.project, d, a, result) == [] and not can_tie(doc.project, d, a, b, result)
    doc, a, b = fork((6, 6), sized, deferred, "BatchNorm1d")
    result = check(doc.project)
    d = doc.definition("main")
    assert ids(tie_candidates(doc.project, d, a, result)) == [b] and can_tie(doc.project, d, a, b, result)
    assert ties_cleanly(doc, a, b)


def test_other_hyperparameters_type_and_existing_ties_decide_too():
    doc, ids_ = chain_project([("Linear", {"in_features": 20, "out_features": 8}),
                               ("ReLU", {}),
                               ("Linear", {"in_features": 8, "out_features": 8}),
                               ("Linear", {"in_features": 8, "out_features": 8}),
                               ("Linear", {"in_features": 8, "out_features": 3})])
    first, relu, second, third, last = ids_
    d = doc.definition("main")
    result = check(doc.project)
    assert tie_candidates(doc.project, d, relu, result) == []                 # no parameters
    assert not could_share(d, relu) and could_share(d, second)
    assert ids(tie_candidates(doc.project, d, second, result)) == [third]    # out 8 vs 3; in 20 vs 8
    assert tie_candidates(doc.project, d, first, result) == []
    doc.tie("main", third, second)
    result = check(doc.project)
    assert tie_candidates(doc.project, d, second, result) == []               # others use its module
    assert not could_share(d, second)
    assert tie_candidates(doc.project, d, third, result) == []                # already uses the only one


def test_each_instance_of_a_block_must_agree():
    """A block used twice: its two deferred Linears agree in the first use (6 features throughout),
    not in the second (fed 9 features, then 6)."""
    doc = Document(Project(definitions={}))
    doc.add_definition("Pair", kind="graph", class_name="Pair")
    p = doc.definition("Pair")
    px, pout = p.inputs[0].id, p.outputs[0].id
    for e in list(p.edges):
        doc.disconnect("Pair", e)
    u = doc.add_node("Pair", "Linear", "u", {"in_features": None, "out_features": 6})
    v = doc.add_node("Pair", "Linear", "v", {"in_features": None, "out_features": 6})
    link(doc, "Pair", px, u.id)
    link(doc, "Pair", u.id, v.id)
    link(doc, "Pair", v.id, pout)
    doc.add_definition("main", kind="sequential", class_name="Sequential")
    m = doc.definition("main")
    doc.set_param("main", m.inputs[0].id, "shape", [2, 6])
    for e in list(m.edges):
        doc.disconnect("main", e)
    first = doc.add_node("main", "Block", None, {"definition": "Pair"})
    link(doc, "main", m.inputs[0].id, first.id)
    link(doc, "main", first.id, m.outputs[0].id)
    result = check(doc.project)
    assert ids(tie_candidates(doc.project, p, v.id, result)) == [u.id]
    assert ties_cleanly(doc, v.id, u.id, "Pair")
    # A second use of the block, fed 9 features: there u gets 9 inputs and v 6.
    widen = doc.add_node("main", "Linear", None, {"in_features": 6, "out_features": 9})
    second = doc.add_node("main", "Block", None, {"definition": "Pair"})
    for e in list(m.edges):
        if m.edges[e].src == first.id:
            doc.disconnect("main", e)
    link(doc, "main", first.id, widen.id)
    link(doc, "main", widen.id, second.id)
    link(doc, "main", second.id, m.outputs[0].id)
    result = check(doc.project)
    assert result.ok
    assert tie_candidates(doc.project, p, v.id, result) == []
    assert not can_tie(doc.project, p, v.id, u.id, result)
    assert not ties_cleanly(doc, v.id, u.id, "Pair")
