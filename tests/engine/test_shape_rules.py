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

from netstudio.catalog import CATALOG, GENERATED, TensorSpec
from netstudio.catalog.block_spec import Role, ShapeError
from netstudio.catalog.shape_rules import pair

# Hand-written rules; the generated torch.nn blocks run torch itself on meta (test_torch_nn_catalog).
# Function blocks are tested by their own table (test_function_block.py): their results may be numbers or tuples.
RULED = sorted(name for name, spec in CATALOG.items()
               if spec.role is Role.LAYER and name not in GENERATED and name != "Function")
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


def _spatial(draw, kernel: int, padding: int, dilation: int = 1) -> int:
    """An image side the (dilated) kernel fits in once padded, up to a few windows more."""
    return max(1, dilation * (kernel - 1) + 1 - 2 * padding) + draw(st.integers(0, 5))


def _image(draw, channels: int, sides: list[int]) -> tuple[int, ...]:
    batch = draw(st.sampled_from([(), (1,), (2,)]))   # (C, H, W) or (N, C, H, W)
    return (*batch, channels, *sides)


def _fit_conv(draw, params, n_inputs):
    groups = draw(st.integers(1, 3))
    channels = groups * draw(st.integers(1, 2))
    params.update(groups=groups, out_channels=groups * draw(st.integers(1, 3)),
                  in_channels=draw(st.sampled_from([None, channels])))
    kernel, padding, dilation = (pair(params[k]) for k in ("kernel_size", "padding", "dilation"))
    return [_image(draw, channels, [_spatial(draw, kernel[i], padding[i], dilation[i]) for i in (0, 1)])]


def _fit_pool(draw, params, n_inputs):
    kernel = pair(params["kernel_size"])
    params["padding"] = [draw(st.integers(0, k // 2)) for k in kernel]   # torch allows at most half the kernel
    params["ceil_mode"] = draw(st.booleans())
    sides = [_spatial(draw, kernel[i], params["padding"][i]) for i in (0, 1)]
    return [_image(draw, draw(SMALL_DIM), sides)]


def _fit_batchnorm(ranks):
    def fit(draw, params, n_inputs):
        channels = params["num_features"] or draw(SMALL_DIM)
        rank = draw(st.sampled_from(ranks))
        return [(draw(st.integers(1, 3)), channels, *draw(st.lists(SMALL_DIM, min_size=rank - 2, max_size=rank - 2)))]
    return fit


def _fit_layernorm(draw, params, n_inputs):
    params["normalized_shape"] = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    return [(*draw(st.lists(SMALL_DIM, max_size=2)), *params["normalized_shape"])]


def _fit_linear(draw, params, n_inputs):
    features = params["in_features"] or draw(SMALL_DIM)
    return [(*draw(st.lists(SMALL_DIM, max_size=2)), features)]


def _fit_along_dim(draw, params, n_inputs):
    """Concat: equal shapes except along ``dim``, a dim the inputs have."""
    base = draw(st.lists(SMALL_DIM, min_size=1, max_size=4))
    params["dim"] = draw(st.integers(-len(base), len(base) - 1))
    shapes = []
    for _ in range(n_inputs):
        shape = list(base)
        shape[params["dim"]] = draw(SMALL_DIM)
        shapes.append(tuple(shape))
    return shapes


def _fit_dims(*names):
    """Flatten, Softmax, Mean, Sum: dims the input has (Flatten's sometimes out of order)."""
    def fit(draw, params, n_inputs):
        shape = tuple(draw(st.lists(SMALL_DIM, min_size=1, max_size=4)))
        for name in names:
            if params.get(name) is not None or name in ("start_dim", "end_dim"):
                params[name] = draw(st.integers(-len(shape), len(shape) - 1))
        return [shape]
    return fit


def _fit_matmul(draw, params, n_inputs):
    m, k, n, b = (draw(SMALL_DIM) for _ in range(4))
    return draw(st.sampled_from([[(k,), (k,)], [(m, k), (k,)], [(k,), (k, n)], [(m, k), (k, n)],
                                 [(b, m, k), (k, n)], [(b, m, k), (b, k, n)], [(m, k), (b, k, n)]]))


def _fit_same(draw, params, n_inputs):
    """Elementwise blocks: one shape, or shapes that broadcast."""
    shape = draw(st.lists(SMALL_DIM, min_size=1, max_size=4))
    shapes = [tuple(shape)]
    for _ in range(n_inputs - 1):
        other = [1 if draw(st.booleans()) else s for s in shape]
        shapes.append(tuple(other[draw(st.integers(0, len(other) - 1)):]))
    return shapes


# For each block, inputs (and the few parameters they depend on) that torch accepts, mostly: without
# them only about one Conv2d case in 60 reaches a comparison.  Blocks not listed take any shape.
FITTING = {
    "Conv2d": _fit_conv, "MaxPool2d": _fit_pool, "AvgPool2d": _fit_pool,
    "BatchNorm1d": _fit_batchnorm((2, 3)), "BatchNorm2d": _fit_batchnorm((4,)),
    "LayerNorm": _fit_layernorm, "Linear": _fit_linear, "Concat": _fit_along_dim, "MatMul": _fit_matmul,
    "Flatten": _fit_dims("start_dim", "end_dim"), "Softmax": _fit_dims("dim"),
    "Mean": _fit_dims("dim"), "Sum": _fit_dims("dim"), "Add": _fit_same, "Multiply": _fit_same,
}


@st.composite
def block_case(draw, type_name):
    """Parameters and input specs: three cases in four fit (see ``FITTING``), the rest are random
    shapes, mostly ones torch refuses, where the rule must refuse too."""
    spec = CATALOG[type_name]
    params = {p.name: draw(param_strategy(p)) for p in spec.params}
    ports = spec.input_ports(params)
    # Float inputs, as networks take; integer indices for Embedding.
    dtype = torch.int64 if type_name == "Embedding" else torch.float32
    if type_name in FITTING and draw(st.integers(0, 3)) < 3:
        shapes = FITTING[type_name](draw, params, len(ports))
        return params, [TensorSpec(tuple(shape), dtype) for shape in shapes]
    rank = draw(st.integers(1, 4))
    base_shape = draw(st.lists(SMALL_DIM, min_size=rank, max_size=rank))
    ins = []
    for _ in ports:
        shape = list(base_shape)
        if draw(st.booleans()) and shape:  # sometimes disagree with the first input
            shape[draw(st.integers(0, len(shape) - 1))] = draw(SMALL_DIM)
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


@pytest.mark.parametrize("type_name", ["MaxPool2d", "AvgPool2d"])
def test_pool_rules_match_torch_on_every_small_window(type_name):
    """Every small size, kernel, stride and padding, both roundings: with ``ceil_mode`` a last
    window that would start in the right padding is dropped, and the rule must drop it too."""
    spec = CATALOG[type_name]
    corrected = 0
    for size in range(1, 9):
        for kernel in range(1, 5):
            for stride in range(1, 5):
                for padding in range(kernel // 2 + 1):
                    if size + 2 * padding < kernel:
                        continue
                    for ceil_mode in (False, True):
                        params = {"kernel_size": [kernel], "stride": [stride], "padding": [padding],
                                  "ceil_mode": ceil_mode}
                        ins = [TensorSpec((1, size, size), torch.float32)]
                        torch_out, _ = run_torch(spec, params, ins, "meta")
                        assert spec.infer(params, ins) == torch_out, params
                        span = -(-(size + 2 * padding - kernel) // stride)
                        corrected += ceil_mode and span * stride >= size + padding
    assert corrected > 20   # the grid does reach the correction
