"""The parameter helpers' exact promises that mutation testing found unchecked (issue #9):
the text of names in messages, the network index on odd networks, per-use gradients' edges."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from netstudio.errors import NetStudioError, RunError
from netstudio.params.direct_edits import DirectEdit, apply_edits
from netstudio.params.net_index import NetIndex, brief, listing, owner_of, quote, type_name
from netstudio.params.tied_gradients import aligned, per_use_gradients, use_parts
from netstudio.params.tree import build_param_tree


# ---------------------------------------------------------------- names in messages

def test_quote_clips_long_and_unprintable_names_to_the_limit():
    assert quote("weight") == "'weight'"
    assert quote("x" * 80) == "'" + "x" * 80 + "'"                 # exactly the limit: whole
    assert quote("x" * 81) == "'" + "x" * 79 + "…'"                # one more: cut, with the ellipsis
    assert quote("a\nb", limit=10) == "'a\\nb'"                      # one line, always
    assert quote("a\nb" * 10, limit=5) == "'a\\nb…'"
    assert quote(12) == "'12'"


def test_brief_and_listing():
    assert brief("x" * 100, limit=10) == "'xxxxxxxx…"
    assert brief(10 ** 5000).endswith("too long to show") and len(brief(10 ** 5000)) <= 60
    assert listing(["b", "a", "c"]) == "a, b, c"
    assert listing([str(i) for i in range(5)]) == "0, 1, 2, 3, 4"
    assert listing([str(i) for i in range(7)]) == "0, 1, 2, 3, 4 and 2 more"
    assert listing(["y" * 41]) == "y" * 39 + "…"
    assert listing(["y" * 40]) == "y" * 40


def test_type_name_of_a_lazy_module_is_its_future_class():
    assert type_name(nn.LazyLinear(3)) == "Linear"
    assert type_name(nn.Linear(2, 3)) == "Linear"

    class Plain(nn.Module):
        pass
    assert type_name(Plain()) == "Plain"


def test_owner_of_a_name():
    net = nn.Sequential(nn.Linear(2, 2))
    assert owner_of(net, "0.weight") == (net[0], "weight")
    assert owner_of(net, ".weight") == (None, "weight")
    assert owner_of(net, "9.weight") == (None, "weight")
    assert owner_of(net, "weight") == (net, "weight")


# ---------------------------------------------------------------- the index on odd networks

class Cycle(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.child = nn.Module()
        self.child.register_parameter("p", nn.Parameter(torch.zeros(1)))
        self.child._modules["back"] = self      # a cycle: walked once
        self.none = None


def test_the_index_walks_a_cycle_once_and_skips_empty_slots():
    net = Cycle()
    index = NetIndex(net)
    assert index.names == ["lin.weight", "lin.bias", "child.p"]
    assert index.owners == [net.lin, net.lin, net.child]
    assert not index.shared_owners
    assert index.paths[""][1:] == (0, 3) and index.paths["lin"][1:] == (0, 2) and index.paths["child"][1:] == (2, 3)


def test_the_index_knows_a_parameter_held_by_two_modules():
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.weight = a.weight
    index = NetIndex(nn.Sequential(a, b))
    assert index.shared_owners and index.names == ["0.weight", "0.bias", "1.bias"]
    assert index.occ_pos == [0, 1, 0, 2] and index.occ_owner == [a, a, b, b]
    same_module = nn.Sequential(a, a)
    assert not NetIndex(same_module).shared_owners


# ---------------------------------------------------------------- direct edits

def test_an_edit_may_set_the_largest_finite_float_but_not_more():
    t = torch.zeros(2)
    DirectEdit("w", "fill", float(torch.finfo(torch.float32).max)).apply_to(t)
    assert torch.all(t == torch.finfo(torch.float32).max)
    with pytest.raises(NetStudioError):
        DirectEdit("w", "mul", 1e39).apply_to(t)


@pytest.mark.parametrize("value", [True, "1", 10 ** 400, math.inf, math.nan, None])
def test_only_finite_numbers_are_edit_values(value):
    with pytest.raises(NetStudioError, match="must be a finite number"):
        DirectEdit("w", "fill", value)


def test_apply_edits_replays_every_edit_in_order():
    net = nn.Sequential(nn.Linear(2, 2))
    apply_edits(net, [DirectEdit("0.bias", "fill", 2.0), DirectEdit("0.bias", "mul", 3.0),
                      DirectEdit("0.bias", "add", 1.0)])
    assert torch.all(net[0].bias == 7.0)


def test_the_tree_lists_buffers_after_parameters_with_persistence():
    bn = nn.BatchNorm1d(3)
    bn.register_buffer("scratch", torch.zeros(1), persistent=False)
    tree = build_param_tree(nn.Sequential(bn))
    assert [(e.name, e.kind, e.persistent) for e in tree.entries()][:3] == [
        ("0.weight", "parameter", True), ("0.bias", "parameter", True), ("0.running_mean", "buffer", True)]
    assert tree.find("0.scratch").persistent is False


# ---------------------------------------------------------------- per-use gradients

def total(output: torch.Tensor) -> torch.Tensor:
    return (output ** 2).sum()


class OneUseIgnored(nn.Module):
    """The shared layer runs twice, but only the first result reaches the loss."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        first = self.lin(x)
        self.lin(x)
        return first


def test_a_use_that_does_not_reach_the_loss_has_a_zero_gradient():
    model = OneUseIgnored()
    weight = model.lin.weight
    result = per_use_gradients(model, torch.rand(2, 3), total)
    uses = result["lin.weight"].uses
    assert [u.call_site for u in uses] == ["lin", "lin"]
    assert torch.count_nonzero(uses[1].grad) == 0 and torch.count_nonzero(uses[0].grad) > 0
    assert model.lin._parameters["weight"] is weight


def test_nested_shared_blocks_name_each_call_site():
    inner = nn.Linear(3, 3)
    block = nn.Sequential(inner, nn.Tanh(), inner)
    net = nn.Sequential(block, nn.ReLU(), block)

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            self.register_module("spare", None)     # an empty slot is no call site

        def forward(self, x):
            return self.net(x)
    holder = Holder()
    result = per_use_gradients(holder, torch.rand(2, 3), total)
    assert [u.call_site for u in result["net.0.0.weight"].uses] == ["net.0.0", "net.0.2", "net.2.0", "net.2.2"]
    assert net[0] is block and net[2] is block and block[0] is inner and block[2] is inner
    assert holder._modules["spare"] is None
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())


def test_use_parts_by_index_at_the_edges_of_the_shape():
    shared = nn.Linear(2, 2)
    grads = per_use_gradients(nn.Sequential(shared, shared), torch.rand(4, 2), total)["0.weight"]
    assert use_parts(grads, (-2, -2)).what == "[-2, -2]"
    assert use_parts(grads, (1, 1)).total == pytest.approx(float(grads.total[1, 1]))
    for bad in ((2, 0), (0, -3), (0,)):
        with pytest.raises(RunError, match="out of range"):
            use_parts(grads, bad)
    largest = use_parts(grads)
    assert largest.total == pytest.approx(float(grads.total.abs().max()) * (1 if largest.total > 0 else -1))


def test_an_empty_shared_parameter_shows_its_sum():
    """A layer with no outputs, called twice: its gradients have no largest element to show."""
    class Empty(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 0, bias=False)

        def forward(self, x):
            return torch.cat([self.lin(x), self.lin(x), x], dim=1)

    with pytest.warns(UserWarning, match="zero-element"):
        model = Empty()
    grads = per_use_gradients(model, torch.rand(3, 2), total)["lin.weight"]
    parts = use_parts(grads)
    assert parts.what == "sum of all elements" and parts.total == 0.0
    assert parts.uses == (("lin", 0.0), ("lin", 0.0))


def test_aligned_numbers_share_one_count_of_decimals():
    assert aligned([1.5, -0.25]) == ["1.50000", "-0.25000"]
    assert aligned([0.0, 0.0]) == ["0.00000", "0.00000"]
    assert aligned([123.0, 1.0]) == ["123.000", "1.000"]
    assert aligned([1234567.0]) == ["1234567"]
    assert aligned([1e-20]) == [f"{1e-20:.15f}"]
    assert aligned([math.inf, 2.0]) == ["inf", "2.00000"]
    assert aligned([0.5], digits=2) == ["0.50"]
    assert aligned([]) == []


# ---------------------------------------------------------------- initialization helpers

def test_derive_seed_is_blake2b_of_seed_index_and_name_in_63_bits():
    import hashlib

    from netstudio.init.assignments import derive_seed
    for seed, index, name in ((0, 0, "w"), (7, 3, "0.weight"), (2**40, 99, "x.y")):
        digest = hashlib.blake2b(f"{seed}/{index}/{name}".encode(), digest_size=8).digest()
        expected = int.from_bytes(digest, "little") & (2**63 - 1)
        assert derive_seed(seed, index, name) == expected
    seeds = [derive_seed(s, 0, "w") for s in range(64)]
    assert max(seeds) >= 2**62 and max(seeds) < 2**63     # all 63 bits are used, and no more: an int64 holds it


def test_a_deferred_initialization_fills_only_what_just_materialized():
    from netstudio.init.assignments import InitAssignment, apply_assignments, defer_until_materialized
    from netstudio.init.scopes import Scope
    net = nn.Sequential(nn.Linear(3, 4), nn.LazyLinear(2))
    everything = [InitAssignment(Scope(module_type="Linear", leaf="weight"), "normal", {})]
    apply_assignments(net, everything, 5)
    pending = defer_until_materialized(net, everything, 5)
    with torch.no_grad():
        net[0].weight.fill_(9.0)              # an edit after the assignment, before the forward
    net(torch.rand(1, 3))
    assert torch.all(net[0].weight == 9.0)   # the eager weight is not drawn again
    assert pending.pending == ()
    other = nn.Sequential(nn.LazyLinear(2))
    own_hooks = len(other[0]._forward_pre_hooks)        # the lazy module's own
    waiting = defer_until_materialized(other, everything, 5)
    assert waiting.pending == ("0.weight",) and len(other[0]._forward_pre_hooks) == own_hooks + 1
    waiting.remove()
    assert waiting.pending == () and len(other[0]._forward_pre_hooks) == own_hooks


def test_preview_numbers():
    from netstudio.init.preview import describe, histogram, preview_values, shape_text
    from netstudio.init.scopes import ResolvedParam
    edges, (a, b) = histogram(torch.tensor([1.0, 1.0]), torch.tensor([1.0, math.nan]), bins=4)
    assert edges.tolist() == [0.5, 0.75, 1.0, 1.25, 1.5]           # one value: a unit-wide range around it
    assert a.tolist() == [0, 0, 2, 0] and b.tolist() == [0, 0, 1, 0]
    edges, (c,) = histogram(torch.tensor([-1.0, 3.0]), bins=2)
    assert edges.tolist() == [-1.0, 1.0, 3.0] and c.tolist() == [1, 1]
    edges, (d,) = histogram(torch.tensor([0.0, 1e-12], dtype=torch.float64), bins=2)
    assert edges.tolist() == [0.0, 5e-13, 1e-12] and d.tolist() == [1, 1]   # the narrowest range kept as is
    edges, counts = histogram(bins=2)
    assert edges.tolist() == [0.0, 0.5, 1.0] and counts == []
    assert describe(torch.zeros(0)) == "empty"
    assert describe(torch.tensor([0.0, 0.0, 4.0])).endswith("zeros 2/3")
    assert shape_text(torch.zeros(2, 3)) == "(2, 3)"
    assert shape_text(nn.LazyLinear(2).weight) == "not created yet"
    layer = nn.Linear(3, 2)
    target = ResolvedParam("0.weight", layer, "weight", layer.weight)
    before = layer.weight.detach().clone()
    values = preview_values("constant", {"value": 2.5}, target)
    assert values.shape == (2, 3) and torch.all(values == 2.5) and torch.equal(layer.weight, before)
    reset = preview_values("pytorch_default", {}, target)
    assert reset.shape == (2, 3) and torch.equal(layer.weight, before) and not torch.equal(reset, before)
    counts = ResolvedParam("n", layer, "n", torch.zeros(4, dtype=torch.int64))
    assert preview_values("ones", {}, counts).dtype == torch.float32
