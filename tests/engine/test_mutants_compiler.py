"""The compiler's promises that mutation testing found unchecked (issue #9).

Module and parameter order is declaration order, constants and weights are
seeded by the project seed and the node's place, and names are checked again
right before code generation.
"""

from __future__ import annotations

import pytest
import torch

from netstudio.analysis import CheckResult, check
from netstudio.compiler import compile_project
from netstudio.errors import GraphError
from netstudio.graph import Document, Project

from .builders import chain_project, link


def declared_late_called_early() -> Document:
    """Input -> early -> late -> Output, with ``late`` declared first."""
    doc, _ = chain_project([], kind="graph", shape=(2, 4))
    late = doc.add_node("main", "Linear", "late", {"out_features": 2})
    early = doc.add_node("main", "Linear", "early", {"out_features": 3})
    d = doc.definition("main")
    for edge in list(d.edges):
        doc.disconnect("main", edge)
    link(doc, "main", d.inputs[0].id, early.id)
    link(doc, "main", early.id, late.id)
    link(doc, "main", late.id, d.outputs[0].id)
    return doc


def test_state_dict_follows_declaration_order_not_call_order():
    net = compile_project(declared_late_called_early().project)
    assert [name for name, _ in net.named_children()] == ["late", "early"]
    assert list(net.state_dict()) == ["late.weight", "late.bias", "early.weight", "early.bias"]
    assert net(torch.rand(2, 4)).shape == (2, 2)


def two_instances_of_a_block_with_a_random_constant(seed: int | None = 3) -> Document:
    """main: Input (2, 4) -> first -> second -> Output; each a Block of ``Inner``: X + c, with c random."""
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    doc.add_definition("Inner", kind="graph", class_name="Inner")
    inner = doc.definition("Inner")
    const = doc.add_node("Inner", "Constant", "c", {"shape": [4], "fill": "randn", "persistent": True})
    add = doc.add_node("Inner", "Add", "add")
    doc.connect("Inner", inner.inputs[0].id, "out", add.id, "a")
    doc.connect("Inner", const.id, "out", add.id, "b")
    link(doc, "Inner", add.id, inner.outputs[0].id)
    main = doc.definition("main")
    for edge in list(main.edges):
        doc.disconnect("main", edge)
    doc.set_param("main", main.inputs[0].id, "shape", [2, 4])
    first = doc.add_node("main", "Block", "first", {"definition": "Inner"})
    second = doc.add_node("main", "Block", "second", {"definition": "Inner"})
    link(doc, "main", main.inputs[0].id, first.id)
    link(doc, "main", first.id, second.id)
    link(doc, "main", second.id, main.outputs[0].id)
    doc.set_setting("seed", seed)
    return doc


def test_two_instances_of_one_block_get_different_random_constants():
    doc = two_instances_of_a_block_with_a_random_constant()
    assert check(doc.project).ok
    net = compile_project(doc.project)
    state = net.state_dict()
    assert list(state) == ["first.c", "second.c"]
    assert not torch.equal(state["first.c"], state["second.c"])
    again = compile_project(doc.project).state_dict()     # and the seed reproduces both
    assert all(torch.equal(again[k], v) for k, v in state.items())


def test_a_constant_is_drawn_from_the_project_seed_and_its_place_only():
    """Compiling touches no global RNG state and takes none: the constants are the same whatever
    the global RNG did before, and differ for another seed."""
    doc = two_instances_of_a_block_with_a_random_constant(seed=3)
    torch.manual_seed(0)
    a = compile_project(doc.project).state_dict()
    torch.manual_seed(1)
    before = torch.random.get_rng_state()
    b = compile_project(doc.project).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(a[k], b[k]) for k in a)
    doc.set_setting("seed", 4)
    c = compile_project(doc.project).state_dict()
    assert not torch.equal(a["first.c"], c["first.c"])


def test_the_project_seed_decides_eager_weights():
    doc, _ = chain_project([("Linear", {"in_features": 20, "out_features": 5})], shape=(2, 20))
    doc.set_setting("seed", 11)
    torch.manual_seed(100)
    a = compile_project(doc.project).state_dict()
    torch.manual_seed(200)
    b = compile_project(doc.project).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    doc.set_setting("seed", 12)
    assert not torch.equal(compile_project(doc.project).state_dict()["0.weight"], a["0.weight"])


def test_without_a_seed_weights_come_from_the_global_rng():
    doc, _ = chain_project([("Linear", {"in_features": 20, "out_features": 5})], shape=(2, 20))
    doc.set_setting("seed", None)
    torch.manual_seed(100)
    a = compile_project(doc.project).state_dict()
    torch.manual_seed(100)
    b = compile_project(doc.project).state_dict()
    torch.manual_seed(200)
    c = compile_project(doc.project).state_dict()
    assert torch.equal(a["0.weight"], b["0.weight"]) and not torch.equal(a["0.weight"], c["0.weight"])


def test_compile_project_checks_each_name_again_before_writing_code():
    """A caller that passes a stale check result still cannot get a bad name into generated code."""
    from netstudio.compiler.build import _require_valid_names
    doc, ids = chain_project([("Linear", {"out_features": 3}, "ok")], kind="graph")
    d = doc.definition("main")
    _require_valid_names(d)                       # valid names pass
    d.nodes[ids[0]].name = "import os"            # behind the document's back
    with pytest.raises(GraphError, match="cannot be compiled"):
        _require_valid_names(d)
    d.nodes[ids[0]].name = "ok"
    d.class_name = "not a class"
    with pytest.raises(GraphError, match="cannot be compiled"):
        _require_valid_names(d)
    seq, _ = chain_project([("Linear", {"out_features": 3})])
    _require_valid_names(seq.definition("main"))  # a plain Sequential needs no class name check
    seq.definition("main").class_name = "Sequential"
    _require_valid_names(seq.definition("main"))


def test_a_sequential_class_name_is_checked_again_before_code_is_written():
    """A caller with a stale check result still cannot get a bad class name into generated code;
    only the plain ``Sequential`` (which needs no class of its own) goes unchecked."""
    doc, _ = chain_project([("Linear", {"in_features": 6, "out_features": 3})], shape=(2, 6))
    project = doc.project
    assert type(compile_project(project, result=CheckResult())) is torch.nn.Sequential
    project.definitions["main"].class_name = "not a class"     # behind the document's back
    with pytest.raises(GraphError, match="cannot be compiled"):
        compile_project(project, result=CheckResult())


def test_a_code_block_that_fails_to_build_is_one_sentence_even_after_a_stale_check():
    doc, _ = chain_project([("Code", {"class_name": "Boom", "args": {}}, "boom")], code={"Boom": "x = 1\n"})
    with pytest.raises(GraphError, match=r"^The network cannot be compiled: .*no class named 'Boom'.*\.$"):
        compile_project(doc.project, result=CheckResult())


def lazy_weights(seed, global_seed: int) -> dict:
    from netstudio.serialization import load_project
    from pathlib import Path
    project = load_project(Path(__file__).resolve().parents[2] / "resources" / "examples" / "lazy_mlp.netstudio")
    project.seed = seed
    net = compile_project(project)
    torch.manual_seed(global_seed)                # where the global RNG happens to be at the first forward
    net(torch.rand(2, 20))
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_lazy_layers_materialise_with_weights_from_the_project_seed_only():
    a, b = lazy_weights(3, global_seed=1), lazy_weights(3, global_seed=2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = lazy_weights(4, global_seed=1)
    assert not torch.equal(a["0.weight"], c["0.weight"])
    d, e = lazy_weights(None, global_seed=1), lazy_weights(None, global_seed=2)
    assert not torch.equal(d["0.weight"], e["0.weight"])     # without a seed: whatever the RNG gives


def test_a_sequential_gets_its_own_class_only_when_it_has_a_class_name():
    doc, _ = chain_project([("Linear", {"in_features": 20, "out_features": 5})])
    assert type(compile_project(doc.project)) is torch.nn.Sequential
    doc.definition("main").class_name = "MyStack"
    net = compile_project(doc.project)
    assert type(net).__name__ == "MyStack" and isinstance(net, torch.nn.Sequential)
