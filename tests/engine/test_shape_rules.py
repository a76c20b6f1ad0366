"""Every block's fast shape rule agrees with torch's own kernels.

For random hyperparameters and input shapes, the block is built and run on the
meta device, and (the inputs being tiny) on the CPU, whose kernels are stricter
about dtypes; the rule must give the same output shape, dtype and parameter
shapes when torch succeeds, and raise ShapeError when torch fails.
"""

from __future__ import annotations

import operator

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.catalog import CATALOG, TensorSpec
from netstudio.catalog.block_spec import Role, ShapeError

RULED = sorted(name for name, spec in CATALOG.items() if spec.role is Role.LAYER)
SMALL_DIM = st.integers(1, 6)


def param_strategy(p):
    if p.kind == "int":
        lo = int(p.minimum) if p.minimum is not None else -3
        hi = int(p.maximum) if p.maximum is not None else lo + 6
        base = st.integers(lo, min(hi, lo + 6))
    elif p.kind == "float":
        lo = p.minimum if p.minimum is not None else -2.0
        hi = p.maximum if p.maximum is not None else 2.0
        base = st.floats(lo, hi, allow_nan=False)
    elif p.kind == "bool":
        base = st.booleans()
    elif p.kind == "choice":
        base = st.sampled_from(p.choices)
    elif p.kind in ("ints", "shape"):
        lo = int(p.minimum) if p.minimum is not None else (0 if p.kind == "shape" else 1)
        n_lo, n_hi = p.length or (1, 3)
        base = st.lists(st.integers(lo, lo + 4), min_size=n_lo, max_size=min(n_hi, 3))
    else:
        return st.just(p.default)
    return st.one_of(st.none(), base) if p.optional else base


@st.composite
def block_case(draw, type_name):
    spec = CATALOG[type_name]
    params = {p.name: draw(param_strategy(p)) for p in spec.params}
    ports = spec.input_ports(params)
    rank = draw(st.integers(1, 4))
    base_shape = draw(st.lists(SMALL_DIM, min_size=rank, max_size=rank))
    ins = []
    for _ in ports:
        shape = list(base_shape)
        if draw(st.booleans()) and shape:  # sometimes disagree with the first input
            shape[draw(st.integers(0, len(shape) - 1))] = draw(SMALL_DIM)
        # Float inputs, as networks take; integer indices for Embedding.
        dtype = torch.int64 if type_name == "Embedding" else torch.float32
        ins.append(TensorSpec(tuple(shape), dtype))
    return params, ins


def run_torch(spec, params, ins, device):
    """What torch itself says: (output TensorSpec, param shapes), or it raises."""
    tensors = [torch.zeros(i.shape, dtype=i.dtype, device=device) for i in ins]
    with torch.device(device):
        if spec.make_module is not None:
            # Eval mode, where shapes are decided: a batch of one value per channel is a BatchNorm
            # *warning* (training needs more), and the rule must accept it as eval mode does.
            module = spec.make_module(params).eval()
            out = module(*tensors)
            return TensorSpec.of(out), {k: tuple(v.shape) for k, v in module.named_parameters()}
    fn, extra, kwargs, pack = spec.function(params)
    out = fn(list(tensors), *extra, **kwargs) if pack else fn(*tensors, *extra, **kwargs)
    return TensorSpec.of(out), {}


def run_on_meta_then_cpu(spec, params, ins):
    meta = run_torch(spec, params, ins, "meta")
    cpu = run_torch(spec, params, ins, "cpu")
    assert meta == cpu
    return cpu


@pytest.mark.parametrize("type_name", RULED)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rule_matches_meta_kernels(type_name, data):
    spec = CATALOG[type_name]
    params, ins = data.draw(block_case(type_name))
    problems = [p.validate(params[p.name]) for p in spec.params]
    if any(problems):
        return  # invalid values are diagnostics before any shape rule runs
    try:
        torch_out, torch_params = run_on_meta_then_cpu(spec, params, ins)
    except Exception as torch_err:
        with pytest.raises(ShapeError):
            spec.infer(params, ins)
            raise AssertionError(f"rule accepted what torch refused: {torch_err}")
        return
    out = spec.infer(params, ins)
    assert out == torch_out
    if spec.param_shapes is not None:
        assert spec.param_shapes(params, ins) == torch_params


def test_every_block_is_described_and_has_valid_defaults():
    for name, spec in CATALOG.items():
        assert spec.description.endswith(".") and spec.category and spec.icon
        for p in spec.params:
            assert p.validate(p.default) is None, (name, p.name)
        if spec.role is Role.LAYER:
            assert spec.infer is not None, name
            assert spec.make_module is not None or spec.function is not None, name


def test_function_form_equals_module_form():
    x = torch.randn(3, 4)
    for name, spec in CATALOG.items():
        if spec.role is not Role.LAYER or spec.function is None or spec.make_module is None:
            continue
        params = spec.defaults()
        if name == "Flatten":
            x_in = torch.randn(2, 3, 4)
        else:
            x_in = x
        fn, extra, kwargs, pack = spec.function(params)
        got = fn([x_in], *extra, **kwargs) if pack else fn(x_in, *extra, **kwargs)
        torch.testing.assert_close(got, spec.make_module(params)(x_in))
    assert CATALOG["Add"].function({})[0] is operator.add
