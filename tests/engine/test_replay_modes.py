"""The replay's two modes give what applying the entries one at a time gives.

Fast mode fills each parameter once, by the last assignment that takes it; exact
mode (a scheme that is not built in may read what it fills) fills every target of
every assignment in order.  Either way a lazy layer ends as an eager one of the
same shape would, and a message names the first failing parameter in
``state_dict`` order, however tied modules shuffle the walk.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netstudio.errors import NetStudioError
from netstudio.init.assignments import InitAssignment, apply_assignments
from netstudio.init.replay import replay
from netstudio.init.schemes import SCHEMES, InitScheme, user_scheme
from netstudio.init.scopes import Scope

SEED = 3
PLUS_ONE = user_scheme("plus_one", "def init(tensor, generator):\n    tensor.add_(1)\n", trusted=True)
BOOM = user_scheme("boom", "def init(tensor, generator):\n    raise ValueError('no')\n", trusted=True)
WITH_USER_SCHEMES = {**SCHEMES, "plus_one": PLUS_ONE, "boom": BOOM}


def assign(scheme: str, args: dict | None = None, **scope) -> InitAssignment:
    return InitAssignment(Scope(**scope), scheme, args or {})


def replayed(net: nn.Module, assignments, registry=SCHEMES) -> list[str]:
    skipped: list[str] = []
    replay(net, assignments, [], SEED, skipped, registry)
    return skipped


def same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def two_linears() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))


# ---------------------------------------------------------------- fast mode

def test_each_parameter_is_filled_once_by_the_last_assignment_that_takes_it(monkeypatch):
    assignments = [assign("normal"), assign("zeros", leaf="bias"), assign("ones", param="1.weight")]
    one_at_a_time = two_linears()
    apply_assignments(one_at_a_time, assignments, SEED)
    fills = []
    real_apply = InitScheme.apply

    def counted(self, tensor, *args, **kwargs):
        fills.append(self.name)
        real_apply(self, tensor, *args, **kwargs)

    monkeypatch.setattr(InitScheme, "apply", counted)
    net = two_linears()
    assert replayed(net, assignments) == []
    assert same_state(net, one_at_a_time)
    assert sorted(fills) == ["normal", "ones", "zeros", "zeros"]   # four parameters, four fills


# ---------------------------------------------------------------- exact mode

def test_a_scheme_that_reads_its_tensor_sees_what_earlier_assignments_wrote():
    net = two_linears()
    assert replayed(net, [assign("constant", {"value": 2.0}), assign("plus_one", within="0")],
                    WITH_USER_SCHEMES) == []
    assert torch.all(net[0].weight == 3) and torch.all(net[0].bias == 3)
    assert torch.all(net[1].weight == 2) and torch.all(net[1].bias == 2)


def lazy_then_eager() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.LazyLinear(2), nn.Linear(2, 2))


def test_a_lazy_layer_gets_every_assignment_in_order_when_its_scheme_reads_the_tensor():
    net = lazy_then_eager()
    skipped = replayed(net, [assign("constant", {"value": 2.0}, within="0"), assign("plus_one", within="0")],
                       WITH_USER_SCHEMES)
    net(torch.rand(1, 3))
    assert skipped == []
    assert torch.all(net[0].weight == 3) and torch.all(net[0].bias == 3)


def test_a_lazy_layer_that_fails_a_check_is_skipped_once_and_keeps_its_values():
    net = lazy_then_eager()
    skipped = replayed(net, [assign("constant", {"value": 2.0}, within="0"),
                             assign("xavier_uniform", within="0"),        # the bias has one dimension
                             assign("plus_one", param="1.weight")], WITH_USER_SCHEMES)
    assert skipped == []
    net(torch.rand(1, 3))
    assert skipped == ["Xavier uniform needs at least 2 dimensions, but '0.bias' has shape (2,)."]
    assert torch.all(net[0].weight == 2) and torch.all(net[0].bias == 2)


def test_a_custom_scheme_that_fails_on_a_lazy_layer_says_so_at_its_first_forward():
    net = lazy_then_eager()
    skipped = replayed(net, [assign("boom", within="0")], WITH_USER_SCHEMES)
    net(torch.rand(1, 3))
    assert skipped == ["Custom scheme 'boom' failed: ValueError: no."]


# ---------------------------------------------------------------- lazy equals eager

def test_a_lazy_layer_ends_as_the_eager_one_when_a_later_assignment_fails():
    assignments = [assign("normal", within="0"), assign("xavier_uniform", within="0")]
    torch.manual_seed(0)
    eager, lazy = nn.Sequential(nn.Linear(4, 3)), nn.Sequential(nn.LazyLinear(3))
    eager_skipped = replayed(eager, assignments)
    lazy_skipped = replayed(lazy, assignments)
    assert lazy_skipped == []
    lazy(torch.rand(2, 4))
    assert eager_skipped == lazy_skipped == ["Xavier uniform needs at least 2 dimensions, but '0.bias' has shape (3,)."]
    assert same_state(lazy, eager)


# ---------------------------------------------------------------- which parameter a message names

def tied_in_a_block() -> nn.Sequential:
    """Block 3 holds new layers and, between them, modules 0 and 1 again: its biases, in walk
    order, are 3.0.bias, 0.bias, 3.2.bias, 1.bias; the first in state_dict order is 0.bias."""
    torch.manual_seed(0)
    a, b, c, d, e = (nn.Linear(2, 2) for _ in range(5))
    return nn.Sequential(a, b, c, nn.Sequential(d, a, e, b))


def after_plain_layers() -> nn.Sequential:
    """Block 2's four biases come after two others: a message about block 2 names 2.0.bias."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2), nn.Sequential(*(nn.Linear(2, 2) for _ in range(4))))


@pytest.mark.parametrize(("make", "within", "first"), [
    (tied_in_a_block, "3", "0.bias"), (after_plain_layers, "2", "2.0.bias"), (after_plain_layers, "2.3", "2.3.bias"),
])
def test_a_failing_assignment_names_its_first_failing_parameter(make, within, first):
    assignments = [assign("xavier_uniform", within=within)]
    net, reference = make(), make()
    with pytest.raises(NetStudioError) as one_at_a_time:
        apply_assignments(reference, assignments, SEED)
    message = f"Xavier uniform needs at least 2 dimensions, but '{first}' has shape (2,)."
    assert str(one_at_a_time.value) == message
    assert replayed(net, assignments) == [message]
    assert same_state(net, make())                    # and nothing changed

