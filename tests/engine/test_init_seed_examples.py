"""The seed's initialization examples, reproduced through assignments and checked against nn.init."""

import torch
from torch import nn

from netstudio.init.assignments import InitAssignment, apply_assignments, defer_until_materialized, derive_seed
from netstudio.init.scopes import Scope, resolve
from netstudio.params.direct_edits import DirectEdit
from netstudio.params.tree import build_param_tree

SEED = 2024
LINEAR_WEIGHTS = Scope(module_type="Linear", leaf="weight")
LINEAR_BIASES = Scope(module_type="Linear", leaf="bias")


def seed_net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))


def gen(index: int, name: str) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(SEED, index, name))


def same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_a_normal_weights_and_zero_biases_on_every_linear():
    net, reference = seed_net(), seed_net()
    apply_assignments(
        net,
        [InitAssignment(LINEAR_WEIGHTS, "normal", {"mean": 0, "std": 0.01}), InitAssignment(LINEAR_BIASES, "zeros")],
        SEED,
    )
    for name in ("0", "2"):
        nn.init.normal_(reference.get_submodule(name).weight, mean=0, std=0.01, generator=gen(0, f"{name}.weight"))
        nn.init.zeros_(reference.get_submodule(name).bias)
    assert same(net, reference)


def test_b_constant_one_weights_and_zero_biases():
    net = seed_net()
    apply_assignments(
        net, [InitAssignment(LINEAR_WEIGHTS, "constant", {"value": 1}), InitAssignment(LINEAR_BIASES, "zeros")], SEED
    )
    assert net[0].weight.data[0].tolist() == [1.0] * 4 and net[0].bias.data[0].item() == 0
    assert torch.all(net[2].weight == 1) and torch.all(net[2].bias == 0)


def test_c_xavier_on_first_layer_and_42_on_last():
    net, reference = seed_net(), seed_net()
    reference.load_state_dict(net.state_dict())
    apply_assignments(
        net,
        [
            InitAssignment(Scope(within="0", module_type="Linear", leaf="weight"), "xavier_uniform"),
            InitAssignment(Scope(within="2", module_type="Linear", leaf="weight"), "constant", {"value": 42}),
        ],
        SEED,
    )
    nn.init.xavier_uniform_(reference[0].weight, generator=gen(0, "0.weight"))
    nn.init.constant_(reference[2].weight, 42)
    assert same(net, reference)
    assert torch.all(net[2].weight == 42)


def test_d_custom_uniform_with_small_values_zeroed():
    net, reference = seed_net(), seed_net()
    reference.load_state_dict(net.state_dict())
    apply_assignments(net, [InitAssignment(LINEAR_WEIGHTS, "seed_custom")], SEED)
    for name in ("0", "2"):
        weight = reference.get_submodule(name).weight
        nn.init.uniform_(weight, -10, 10, generator=gen(0, f"{name}.weight"))
        weight.data *= weight.data.abs() >= 5
    assert same(net, reference)
    for weight in (net[0].weight, net[2].weight):
        nonzero = weight[weight != 0]
        assert torch.all(nonzero.abs() >= 5) and torch.all(weight.abs() <= 10)


def test_same_seed_same_weights_whatever_the_starting_weights():
    plan = [InitAssignment(LINEAR_WEIGHTS, "kaiming_uniform"), InitAssignment(LINEAR_BIASES, "normal")]
    torch.manual_seed(1)
    first = seed_net()
    torch.manual_seed(2)
    second = seed_net()
    assert not same(first, second)
    apply_assignments(first, plan, SEED)
    apply_assignments(second, plan, SEED)
    assert same(first, second)


def test_tied_layers_share_edits_and_initialize_once():
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
    net(torch.rand(2, 4))
    assert torch.equal(net[2].weight, net[4].weight)
    DirectEdit("2.weight", "set", 100, (0, 0)).apply(net)
    assert net[4].weight.data[0, 0] == 100 and net[2].weight is net[4].weight
    distinct = ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    assert [r.name for r in resolve(net, Scope())] == distinct
    report = apply_assignments(net, [InitAssignment(Scope(within="4"), "ones")], SEED)
    assert report.initialized == ("2.weight", "2.bias") and torch.all(net[2].weight == 1)
    entry = build_param_tree(net).find("4.weight")
    assert entry.name == "2.weight" and entry.aliases == ("4.weight",)


def test_deferred_initialization_applies_when_shapes_are_known():
    plan = [
        InitAssignment(LINEAR_WEIGHTS, "normal", {"mean": 0, "std": 0.01}),
        InitAssignment(LINEAR_BIASES, "zeros"),
    ]
    lazy = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    tree = build_param_tree(lazy)
    assert all(e.deferred for e in tree.entries()) and tree.total_numel == 0
    report = apply_assignments(lazy, plan, SEED)
    assert report.initialized == () and report.deferred == ("0.weight", "2.weight", "0.bias", "2.bias")

    pending = defer_until_materialized(lazy, plan, SEED)
    assert set(pending.pending) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    x = torch.rand(2, 20)
    first_output = lazy(x)
    assert [tuple(p.shape) for p in lazy.parameters()] == [(256, 20), (256,), (10, 256), (10,)]
    assert pending.pending == () and all(not m._forward_pre_hooks for m in lazy.modules())
    assert not build_param_tree(lazy).has_deferred

    eager = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    apply_assignments(eager, plan, SEED)
    assert same(lazy, eager)  # sizes inferred late, the same weights bit for bit
    assert torch.equal(first_output, eager(x))  # and the first forward already used them


def test_deferred_initialization_can_be_dropped():
    lazy = nn.Sequential(nn.LazyLinear(3))
    pending = defer_until_materialized(lazy, [InitAssignment(Scope(), "ones")], SEED)
    pending.remove()
    lazy(torch.rand(1, 2))
    assert pending.pending == () and not torch.all(lazy[0].weight == 1)


def test_pytorch_default_is_reproducible_for_lazy_and_eager_layers():
    plan = [InitAssignment(Scope(module_type="Linear"), "pytorch_default")]
    lazy = nn.Sequential(nn.LazyLinear(6), nn.ReLU(), nn.LazyLinear(2))
    defer_until_materialized(lazy, plan, SEED)
    lazy(torch.rand(3, 5))
    eager = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 2))
    apply_assignments(eager, plan, SEED)
    assert same(lazy, eager)
    assert eager[0].weight.abs().max() <= 1 / 5**0.5
