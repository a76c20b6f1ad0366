import copy

import pytest
import torch
from torch import nn

from netstudio.errors import RunError
from netstudio.params.tied_gradients import WHY_SUM_EXPLANATION, per_use_gradients


def total(output: torch.Tensor) -> torch.Tensor:
    return (output**2).sum()


def shared_net() -> nn.Sequential:
    torch.manual_seed(0)
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))


def untied_copy(net: nn.Sequential) -> nn.Sequential:
    """The same weights, but position 4 gets its own copy: its gradient is use 2's contribution."""
    copy_ = copy.deepcopy(net)
    copy_[4] = copy.deepcopy(copy_[2])
    return copy_


def test_shared_module_uses_sum_to_autograd_gradient():
    net, x = shared_net(), torch.rand(5, 4)
    result = per_use_gradients(net, x, total)
    assert set(result) == {"2.weight", "2.bias"}
    assert all(p.grad is None for p in net.parameters())  # .grad is left alone

    total(net(x)).backward()
    untied = untied_copy(net)
    total(untied(x)).backward()
    for leaf in ("weight", "bias"):
        uses = result[f"2.{leaf}"]
        assert [u.call_site for u in uses.uses] == ["2", "4"]
        assert torch.allclose(uses.total, getattr(net[2], leaf).grad)
        assert torch.allclose(sum(u.grad for u in uses.uses), uses.total)
        assert torch.allclose(uses.uses[0].grad, getattr(untied[2], leaf).grad)
        assert torch.allclose(uses.uses[1].grad, getattr(untied[4], leaf).grad)
        assert not torch.allclose(uses.uses[0].grad, uses.uses[1].grad)


def test_module_called_twice_in_forward():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 3)

        def forward(self, x):
            return self.linear(torch.tanh(self.linear(x)))

    torch.manual_seed(1)
    model, x = Twice(), torch.rand(4, 3)
    result = per_use_gradients(model, x, total)
    total(model(x)).backward()
    uses = result["linear.weight"]
    assert [u.call_site for u in uses.uses] == ["linear", "linear"]
    assert torch.allclose(sum(u.grad for u in uses.uses), model.linear.weight.grad)

    first = copy.deepcopy(model.linear)
    second = copy.deepcopy(model.linear)
    total(second(torch.tanh(first(x)))).backward()
    assert torch.allclose(uses.uses[0].grad, first.weight.grad)
    assert torch.allclose(uses.uses[1].grad, second.weight.grad)


def test_parameter_tied_between_modules_and_nested_shared_block():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3, bias=False)
            self.b = nn.Linear(3, 3, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(torch.relu(self.a(x)))

    model, x = Tied(), torch.rand(2, 3)
    result = per_use_gradients(model, x, total)
    total(model(x)).backward()
    assert [u.call_site for u in result["a.weight"].uses] == ["a", "b"]
    assert torch.allclose(result["a.weight"].total, model.a.weight.grad)

    block = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
    net = nn.Sequential(block, nn.ReLU(), block)
    result = per_use_gradients(net, x, total)
    assert [u.call_site for u in result["0.0.weight"].uses] == ["0.0", "2.0"]


def test_model_is_restored_even_when_forward_fails():
    net = shared_net()
    shared, weight = net[2], net[2].weight
    params = list(net.parameters())
    with pytest.raises(RunError, match=r"^Forward pass failed in '0': .*\.$"):
        per_use_gradients(net, torch.rand(2, 5), total)   # fails inside layer 0, once its call began
    assert net[2] is shared and net[4] is shared
    assert net[2]._parameters["weight"] is weight
    assert all(a is b for a, b in zip(net.parameters(), params, strict=True))
    assert all(type(p) is nn.Parameter for p in net.parameters())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())
    assert list(net.state_dict()) == list(shared_net().state_dict())


def test_no_shared_parameters_gives_empty_result_and_scalar_objective_required():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    assert per_use_gradients(net, torch.rand(3, 2), total) == {}
    with pytest.raises(RunError, match="single number"):
        per_use_gradients(shared_net(), torch.rand(3, 4), lambda out: out)


def test_explanation_is_one_paragraph_about_the_sum():
    assert "\n" not in WHY_SUM_EXPLANATION
    assert "sum" in WHY_SUM_EXPLANATION and "chain rule" in WHY_SUM_EXPLANATION


def test_a_term_on_the_weight_itself_belongs_to_no_call():
    """A penalty on the weight in the objective (weight decay) is no use of the layer: it adds to
    the total, while each call's part stays what the calls alone give."""
    net, x = shared_net(), torch.rand(5, 4)
    shared = net[2]
    plain = per_use_gradients(net, x, total)["2.weight"]
    penalized = per_use_gradients(net, x, lambda out: total(out) + (shared.weight ** 2).sum())["2.weight"]
    for with_penalty, without in zip(penalized.uses, plain.uses, strict=True):
        assert torch.allclose(with_penalty.grad, without.grad)
    assert torch.allclose(penalized.total, plain.total + 2 * shared.weight.detach())


def test_a_backward_that_fails_is_one_sentence():
    with pytest.raises(RunError, match=r"^Backward pass failed: .*\.$"):
        per_use_gradients(shared_net(), torch.rand(3, 4), lambda out: torch.tensor(1.0))   # no graph to go back


def test_a_call_past_every_slot_is_named_by_the_first_name():
    """User code may keep a layer in a plain list as well: a call through the list goes through
    none of the layer's names, so it gets its first name, not the one of the call before it."""
    class Direct(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)
            self.block = nn.Sequential(self.lin)     # the same layer, also named block.0
            self.plain = [self.lin]                  # a list: not a slot

        def forward(self, x):
            return self.plain[0](torch.tanh(self.block(x)))

    result = per_use_gradients(Direct(), torch.rand(2, 3), total)
    assert [u.call_site for u in result["lin.weight"].uses] == ["block.0", "lin"]
