"""Initialization stored in the project is replayed by every compile, bit for bit."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netstudio.compiler import compile_project
from netstudio.compiler.initialize import replay_initialization
from netstudio.graph import Document
from netstudio.graph.module_paths import node_places
from netstudio.init.assignments import InitAssignment
from netstudio.init.scopes import Scope
from netstudio.serialization import load_project, project_from_dict
from netstudio.session import NetworkSession

from .builders import chain_project


def test_node_init_setting_applies_to_every_instance(examples_dir):
    doc = Document(load_project(examples_dir / "chimera.netstudio", trusted=True))
    inner = doc.definition("NestMLP_net")
    first = inner.chain()[0]
    doc.set_init("NestMLP_net", first.id, "weight", {"scheme": "constant", "args": {"value": 0.5}})
    net = compile_project(doc.project)
    net(torch.rand(2, 20))
    assert torch.all(net[0].net[0].weight == 0.5)


def test_project_assignments_and_edits_replay_after_materialization(examples_dir):
    doc = Document(load_project(examples_dir / "param_access.netstudio"))
    doc.set_setting("initializers", [
        {"scope": {"module_type": "Linear", "leaf": "weight"}, "scheme": "normal", "args": {"mean": 0.0, "std": 0.01}},
        {"scope": {"module_type": "Linear", "leaf": "bias"}, "scheme": "zeros", "args": {}},
    ])
    doc.set_setting("edits", [{"name": "0.weight", "op": "set", "value": 42.0, "index": [0, 0]}])
    a, b = compile_project(doc.project), compile_project(project_from_dict(doc.project.to_dict()))
    x = torch.rand(2, 4)
    ya, yb = a(x), b(x)
    assert torch.equal(ya, yb)
    assert a[0].weight[0, 0] == 42 and torch.all(a[0].bias == 0) and torch.all(a[2].bias == 0)
    others = a[0].weight.flatten()[1:]
    assert others.abs().max() < 0.1


def test_node_places_follow_module_names(examples_dir):
    project = load_project(examples_dir / "tied.netstudio")
    assert [p.module_path for p in node_places(project)] == ["0", "1", "2", "3", "4", "5", "6"]
    project = load_project(examples_dir / "chimera.netstudio", trusted=True)
    paths = [p.module_path for p in node_places(project)]
    assert paths[:3] == ["0", "0.net", "0.net.0"] and "2.linear" in paths and "2.halve" in paths
    net = compile_project(project)
    modules = dict(net.named_modules())
    assert all(p in modules for p in paths)


# Overlapping on purpose: later assignments take some parameters of earlier ones, so a replay that
# seeded an assignment by anything but its place in the list, or let the wrong one win, differs.
LIVE = [
    ({"module_type": "Linear", "leaf": "weight"}, "normal", {"mean": 0.0, "std": 1.0}),
    ({"module_type": "Linear", "leaf": "bias"}, "uniform", {"a": -1.0, "b": 1.0}),
    ({"param": "2.weight"}, "uniform", {"a": -0.5, "b": 0.5}),
    ({"param": "0.bias"}, "normal", {"mean": 3.0, "std": 0.5}),
    ({"module_type": "Linear", "leaf": "weight", "within": "2"}, "kaiming_uniform", {}),
]


@pytest.mark.parametrize("example, forward_first, node_setting", [
    ("mlp", False, False), ("mlp", False, True),               # eager: replay's fast, skipping path
    ("param_access", True, False), ("lazy_mlp", False, True), ("lazy_mlp", True, False),   # lazy
])
@pytest.mark.parametrize("count", [2, 3, 5])
def test_live_initializers_equal_the_compilers_replay_bit_for_bit(examples_dir, example, forward_first,
                                                                 node_setting, count):
    """The session applies each assignment when it is made (``first_index`` = its place in the
    list, after the nodes' own settings); compiling replays the whole list.  Both must give the
    same weights, bit for bit."""
    doc = Document(load_project(examples_dir / f"{example}.netstudio"))
    if node_setting:
        last = doc.project.root_definition.chain()[-1]
        doc.set_init(doc.project.root, last.id, "bias", {"scheme": "constant", "args": {"value": 0.25}})
    session = NetworkSession(doc)
    try:
        if forward_first:
            session.run_forward()
        for scope, scheme, args in LIVE[:count]:
            session.apply_initializer(InitAssignment(Scope.from_dict(scope), scheme, args))
        session.run_forward()
        live = session.ensure_built().state_dict()
        replayed = compile_project(session.document.project)
        replayed(torch.rand(*session.document.project.root_definition.inputs[0].params["shape"]))
        state = replayed.state_dict()
        assert list(state) == list(live)
        for name, value in live.items():
            assert torch.equal(state[name], value), name
        assert torch.all(live["0.bias"] > 1.0) == (count >= 4)   # the assignments did apply
    finally:
        session.close()


# ---------------------------------------------------------------- recorded entries at the edges (issue #9)

def replayed_on_one_linear(seed, initializers=(), edits=()) -> tuple[dict, list[str]]:
    """What the replay does to the module a one-Linear project compiles to (built here by hand,
    so only the replay runs): its weights, and the sentences of what it skipped."""
    doc, _ = chain_project([("Linear", {"in_features": 6, "out_features": 3})], shape=(2, 6))
    project = doc.project
    project.seed, project.initializers, project.edits = seed, list(initializers), list(edits)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 3))
    skipped: list[str] = []
    replay_initialization(project, net, skipped)
    return net.state_dict(), skipped


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


EVERYTHING = [{"scope": {"module_type": "Linear", "leaf": "weight"}, "scheme": "normal", "args": {}},
              {"scope": {"module_type": "Linear", "leaf": "bias"}, "scheme": "uniform", "args": {}}]


def test_without_a_seed_the_recorded_initializers_replay_as_with_seed_zero():
    with_zero, _ = replayed_on_one_linear(0, EVERYTHING)
    without, skipped = replayed_on_one_linear(None, EVERYTHING)
    assert skipped == [] and same(without, with_zero)
    assert not same(without, replayed_on_one_linear(1, EVERYTHING)[0])


def test_a_project_without_a_seed_or_entries_replays_without_a_word():
    assert replayed_on_one_linear(None)[1] == []


@pytest.mark.parametrize("seed", [True, 2.5, "3"])
def test_a_seed_that_is_not_a_whole_number_skips_the_replay_with_one_sentence(seed):
    untouched, _ = replayed_on_one_linear(0)
    weights, skipped = replayed_on_one_linear(seed, EVERYTHING)
    assert skipped == [f"The initialization seed must be a whole number, not {seed!r}."]
    assert same(weights, untouched)


def test_too_many_edits_are_named_as_edits():
    from netstudio.init.bounds import MAX_RECORDED
    _, skipped = replayed_on_one_linear(0, edits=[{"name": "0.bias", "op": "fill", "value": 1.0}] * (MAX_RECORDED + 1))
    assert skipped == [f"The project records {MAX_RECORDED + 1:,} edits, but at most {MAX_RECORDED:,} are allowed."]


def test_compiling_says_which_recorded_entry_no_longer_applies():
    from netstudio.analysis import CheckResult
    doc, _ = chain_project([("Linear", {"in_features": 6, "out_features": 3})], shape=(2, 6))
    doc.project.initializers = [{"scope": {"param": "9.weight"}, "scheme": "zeros"}]   # a layer since removed
    skipped: list[str] = []
    compile_project(doc.project, result=CheckResult(), skipped=skipped)
    assert skipped == ["The network has no parameter named '9.weight'."]


def test_node_settings_are_bounded_too(examples_dir, monkeypatch):
    from netstudio.compiler import initialize
    from netstudio.errors import NetStudioError
    doc = Document(load_project(examples_dir / "mlp.netstudio"))
    first, _, last = doc.project.root_definition.chain()
    doc.set_init("main", first.id, "weight", {"scheme": "zeros"})
    doc.set_init("main", last.id, "weight", {"scheme": "zeros"})
    monkeypatch.setattr(initialize, "MAX_RECORDED", 2)
    assert len(initialize.recorded_entries(doc.project)) == 2
    doc.set_init("main", last.id, "bias", {"scheme": "zeros"})
    with pytest.raises(NetStudioError, match="The network's nodes record more than 2 initializer settings."):
        initialize.recorded_entries(doc.project)


def test_a_tied_nodes_own_settings_are_not_replayed(examples_dir):
    from netstudio.compiler.initialize import recorded_entries
    doc = Document(load_project(examples_dir / "tied.netstudio"))
    tied = next(n for n in doc.project.root_definition.nodes.values() if n.tied_to)
    doc.set_init("main", tied.id, "weight", {"scheme": "zeros"})
    assert recorded_entries(doc.project) == []


def test_recorded_assignments_raise_the_first_entry_that_does_not_parse(examples_dir):
    from netstudio.compiler.initialize import recorded_assignments
    from netstudio.errors import NetStudioError
    project = load_project(examples_dir / "mlp.netstudio")
    project.initializers = [EVERYTHING[0], {"scheme": "zeros"}]
    with pytest.raises(NetStudioError, match="needs a 'scope' and a 'scheme'"):
        recorded_assignments(project)
    project.initializers = list(EVERYTHING)
    assert [a.scheme for a in recorded_assignments(project)] == ["normal", "uniform"]
