"""The Parameter block: a learnable tensor with a shape, a float dtype, a first value and a
requires_grad flag, registered under its node's name the way the compiler will register it."""

from __future__ import annotations

import pytest
import torch
from torch import fx, nn

from netstudio.catalog.params import MAX_DIM
from netstudio.catalog.parameter_block import (FLOAT_DTYPES, INITS, NORMAL_STD, PARAMETER, make_parameter,
                                               parameter_source, parameter_value)
from netstudio.catalog.tensor_spec import DTYPES, TensorSpec


def params(**changes) -> dict:
    return PARAMETER.resolve(changes)


def test_defaults_ports_and_inference():
    defaults = PARAMETER.defaults()
    assert all(p.validate(defaults[p.name]) is None for p in PARAMETER.params)
    assert PARAMETER.input_ports({}) == () and PARAMETER.outputs == ("out",)
    assert defaults["init"] == "zeros" and defaults["requires_grad"] is True
    p = params(shape=[1, 1, 8], dtype="float64")
    assert PARAMETER.infer(p, []) == TensorSpec((1, 1, 8), torch.float64)
    assert PARAMETER.param_shapes(p, []) == {"": (1, 1, 8)}
    assert PARAMETER.infer(params(shape=[]), []) == TensorSpec(())
    assert not PARAMETER.stateless and PARAMETER.make_module is None   # never a Sequential child


def test_only_float_dtypes_and_bounded_shapes():
    assert set(FLOAT_DTYPES) == {n for n, d in DTYPES.items() if d.is_floating_point}
    dtype, shape, init = (PARAMETER.param(n) for n in ("dtype", "shape", "init"))
    assert dtype.validate("int64") and dtype.validate("bool") and dtype.validate("float32") is None
    assert shape.validate([-1]) and shape.validate([MAX_DIM + 1]) and shape.validate([1] * 9)
    assert shape.validate([2, 3]) is None and shape.validate("2, 3")
    assert init.validate("randn") and set(INITS) == {"zeros", "ones", "normal", "uniform"}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("init", INITS)
def test_initial_values(init, dtype):
    p = params(shape=[64, 64], dtype=dtype, init=init)
    value = parameter_value(p, torch.Generator().manual_seed(1))
    assert value.shape == (64, 64) and value.dtype == DTYPES[dtype] and value.device.type == "cpu"
    v = value.double()
    if init == "zeros":
        assert (v == 0).all()
    elif init == "ones":
        assert (v == 1).all()
    elif init == "normal":
        assert abs(v.std().item() - NORMAL_STD) < 0.003 and abs(v.mean().item()) < 0.003
    else:
        assert v.min() >= 0 and v.max() <= 1 and abs(v.mean().item() - 0.5) < 0.05
    # The same seed gives the same values; every dtype starts from the same numbers.
    again = parameter_value(p, torch.Generator().manual_seed(1))
    assert torch.equal(value, again)
    as_float32 = parameter_value(params(shape=[64, 64], init=init), torch.Generator().manual_seed(1))
    assert torch.equal(value, as_float32.to(DTYPES[dtype]))


def test_meta_allocates_nothing():
    p = params(shape=[1 << 20, 1 << 20], init="normal")
    value = parameter_value(p, meta=True)
    assert value.device.type == "meta" and value.shape == (1 << 20, 1 << 20)
    assert make_parameter(p, meta=True).device.type == "meta"


@pytest.mark.parametrize("requires_grad", [True, False])
def test_make_parameter_and_its_source(requires_grad):
    p = params(shape=[1, 1, 4], dtype="float64", init="ones", requires_grad=requires_grad)
    param = make_parameter(p)
    assert isinstance(param, nn.Parameter) and param.requires_grad is requires_grad
    source = parameter_source(p)
    rebuilt = eval(source, {"torch": torch, "nn": nn})  # noqa: S307 - our own text
    assert isinstance(rebuilt, nn.Parameter)
    assert (rebuilt.shape, rebuilt.dtype, rebuilt.requires_grad) == (param.shape, param.dtype, requires_grad)
    assert parameter_source(params(shape=[2])) == "nn.Parameter(torch.zeros((2,)))"


def test_registered_under_the_node_name_and_read_with_get_attr():
    """What the compiler does with it: register_parameter(node.name, ...), get_attr in the fx graph."""
    root = nn.Module()
    p = params(shape=[1, 3], init="normal")
    root.register_parameter("cls_token", make_parameter(p, torch.Generator().manual_seed(0)))
    graph = fx.Graph()
    x = graph.placeholder("x")
    token = graph.get_attr("cls_token")
    graph.output(graph.call_function(torch.add, (x, token)))
    module = fx.GraphModule(root, graph)
    assert list(module.state_dict()) == ["cls_token"] and "self.cls_token" in module.code
    out = module(torch.zeros(2, 3))
    out.sum().backward()
    torch.testing.assert_close(module.cls_token.grad, torch.full((1, 3), 2.0))
    assert [n for n, _ in module.named_parameters()] == ["cls_token"]
