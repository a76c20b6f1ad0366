"""A replay of thousands of recorded entries is linear, and bit for bit what entry-by-entry gives.

``reference`` below is the old replay written plainly: every entry resolved over
the whole network, every target of every assignment filled from its own
generator, lazy parameters filled per (assignment, module) once they have shapes.
The fast replay must give the same weights and the same messages on any list
of entries, valid or not, over eager, tied, nested and lazy networks, and over
the networks where it falls back to filling everything (a parameter shared by
two modules, an integer parameter, a reset_parameters that is user code).
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.parameter import is_lazy

from netstudio.errors import NetStudioError
from netstudio.params import net_index as index_module
from netstudio.init.assignments import InitAssignment, derive_seed
from netstudio.params.net_index import type_name
from netstudio.init.replay import replay
from netstudio.init.schemes import SCHEMES, InitScheme
from netstudio.params.direct_edits import DirectEdit

SEED = 11

# -- networks ------------------------------------------------------------------------------


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(3, 3)
        self.norm = nn.LayerNorm(3)


class MyLinear(nn.Linear):
    pass


class Doubling(nn.Module):
    """User code: its reset_parameters reads another parameter, so order matters."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.ones(2, 2))
        self.b = nn.Parameter(torch.ones(2, 2))

    def reset_parameters(self):
        with torch.no_grad():
            self.a.copy_(self.b * 2 + torch.rand(2, 2))


class Counts(nn.Module):
    def __init__(self):
        super().__init__()
        self.count = nn.Parameter(torch.zeros(2, 2, dtype=torch.long), requires_grad=False)
        self.scale = nn.Parameter(torch.ones(2, 2))


def mlp():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2),
                         nn.MultiheadAttention(4, 2))


def tied():
    shared = nn.Linear(4, 4)
    return nn.Sequential(nn.Linear(3, 4), shared, nn.ReLU(), shared, nn.BatchNorm1d(4), nn.Linear(4, 2))


def nested():
    inner = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    return nn.Sequential(Block(), inner, MyLinear(3, 2), nn.Linear(2, 2, bias=False))


def tied_nested():
    """Module 1 holds a new Linear, then an alias of module 0: its first parameter is not its earliest."""
    shared = nn.Linear(3, 3)
    return nn.Sequential(shared, nn.Sequential(nn.Linear(3, 3), shared), nn.LayerNorm(3))


def lazy():
    return nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.Linear(4, 4), nn.LazyLinear(3), nn.LazyBatchNorm1d())


def shared_owner():
    enc, dec = nn.Linear(4, 4), nn.Linear(4, 4)
    dec.weight = enc.weight
    return nn.Sequential(enc, nn.ReLU(), dec, nn.LayerNorm(4))


class Holder(nn.Module):
    """Holds another module's weight under its own name, and has no reset_parameters."""

    def __init__(self, weight: nn.Parameter):
        super().__init__()
        self.register_parameter("borrowed", weight)


def borrowed():
    first = nn.Linear(2, 2)
    return nn.Sequential(first, Holder(first.weight))


def integers():
    return nn.Sequential(nn.Linear(3, 2), Counts(), nn.Linear(2, 2))


def user_reset():
    return nn.Sequential(nn.Linear(2, 2), Doubling(), nn.Linear(2, 2))


NETS = {"mlp": mlp, "tied": tied, "nested": nested, "tied_nested": tied_nested, "lazy": lazy,
        "shared_owner": shared_owner, "borrowed": borrowed, "integers": integers, "user_reset": user_reset}
LAZY_INPUT = torch.rand(3, 5)


def fresh(kind: str) -> nn.Module:
    torch.manual_seed(0)
    return NETS[kind]()


# -- the reference: the old replay, entry by entry, written plainly ----------------------------


def ref_resolve(module, scope):
    first = {id(p): n for n, p in module.named_parameters()}
    if scope.param is not None:
        path, _, leaf = scope.param.rpartition(".")
        try:
            owner = module.get_submodule(path)
        except AttributeError:
            owner = None
        tensor = owner._parameters.get(leaf) if owner is not None else None
        if tensor is None:
            raise NetStudioError(f"The network has no parameter named '{scope.param}'.")
        return [(first[id(tensor)], owner, tensor)]
    modules = dict(module.named_modules(remove_duplicate=False))
    if scope.within not in modules:
        raise NetStudioError(f"The network has no module named '{scope.within}'.")
    found = {}
    for name, sub in module.named_modules(remove_duplicate=False):
        inside = not scope.within or name == scope.within or name.startswith(scope.within + ".")
        if not inside or (scope.module_type and type_name(sub) != scope.module_type):
            continue
        for leaf, tensor in sub._parameters.items():
            if tensor is not None and scope.leaf in (None, leaf) and id(tensor) not in found:
                found[id(tensor)] = (first[id(tensor)], sub, tensor)
    order = {n: i for i, n in enumerate(first.values())}
    return sorted(found.values(), key=lambda r: order[r[0]])


def fill(scheme, args, index, name, tensor, owner):
    generator = torch.Generator().manual_seed(derive_seed(SEED, index, name))
    scheme.apply(tensor, generator, owner=owner, name=f"'{name}'", **args)


def reference(module, entries, edits):
    """(messages now, what to run once lazy parameters have shapes)."""
    skipped, groups, waiting_edits = [], [], []
    for index, data in enumerate(entries):
        try:
            assignment = InitAssignment.from_dict(data)
            scheme = SCHEMES[assignment.scheme]
            targets = ref_resolve(module, assignment.scope)
            eager = [t for t in targets if not is_lazy(t[2])]
            for name, owner, tensor in eager:
                scheme.check_target(tensor, owner=owner, name=f"'{name}'")
            by_owner = {}
            for name, owner, tensor in targets:
                if is_lazy(tensor):
                    by_owner.setdefault(id(owner), (owner, []))[1].append((name, tensor))
            groups += [(index, assignment, scheme, owner, members) for owner, members in by_owner.values()]
            for name, owner, tensor in eager:
                fill(scheme, assignment.args, index, name, tensor, owner)
        except NetStudioError as err:
            skipped.append(str(err))
    for data in edits:
        try:
            edit = DirectEdit.from_dict(data)
            tensor = module.state_dict(keep_vars=True).get(edit.name)
            if tensor is not None and is_lazy(tensor):
                waiting_edits.append((edit, tensor))
            else:
                edit.apply(module)
        except NetStudioError as err:
            skipped.append(str(err))
    return skipped, (groups, waiting_edits)


def reference_materialized(waiting) -> list[str]:
    groups, waiting_edits = waiting
    skipped = []
    for index, assignment, scheme, owner, members in groups:
        try:
            for name, tensor in members:
                scheme.check_target(tensor, owner=owner, name=f"'{name}'")
            for name, tensor in members:
                fill(scheme, assignment.args, index, name, tensor, owner)
        except NetStudioError as err:
            skipped.append(str(err))
    for edit, tensor in waiting_edits:
        try:
            edit.apply_to(tensor)
        except NetStudioError as err:
            skipped.append(str(err))
    return skipped


def parsed(entries, reader):
    out = []
    for data in entries:
        try:
            out.append(reader(data))
        except NetStudioError as err:
            out.append(err)
    return out


def fast(module, entries, edits) -> list[str]:
    skipped: list[str] = []
    replay(module, parsed(entries, InitAssignment.from_dict), parsed(edits, DirectEdit.from_dict), SEED, skipped)
    return skipped


def same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def check_same(kind, entries, edits):
    ours, theirs = fresh(kind), fresh(kind)
    messages = fast(ours, entries, edits)
    expected, waiting = reference(theirs, entries, edits)
    assert messages == expected
    if kind == "lazy":   # eval: running statistics would see different weights in the two first forwards
        torch.manual_seed(1)
        ours.eval()(LAZY_INPUT)
        torch.manual_seed(1)
        theirs.eval()(LAZY_INPUT)
        assert sorted(messages[len(expected):]) == sorted(reference_materialized(waiting))
    assert same_state(ours, theirs)


# -- entries drawn from each network's own names ---------------------------------------------


def names_of(kind):
    net = fresh(kind)
    params = [n for n, _ in net.named_parameters(remove_duplicate=False)]
    tensors = list(net.state_dict(keep_vars=True))
    paths = [n for n, _ in net.named_modules(remove_duplicate=False)]
    types = sorted({type_name(m) for m in net.modules()})
    return params, tensors, paths, types


def entries_for(kind):
    params, _, paths, types = names_of(kind)
    scope = st.one_of(
        st.builds(lambda p: {"param": p}, st.sampled_from(params + ["nope.weight", "0"])),
        st.fixed_dictionaries({}, optional={
            "within": st.sampled_from(paths + ["nope"]),
            "module_type": st.sampled_from(types + ["Nope"]),
            "leaf": st.sampled_from(["weight", "bias", "a", "in_proj_weight", "nope"]),
        }),
    )
    args = {"normal": st.fixed_dictionaries({}, optional={"std": st.sampled_from([0.01, 2.0, -1.0])}),
            "constant": st.fixed_dictionaries({"value": st.floats(-3, 3)})}
    scheme = st.sampled_from(sorted(SCHEMES) + ["gaussian"])
    entry = scheme.flatmap(lambda s: st.fixed_dictionaries(
        {"scope": scope, "scheme": st.just(s), "args": args.get(s, st.just({}))}))
    return st.lists(entry | st.just({"scope": {}}), max_size=25)


def edits_for(kind):
    _, tensors, _, _ = names_of(kind)
    index = st.none() | st.lists(st.integers(-3, 3), min_size=1, max_size=2)
    edit = st.builds(lambda n, o, v, i: {"name": n, "op": o, "value": v, **({"index": i} if i else {})},
                     st.sampled_from(tensors + ["nope"]), st.sampled_from(["add", "mul", "fill", "set"]),
                     st.floats(-5, 5), index)
    return st.lists(edit, max_size=8)


@pytest.mark.parametrize("kind", sorted(NETS))
def test_fast_replay_is_the_entry_by_entry_replay(kind):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(entries_for(kind), edits_for(kind))
    def run(entries, edits):
        check_same(kind, entries, edits)

    run()


def test_late_assignments_win_and_failing_ones_change_nothing():
    entries = [
        {"scope": {}, "scheme": "normal"},
        {"scope": {"module_type": "Linear", "leaf": "weight"}, "scheme": "xavier_uniform"},
        {"scope": {}, "scheme": "xavier_uniform"},          # LayerNorm's weight is a vector: skipped whole
        {"scope": {"param": "2.weight"}, "scheme": "seed_custom"},
        {"scope": {}, "scheme": "pytorch_default"},         # MultiheadAttention has no reset_parameters
        {"scope": {"within": "4"}, "scheme": "pytorch_default"},
    ]
    for kind in ("mlp", "tied", "nested"):
        check_same(kind, entries, [{"name": "2.weight", "op": "set", "value": 3.0, "index": [0, 0]}])


@pytest.mark.parametrize(("kind", "entries"), [
    ("integers", [{"scope": {"within": "1"}, "scheme": "uniform"},          # fails at the integer tensor
                  {"scope": {"param": "1.scale"}, "scheme": "constant", "args": {"value": 3.0}},
                  {"scope": {"within": "1"}, "scheme": "normal"}]),          # fails there again: scale keeps 3
    ("user_reset", [{"scope": {"param": "1.b"}, "scheme": "constant", "args": {"value": 5.0}},
                    {"scope": {"param": "1.a"}, "scheme": "pytorch_default"},   # reads b, so b's 5 matters
                    {"scope": {"param": "1.b"}, "scheme": "zeros"}]),
    ("tied_nested", [{"scope": {"within": "1"}, "scheme": "xavier_normal"}]),  # names 0.bias, its earliest
    ("borrowed", [{"scope": {"param": "0.weight"}, "scheme": "constant", "args": {"value": 2.0}},
                  {"scope": {"within": "1"}, "scheme": "pytorch_default"}]),   # Holder has none: 2 stays
])
def test_where_skipping_would_change_a_bit_everything_is_filled(kind, entries):
    check_same(kind, entries, [])


# -- scale: counted, not timed ---------------------------------------------------------------


def wide(layers: int = 40) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.LazyLinear(8), *[nn.Linear(8, 8) for _ in range(layers)])


def many_entries(n: int, layers: int = 40) -> list[dict]:
    shapes = [
        lambda i: {"scope": {}, "scheme": "normal", "args": {"std": 0.02}},
        lambda i: {"scope": {"module_type": "Linear", "leaf": "weight"}, "scheme": "orthogonal"},
        lambda i: {"scope": {"param": f"{1 + i % layers}.weight"}, "scheme": "xavier_normal"},
        lambda i: {"scope": {"within": str(1 + i % layers)}, "scheme": "uniform"},
        lambda i: {"scope": {"leaf": "bias"}, "scheme": "xavier_normal"},   # fails its check every time
        lambda i: {"scope": {"param": f"{1 + i % layers}.weight"}, "scheme": "pytorch_default"},
    ]
    return [shapes[i % len(shapes)](i) for i in range(n)]


def many_edits(n: int, layers: int = 40) -> list[dict]:
    return [{"name": f"{1 + i % layers}.weight", "op": "set", "value": float(i), "index": [i % 8, i % 7]}
            for i in range(n)]


def test_thousands_of_entries_walk_the_network_once_and_fill_each_parameter_once(monkeypatch):
    calls = {"walks": 0, "fills": 0, "module_walks": 0}
    real_init, real_apply = index_module.NetIndex.__init__, InitScheme.apply

    def counted_init(self, module):
        calls["walks"] += 1
        real_init(self, module)

    def counted_apply(self, *args, **kwargs):
        calls["fills"] += 1
        real_apply(self, *args, **kwargs)

    def no_module_walks(*args, **kwargs):
        calls["module_walks"] += 1
        raise AssertionError("the replay walks the network through named_modules/named_parameters")

    net, n = wide(), 3_000
    monkeypatch.setattr(index_module.NetIndex, "__init__", counted_init)
    monkeypatch.setattr(InitScheme, "apply", counted_apply)
    with monkeypatch.context() as walks:
        for method in ("named_modules", "named_parameters", "get_submodule", "state_dict"):
            walks.setattr(nn.Module, method, no_module_walks)
        skipped = fast(net, many_entries(n), many_edits(n))
    assert calls["walks"] == 1 and calls["module_walks"] == 0
    assert len(skipped) == n // 6   # the bias assignments, each with its own sentence
    eager_params = 2 * 40
    assert calls["fills"] <= eager_params
    hooks = sum(len(m._forward_pre_hooks) for m in net.modules())
    net(torch.rand(2, 5))
    assert calls["fills"] <= eager_params + 2
    assert hooks <= 3   # torch's own lazy hook and one for every waiting module, not one per entry


def test_thousands_of_entries_give_what_entry_by_entry_gives():
    entries, edits = many_entries(600), many_edits(600)
    ours, theirs = wide(), wide()
    messages = fast(ours, entries, edits)
    expected, waiting = reference(theirs, entries, edits)
    assert messages == expected
    x = torch.rand(2, 5)
    for net in (ours, theirs):
        torch.manual_seed(1)
        net(x)
    assert reference_materialized(waiting) == [] and len(messages) == len(expected)
    assert same_state(ours, theirs)


def test_tied_lazy_modules_and_cycles_are_indexed_once():
    shared = nn.LazyLinear(4)
    net = nn.Sequential(shared, nn.ReLU(), nn.Linear(4, 4), shared)   # input size 4, so it fits twice
    names = list(index_module.NetIndex(net).paths)
    assert names == ["", "0", "1", "2", "3"]
    loop = nn.Sequential(nn.Linear(2, 2))
    loop.add_module("again", loop)
    index = index_module.NetIndex(loop)
    assert list(index.paths) == ["", "0"] and index.names == ["0.weight", "0.bias"]
    entries = [{"scope": {"within": "3"}, "scheme": "ones"}, {"scope": {"param": "0.bias"}, "scheme": "zeros"}]
    messages = fast(net, entries, [{"name": "3.weight", "op": "set", "value": 5.0, "index": [0, 0]}])
    net(torch.rand(2, 4))
    assert messages == [] and torch.all(shared.bias == 0) and shared.weight[0, 0] == 5
    assert torch.all(shared.weight.flatten()[1:] == 1)


def test_a_module_copy_with_pending_work_stays_cheap_and_harmless():
    net = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyLinear(2))
    fast(net, [{"scope": {}, "scheme": "ones"}], [{"name": "2.bias", "op": "fill", "value": 4.0}])
    twin = copy.deepcopy(net)
    net(LAZY_INPUT)
    assert torch.all(net[0].weight == 1) and torch.all(net[2].bias == 4)
    assert not any(m._forward_pre_hooks for m in net.modules())
    twin(LAZY_INPUT)   # the copy materializes on its own; the hooks it shares find nothing of theirs
    assert not torch.all(twin[0].weight == 1)
