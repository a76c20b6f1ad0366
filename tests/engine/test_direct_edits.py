import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from netstudio.errors import NetStudioError
from netstudio.params.direct_edits import DirectEdit, apply_edits


def net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))


def test_set_one_element_like_the_seed():
    model = net()
    before = model[0].weight.detach().clone()
    DirectEdit("0.weight", "set", 42, (0, 0)).apply(model)
    expected = before.clone()
    expected[0, 0] = 42
    assert torch.equal(model[0].weight, expected)
    assert model[0].weight.is_leaf and model[0].weight.requires_grad


def test_add_multiply_and_fill():
    model = net()
    before = model[0].weight.detach().clone()
    DirectEdit("0.weight", "add", 1).apply(model)
    assert torch.equal(model[0].weight, before + 1)
    DirectEdit("0.weight", "mul", 2, (1,)).apply(model)
    assert torch.equal(model[0].weight[1], (before[1] + 1) * 2)
    assert torch.equal(model[0].weight[0], before[0] + 1)
    DirectEdit("2.bias", "fill", -3).apply(model)
    assert model[2].bias.tolist() == [-3.0]
    DirectEdit("0.weight", "set", 7, (-1, -1)).apply(model)
    assert model[0].weight[7, 3] == 7


def test_edit_of_tied_parameter_shows_at_every_use():
    shared = nn.Linear(8, 8)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
    DirectEdit("2.weight", "set", 100, (0, 0)).apply(model)
    assert model[4].weight[0, 0] == 100
    DirectEdit("4.weight", "set", 5, (0, 1)).apply(model)
    assert model[2].weight[0, 1] == 5


def one_sentence(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.endswith(".")
    return message


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (DirectEdit("0.weight", "set", 1, (8, 0)), "out of range for '0.weight' of shape (8, 4)"),
        (DirectEdit("0.weight", "set", 1, (0,)), "needs 2 indices"),
        (DirectEdit("0.weight", "add", 1, (0, 0, 0)), "out of range"),
        (DirectEdit("5.weight", "add", 1), "no parameter or buffer named '5.weight'"),
        (DirectEdit("0.nothing", "add", 1), "named '0.nothing'"),
        (DirectEdit("1.weight", "add", 1), "named '1.weight'"),
    ],
)
def test_bad_edits_name_the_parameter(edit, fragment):
    model = net()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(NetStudioError) as exc:
        edit.apply(model)
    assert fragment in one_sentence(exc)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_invalid_edits_are_rejected_when_created():
    for args in [
        ("0.weight", "set", 1.0, None),
        ("0.weight", "pow", 1.0, None),
        ("0.weight", "add", float("nan"), None),
        ("0.weight", "add", True, None),
        ("0.weight", "add", 1.0, (0.5,)),
        ("", "add", 1.0, None),
    ]:
        with pytest.raises(NetStudioError) as exc:
            DirectEdit(*args)
        one_sentence(exc)


def test_deferred_and_integer_tensors_give_one_sentence_errors():
    with pytest.raises(NetStudioError, match="not initialized yet") as exc:
        DirectEdit("0.weight", "add", 1).apply(nn.Sequential(nn.LazyLinear(3)))
    one_sentence(exc)
    with pytest.raises(NetStudioError, match="int64") as exc:
        DirectEdit("num_batches_tracked", "add", 0.5).apply(nn.BatchNorm1d(2))
    one_sentence(exc)


indices = st.none() | st.lists(st.integers(-4, 3), min_size=1, max_size=2).map(tuple)
edits = st.builds(
    DirectEdit,
    name=st.just("0.weight"),
    op=st.sampled_from(["add", "mul", "fill"]),
    value=st.floats(-100, 100, allow_nan=False),
    index=indices,
)


@settings(max_examples=50, deadline=None)
@given(st.lists(edits, max_size=5))
def test_recorded_edits_round_trip_and_replay_identically(recorded):
    restored = [DirectEdit.from_dict(e.to_dict()) for e in recorded]
    assert restored == recorded
    first, second = net(), net()
    apply_edits(first, recorded)
    apply_edits(second, restored)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))


def test_from_dict_rejects_malformed_data():
    for data in [{"name": "0.weight", "op": "add"}, {"name": "0.weight", "op": "add", "value": 1, "extra": 2}, []]:
        with pytest.raises(NetStudioError):
            DirectEdit.from_dict(data)
    with pytest.raises(NetStudioError, match="list of whole numbers"):
        DirectEdit.from_dict({"name": "0.weight", "op": "add", "value": 1, "index": "0"})
