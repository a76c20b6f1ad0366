"""The project seed decides a compiled network's first weights, as ``torch.manual_seed`` would.

Eager layers are built right after ``torch.manual_seed(project seed)``, so a
one-layer project gives the weights hand-written PyTorch gives; a lazy layer is
drawn again from its own derived seed when its first forward gives it a shape,
wherever the global RNG is by then.  These tests pass the check result in, as
the session does, so they exercise the compiler alone.
"""

from __future__ import annotations

import torch
from torch import nn

from netstudio.analysis import CheckResult
from netstudio.compiler import compile_project
from netstudio.compiler.seeding import seed_on_materialize

from .builders import chain_project

CHECKED = CheckResult()   # a check that found nothing wrong


def one_linear(seed: int | None):
    doc, _ = chain_project([("Linear", {"in_features": 6, "out_features": 3})], shape=(2, 6))
    doc.set_setting("seed", seed)
    return doc.project


def test_a_seeded_project_gives_the_weights_of_torch_manual_seed():
    torch.manual_seed(100)                         # the global RNG is somewhere else entirely
    net = compile_project(one_linear(7), result=CHECKED)
    torch.manual_seed(7)
    by_hand = nn.Linear(6, 3)
    assert torch.equal(net[0].weight, by_hand.weight) and torch.equal(net[0].bias, by_hand.bias)


def test_compiling_leaves_the_global_rng_where_it_was():
    torch.manual_seed(100)
    before = torch.random.get_rng_state()
    compile_project(one_linear(7), result=CHECKED)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_without_a_seed_the_weights_continue_the_global_rng():
    torch.manual_seed(5)
    net = compile_project(one_linear(None), result=CHECKED)
    torch.manual_seed(5)
    by_hand = nn.Linear(6, 3)
    assert torch.equal(net[0].weight, by_hand.weight)


# ---------------------------------------------------------------- lazy layers

def test_a_lazy_layer_is_drawn_from_its_seed_once_it_has_a_shape():
    x = torch.rand(2, 4)
    layers = []
    for global_seed in (1, 2):
        lazy = nn.LazyLinear(3)
        seed_on_materialize(lazy, 5)
        torch.manual_seed(global_seed)             # wherever the global RNG is at the first forward
        lazy(x)
        layers.append(lazy)
    torch.manual_seed(5)
    by_hand = nn.Linear(4, 3)                      # what reset_parameters draws right after manual_seed(5)
    for lazy in layers:
        assert torch.equal(lazy.weight, by_hand.weight) and torch.equal(lazy.bias, by_hand.bias)


def test_a_lazy_layer_is_drawn_only_once():
    lazy = nn.LazyLinear(3)
    seed_on_materialize(lazy, 5)
    lazy(torch.rand(2, 4))
    with torch.no_grad():
        lazy.weight.fill_(1.0)                     # trained or edited after the first forward
    lazy(torch.rand(2, 4))
    assert torch.all(lazy.weight == 1.0)


def test_an_eager_layer_is_never_drawn_again():
    layer = nn.Linear(4, 3)
    seed_on_materialize(layer, 5)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    layer(torch.rand(2, 4))
    assert torch.all(layer.weight == 1.0)


def first_forward_weights(seed: int | None, global_seed: int) -> torch.Tensor:
    doc, _ = chain_project([("Linear", {"out_features": 3})], shape=(2, 6))   # no in_features: lazy
    doc.set_setting("seed", seed)
    net = compile_project(doc.project, result=CHECKED)
    torch.manual_seed(global_seed)                 # wherever the global RNG is at the first forward
    net(torch.rand(2, 6))
    return net[0].weight.detach().clone()


def test_a_seeded_lazy_layer_gets_its_weights_from_the_project_seed_only():
    a, b = first_forward_weights(7, global_seed=1), first_forward_weights(7, global_seed=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, first_forward_weights(8, global_seed=1))


def test_an_unseeded_lazy_layer_takes_whatever_the_global_rng_gives():
    assert not torch.equal(first_forward_weights(None, global_seed=1), first_forward_weights(None, global_seed=2))
