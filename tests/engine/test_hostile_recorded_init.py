"""Recorded initializers and edits come from project files: every string and number in them is data.

A name is looked up only in the ``_modules``/``_parameters``/``_buffers`` dicts, never with
``getattr``/``get_submodule``, so it cannot reach a property, a method or a private attribute.
Every bad entry costs one sentence in ``skipped`` and the replay goes on with the rest.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from netstudio.compiler import compile_project
from netstudio.compiler.initialize import replay_initialization
from netstudio.errors import NetStudioError
from netstudio.graph import Document
from netstudio.init.assignments import InitAssignment, apply_assignments
from netstudio.init.bounds import MAX_RECORDED, check_recorded_lengths
from netstudio.init.schemes import SCHEMES, user_scheme
from netstudio.init.scopes import Scope, resolve
from netstudio.params.direct_edits import DirectEdit, find_tensor
from netstudio.serialization import load_project

HOSTILE_NAMES = [
    "__class__", "forward", "_modules", "training", "0.__dict__", "__dict__", "_parameters",
    "0._parameters", "0.weight.data", "0.weight.T", "boom", "boom.weight", "sneaky", "sneaky.weight",
    "0.forward", "T_destination", "_modules.0", "_modules.0.weight", ".weight", "0..weight", "0.",
    "", ".", "0.weight\nX", "0" * 10_000,
]  # fmt: skip


class Trap(nn.Module):
    """A module whose attributes punish ``getattr``: one property raises, one reaches an unregistered module."""

    def __init__(self):
        super().__init__()
        self.add_module("0", nn.Linear(3, 2))
        object.__setattr__(self, "hidden", nn.Linear(2, 2))   # reachable by getattr, not by state_dict

    @property
    def boom(self):
        raise RuntimeError("a file name reached a property")

    @property
    def sneaky(self):
        return self.hidden


def one_sentence(message: str) -> str:
    assert "\n" not in message and message.endswith(".") and len(message) < 400, message
    return message


def raises_one_sentence(fn, *args, **kwargs) -> str:
    with pytest.raises(NetStudioError) as exc:
        fn(*args, **kwargs)
    return one_sentence(str(exc.value))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_parameter_names_never_reach_getattr(name):
    net = Trap()
    raises_one_sentence(find_tensor, net, name)
    if name:   # an empty parameter name is the whole-network scope, and no edit's name
        raises_one_sentence(resolve, net, Scope.parameter(name))
        raises_one_sentence(DirectEdit(name, "add", 1.0).apply, net)


@pytest.mark.parametrize("name", [n for n in HOSTILE_NAMES if n])
def test_hostile_module_names_never_reach_getattr(name):
    raises_one_sentence(resolve, Trap(), Scope.module(name))


def test_names_state_dict_knows_still_resolve():
    net = Trap()
    assert [r.name for r in resolve(net, Scope.parameter("0.weight"))] == ["0.weight"]
    assert [r.name for r in resolve(net, Scope.module("0"))] == ["0.weight", "0.bias"]
    assert find_tensor(net, "0.bias") is net.get_submodule("0").bias


def base_doc(examples_dir) -> Document:
    return Document(load_project(examples_dir / "param_access.netstudio"))


def replayed(doc: Document) -> tuple[nn.Module, list[str]]:
    skipped: list[str] = []
    net = compile_project(doc.project, skipped=skipped)
    net(torch.rand(2, 4))   # the example's layers are lazy: what waits for shapes is applied now
    for message in skipped:
        one_sentence(message)
    return net, skipped


def test_hostile_names_in_a_project_are_skipped_one_sentence_each(examples_dir):
    doc = base_doc(examples_dir)
    names = [n for n in HOSTILE_NAMES if n]
    doc.set_setting("initializers", [{"scope": {"param": n}, "scheme": "zeros"} for n in names]
                    + [{"scope": {"within": n}, "scheme": "zeros"} for n in names]
                    + [{"scope": {"param": "0.bias"}, "scheme": "ones"}])
    doc.set_setting("edits", [{"name": n, "op": "add", "value": 1.0} for n in names]
                    + [{"name": "2.bias", "op": "fill", "value": 7.0}])
    net, skipped = replayed(doc)
    assert len(skipped) == 3 * len(names)
    assert torch.all(net[0].bias == 1) and torch.all(net[2].bias == 7)


def test_hostile_node_settings_are_skipped_one_sentence_each(examples_dir):
    doc = base_doc(examples_dir)
    first = doc.definition("main").chain()[0]
    doc.definition("main").nodes[first.id].init.update({
        "__class__": {"scheme": "zeros"},
        "forward": {"scheme": "zeros"},
        "weight": 5,
        "bias": {"scheme": "constant", "args": {"value": 3}},
    })
    net, skipped = replayed(doc)
    assert len(skipped) == 3
    assert torch.all(net[0].bias == 3)


BAD_INITIALIZERS = [
    ({"scope": {}, "scheme": "normal", "args": {"std": math.nan}}, "finite"),
    ({"scope": {}, "scheme": "normal", "args": {"std": math.inf}}, "finite"),
    ({"scope": {}, "scheme": "normal", "args": {"mean": -math.inf}}, "finite"),
    ({"scope": {}, "scheme": "normal", "args": {"std": 10**400}}, "at most"),
    ({"scope": {}, "scheme": "normal", "args": {"mean": -(10**400)}}, "at least"),
    ({"scope": {}, "scheme": "normal", "args": {"std": 1e300}}, "at most"),
    ({"scope": {}, "scheme": "constant", "args": {"value": 1e200}}, "at most"),
    ({"scope": {}, "scheme": "uniform", "args": {"a": -1e308, "b": 1e308}}, "at"),
    ({"scope": {}, "scheme": "normal", "args": {"std": "big"}}, "must be a number"),
    ({"scope": {}, "scheme": "normal", "args": {"std": None}}, "must be a number"),
    ({"scope": {}, "scheme": "normal", "args": {"std": [1]}}, "must be a number"),
    ({"scope": {}, "scheme": "normal", "args": {"std": True}}, "must be a number"),
    ({"scope": {}, "scheme": "normal", "args": {"sigma": 1}}, "no argument named"),
    ({"scope": {}, "scheme": "normal", "args": {"x" * 5000: 1}}, "no argument named"),
    ({"scope": {}, "scheme": "normal", "args": [1, 2]}, "named values"),
    ({"scope": {}, "scheme": "normal", "args": "std=1"}, "named values"),
    ({"scope": {}, "scheme": "kaiming_normal", "args": {"mode": ["fan_in"]}}, "fan_in, fan_out"),
    ({"scope": {}, "scheme": "kaiming_normal", "args": {"mode": "f" * 5000}}, "fan_in, fan_out"),
    ({"scope": {}, "scheme": "trunc_normal", "args": {"mean": 100.0}}, "standard deviations"),
    ({"scope": {}, "scheme": "gaussian"}, "no initialization scheme called 'gaussian'"),
    ({"scope": {}, "scheme": "Normal"}, "no initialization scheme"),
    ({"scope": {}, "scheme": "mine"}, "no initialization scheme called 'mine'"),
    ({"scope": {}, "scheme": "__class__"}, "no initialization scheme"),
    ({"scope": {}, "scheme": None}, "no initialization scheme"),
    ({"scope": {}, "scheme": ["normal"]}, "no initialization scheme"),
    ({"scope": {}, "scheme": {"name": "normal"}}, "no initialization scheme"),
    ({"scope": {}, "scheme": "s" * 5000}, "no initialization scheme"),
    ({"scope": "0.weight", "scheme": "zeros"}, "set of named fields"),
    ({"scope": {"param": 5}, "scheme": "zeros"}, "must be text"),
    ({"scope": {"within": ["0"]}, "scheme": "zeros"}, "must be text"),
    ({"scope": {"param": "0.weight", "leaf": "bias"}, "scheme": "zeros"}, "not both"),
    ({"scope": {"color": "red"}, "scheme": "zeros"}, "unknown fields: color"),
    ({"scope": {}, "scheme": "zeros", "code": "import os"}, "unknown fields: code"),
    ({"scheme": "zeros"}, "needs a 'scope' and a 'scheme'"),
    ([], "needs a 'scope' and a 'scheme'"),
    ("zeros", "needs a 'scope' and a 'scheme'"),
    (None, "needs a 'scope' and a 'scheme'"),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "fragment"), BAD_INITIALIZERS)
def test_bad_initializer_arguments_get_one_sentence_and_the_rest_replays(examples_dir, entry, fragment):
    doc = base_doc(examples_dir)   # set directly, as a file could hold them (the document refuses some)
    doc.project.initializers = [entry, {"scope": {"leaf": "bias"}, "scheme": "constant", "args": {"value": 2}}]
    doc.project.edits = [{"name": "2.weight", "op": "fill", "value": 5.0}]
    net, skipped = replayed(doc)
    assert len(skipped) == 1 and fragment in skipped[0]
    assert torch.all(net[0].bias == 2) and torch.all(net[2].bias == 2) and torch.all(net[2].weight == 5)


BAD_EDITS = [
    ({"name": "0.weight", "op": "add", "value": math.nan}, "finite"),
    ({"name": "0.weight", "op": "add", "value": 10**400}, "finite"),
    ({"name": "0.weight", "op": "add", "value": "1"}, "finite"),
    ({"name": "0.weight", "op": "fill", "value": 1e300}, "float32"),
    ({"name": "0.weight", "op": "mul", "value": 1e300}, "float32"),
    ({"name": "0.weight", "op": "__class__", "value": 1.0}, "Unknown edit operation"),
    ({"name": "0.weight", "op": ["add"], "value": 1.0}, "Unknown edit operation"),
    ({"name": "0.weight", "op": "set", "value": 1.0, "index": [10**30, 0]}, "out of range"),
    ({"name": "0.weight", "op": "set", "value": 1.0, "index": [0] * 10_000}, "needs 2 indices"),
    ({"name": "0.weight", "op": "add", "value": 1.0, "index": "0"}, "list of whole numbers"),
    ({"name": "0.weight", "op": "add", "value": 1.0, "index": [0.5]}, "list of whole numbers"),
    ({"name": "0.weight", "op": "add", "value": 1.0, "index": [True]}, "list of whole numbers"),
    ({"name": 5, "op": "add", "value": 1.0}, "needs the name"),
    ({"name": "", "op": "add", "value": 1.0}, "needs the name"),
    ({"name": "0.weight", "op": "add"}, "needs 'name', 'op' and 'value'"),
    ({"name": "0.weight", "op": "add", "value": 1.0, "eval": "x"}, "unknown fields"),
    ("0.weight", "needs 'name', 'op' and 'value'"),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "fragment"), BAD_EDITS)
def test_bad_edits_get_one_sentence_and_the_rest_replays(examples_dir, entry, fragment):
    doc = base_doc(examples_dir)
    doc.project.edits = [entry, {"name": "2.bias", "op": "fill", "value": 7.0}]
    net, skipped = replayed(doc)
    assert len(skipped) == 1 and fragment in skipped[0]
    assert torch.all(net[2].bias == 7)


def test_schemes_refuse_what_they_cannot_fill_before_changing_anything():
    # PyTorch's default needs the owner's reset_parameters: checked with the shapes, not halfway through.
    net = nn.Sequential(nn.Linear(2, 2), nn.PReLU(), nn.MultiheadAttention(4, 2))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    message = raises_one_sentence(apply_assignments, net, [InitAssignment(Scope(), "pytorch_default")], 0)
    assert "MultiheadAttention has no PyTorch default initialization" in message
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    empty = torch.empty(0, 3)
    for name in ("kaiming_uniform", "xavier_normal", "orthogonal", "seed_custom"):
        SCHEMES[name].apply(empty, torch.Generator().manual_seed(0))   # nothing to fill, no warning


def test_user_code_schemes_never_run_from_an_untrusted_file(examples_dir):
    raises_one_sentence(user_scheme, "mine", "def init(t, g):\n    t.fill_(1)\n")
    doc = base_doc(examples_dir)
    doc.set_setting("initializers", [{"scope": {}, "scheme": "mine", "args": {"source": "import os"}}])
    _, skipped = replayed(doc)
    assert skipped == ["There is no initialization scheme called 'mine'."]


def test_exactly_the_bound_is_allowed_and_one_more_is_not():
    check_recorded_lengths([{}] * MAX_RECORDED, ())
    with pytest.raises(NetStudioError, match=f"records {MAX_RECORDED + 1:,} initializers, but at most"):
        check_recorded_lengths([{}] * (MAX_RECORDED + 1), ())


def test_list_lengths_are_bounded_before_anything_is_parsed(examples_dir):
    check_recorded_lengths([{}] * MAX_RECORDED, [{}] * MAX_RECORDED)
    for initializers, edits in [([None] * (MAX_RECORDED + 1), []), ([], [None] * (MAX_RECORDED + 1))]:
        message = raises_one_sentence(check_recorded_lengths, initializers, edits)
        assert f"{MAX_RECORDED + 1:,}" in message
    doc = base_doc(examples_dir)
    module = compile_project(doc.project)
    module(torch.rand(2, 4))
    before = {k: v.clone() for k, v in module.state_dict().items()}
    doc.project.initializers = [{"scope": {}, "scheme": "zeros"}] * (MAX_RECORDED + 1)
    skipped: list[str] = []
    replay_initialization(doc.project, module, skipped)
    assert len(skipped) == 1 and "at most" in one_sentence(skipped[0])
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    with pytest.raises(NetStudioError):
        check_recorded_lengths("not a list", [])
