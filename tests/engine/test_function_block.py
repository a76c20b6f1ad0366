"""The Function block: every allow-listed function runs through bind_call on CPU tensors and on the
meta device, and shape inference says exactly what the real call gives.  Hostile calls from a file
are in test_function_block_hostile."""

from __future__ import annotations

import inspect
import math
import operator

import pytest
import torch
from torch import fx

from netstudio.catalog import functions
from netstudio.catalog.block_spec import ShapeError
from netstudio.catalog.call_json import CallError, input_ports, output_ports
from netstudio.catalog.function_table import KEYS
from netstudio.catalog.functions import add_to_graph, bind_call, describe_call, function_outputs, make_module
from netstudio.catalog.op_modules import OP_MODULES, FunctionModule
from netstudio.catalog.tensor_spec import TensorSpec

X = {"port": "x"}


def port(name: str) -> dict:
    return {"port": name}


def P(key: str, *args, **kwargs) -> dict:
    return {"function": key, "call": {"args": list(args), "kwargs": kwargs}}


def _x():
    return torch.rand(2, 3, 4) + 0.1       # positive, so log, sqrt and rsqrt are finite


def _a():
    return torch.randn(2, 3)


def _b():
    return torch.randn(2, 3)


def _mask():
    return torch.rand(2, 3, 4) > 0.5


def _img():
    return torch.randn(2, 3, 6, 5)


def _sq():
    return torch.randn(2, 1, 3)


COLON = {"slice": [None, None, None]}

# (key, params, inputs: port -> a function making the value).  Every key of the table appears.
CASES = [
    ("torch.reshape", P("torch.reshape", X, [2, -1]), {"x": _x}),
    ("torch.flatten", P("torch.flatten", X, 1), {"x": _x}),
    ("torch.permute", P("torch.permute", X, [2, 0, 1]), {"x": _x}),
    ("torch.transpose", P("torch.transpose", X, 0, 1), {"x": _x}),
    ("torch.squeeze", P("torch.squeeze", X, 1), {"x": _sq}),
    ("torch.unsqueeze", P("torch.unsqueeze", X, 0), {"x": _x}),
    ("torch.chunk", P("torch.chunk", X, 2, 2), {"x": _x}),
    ("torch.split", P("torch.split", X, [1, 2], 1), {"x": _x}),
    ("torch.cat", P("torch.cat", [port("a"), port("b")], 1), {"a": _a, "b": _b}),
    ("torch.stack", P("torch.stack", [port("a"), port("b")], dim=0), {"a": _a, "b": _b}),
    ("Tensor.view", P("Tensor.view", X, port("n"), -1), {"x": _x, "n": lambda: 2}),
    ("Tensor.reshape", P("Tensor.reshape", X, 4, 6), {"x": _x}),
    ("Tensor.flatten", P("Tensor.flatten", X, 0, 1), {"x": _x}),
    ("Tensor.permute", P("Tensor.permute", X, 2, 0, 1), {"x": _x}),
    ("Tensor.transpose", P("Tensor.transpose", X, -1, -2), {"x": _x}),
    ("Tensor.squeeze", P("Tensor.squeeze", X), {"x": _sq}),
    ("Tensor.unsqueeze", P("Tensor.unsqueeze", X, -1), {"x": _x}),
    ("Tensor.contiguous", P("Tensor.contiguous", X), {"x": lambda: _x().transpose(0, 2)}),
    ("Tensor.chunk", P("Tensor.chunk", X, 2, dim=-1), {"x": _x}),
    ("Tensor.split", P("Tensor.split", X, [3, 1], -1), {"x": _x}),
    ("Tensor.expand", P("Tensor.expand", X, 2, 5, 3), {"x": _sq}),
    ("Tensor.expand_as", P("Tensor.expand_as", X, port("y")), {"x": _sq, "y": lambda: torch.zeros(2, 5, 3)}),
    ("Tensor.repeat", P("Tensor.repeat", X, 1, 2, 1), {"x": _x}),
    ("Tensor.masked_fill", P("Tensor.masked_fill", X, port("m"), -math.inf), {"x": _x, "m": _mask}),
    ("Tensor.size", P("Tensor.size", X, 1), {"x": _x}),
    ("Tensor.dim", P("Tensor.dim", X), {"x": _x}),
    ("Tensor.to", P("Tensor.to", X, "float64"), {"x": _x}),
    ("Tensor.type_as", P("Tensor.type_as", port("i"), X), {"i": lambda: torch.arange(6), "x": _x}),
    ("Tensor.mean", P("Tensor.mean", X, -1, keepdim=True), {"x": _x}),
    ("Tensor.sum", P("Tensor.sum", X, dim=1), {"x": _x}),
    ("Tensor.max", P("Tensor.max", X, -1), {"x": _x}),
    ("Tensor.softmax", P("Tensor.softmax", X, -1), {"x": _x}),
    ("torch.add", P("torch.add", port("a"), port("b"), alpha=2), {"a": _a, "b": _b}),
    ("torch.sub", P("torch.sub", port("a"), 1.5), {"a": _a}),
    ("torch.mul", P("torch.mul", port("a"), port("b")), {"a": _a, "b": _b}),
    ("torch.div", P("torch.div", port("a"), port("b"), rounding_mode="floor"), {"a": _a, "b": _b}),
    ("torch.pow", P("torch.pow", X, 2), {"x": _x}),
    *((f"torch.{name}", P(f"torch.{name}", X), {"x": _x})
      for name in ("neg", "exp", "log", "sqrt", "rsqrt", "abs", "tanh", "sigmoid", "relu")),
    *((f"torch.{name}", P(f"torch.{name}", port("a"), port("b")), {"a": _a, "b": _b})
      for name in ("eq", "ne", "lt", "le", "gt", "ge")),
    ("torch.where", P("torch.where", port("m"), X, 0.0), {"m": _mask, "x": _x}),
    ("torch.masked_fill", P("torch.masked_fill", X, port("m"), 0.0), {"x": _x, "m": _mask}),
    ("torch.softmax", P("torch.softmax", X, -1), {"x": _x}),
    ("torch.log_softmax", P("torch.log_softmax", X, 1, dtype="float64"), {"x": _x}),
    ("torch.max", P("torch.max", X, 1, True), {"x": _x}),
    ("torch.min", P("torch.min", X, dim=0), {"x": _x}),
    ("torch.argmax", P("torch.argmax", X, -1), {"x": _x}),
    ("torch.mean", P("torch.mean", X, [1, 2]), {"x": _x}),
    ("torch.sum", P("torch.sum", X, dtype="float64"), {"x": _x}),
    ("torch.matmul", P("torch.matmul", port("a"), port("m")), {"a": _a, "m": lambda: torch.randn(3, 5)}),
    ("torch.bmm", P("torch.bmm", X, port("w")), {"x": _x, "w": lambda: torch.randn(2, 4, 5)}),
    ("torch.einsum", P("torch.einsum", "bij,bjk->bik", X, port("w")), {"x": _x, "w": lambda: torch.randn(2, 4, 5)}),
    ("torch.arange", P("torch.arange", port("n"), device={"device_of": "x"}), {"n": lambda: 4, "x": _x}),
    ("torch.ones_like", P("torch.ones_like", X, dtype="int64"), {"x": _x}),
    ("torch.zeros_like", P("torch.zeros_like", X), {"x": _x}),
    ("torch.full_like", P("torch.full_like", X, 7.0), {"x": _x}),
    ("F.relu", P("F.relu", X), {"x": _x}),
    ("F.gelu", P("F.gelu", X, approximate="tanh"), {"x": _x}),
    ("F.silu", P("F.silu", X), {"x": _x}),
    ("F.softmax", P("F.softmax", X, dim=-1), {"x": _x}),
    ("F.log_softmax", P("F.log_softmax", X, 1), {"x": _x}),
    ("F.one_hot", P("F.one_hot", port("i"), 5), {"i": lambda: torch.tensor([[0, 4], [2, 1]])}),
    ("F.scaled_dot_product_attention",
     P("F.scaled_dot_product_attention", port("q"), port("k"), port("v"), is_causal=True),
     {"q": lambda: torch.randn(2, 3, 8), "k": lambda: torch.randn(2, 3, 8), "v": lambda: torch.randn(2, 3, 6)}),
    ("F.dropout", P("F.dropout", X, 0.5, False), {"x": _x}),
    ("F.layer_norm", P("F.layer_norm", X, [4], port("w"), port("b"), 1e-5),
     {"x": _x, "w": lambda: torch.ones(4), "b": lambda: torch.zeros(4)}),
    ("F.adaptive_avg_pool1d", P("F.adaptive_avg_pool1d", X, 2), {"x": _x}),
    ("F.adaptive_avg_pool2d", P("F.adaptive_avg_pool2d", X, [1, 1]), {"x": _img}),
    ("F.adaptive_max_pool2d", P("F.adaptive_max_pool2d", X, 2), {"x": _img}),
    ("F.avg_pool2d", P("F.avg_pool2d", X, 2, 2, 0, True), {"x": _img}),
    ("F.max_pool2d", P("F.max_pool2d", X, 3, 2, 1), {"x": _img}),
    ("F.interpolate", P("F.interpolate", X, None, 2.0, "nearest"), {"x": _img}),
    ("F.pad", P("F.pad", X, [1, 2], "constant", 0.5), {"x": _x}),
    ("F.normalize", P("F.normalize", X, 2.0, 1), {"x": _x}),
    ("F.sigmoid", P("F.sigmoid", X), {"x": _x}),
    ("F.tanh", P("F.tanh", X), {"x": _x}),
    ("F.relu6", P("F.relu6", X), {"x": _a}),
    ("F.hardtanh", P("F.hardtanh", X, -0.5, 0.5), {"x": _a}),
    ("F.hardswish", P("F.hardswish", X), {"x": _a}),
    ("F.hardsigmoid", P("F.hardsigmoid", X), {"x": _a}),
    ("F.leaky_relu", P("F.leaky_relu", X, 0.2), {"x": _a}),
    ("F.elu", P("F.elu", X, 0.5), {"x": _a}),
    *((f"operator.{fn.__name__}", P(f"operator.{fn.__name__}", port("a"), port("b")),
       {"a": lambda: torch.rand(2, 3) + 1, "b": lambda: torch.rand(2, 3) + 1})
      for fn in (operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.pow,
                 operator.mod, operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge)),
    ("operator.matmul", P("operator.matmul", port("a"), port("m")), {"a": _a, "m": lambda: torch.randn(3, 5)}),
    ("operator.neg", P("operator.neg", X), {"x": _x}),
    ("operator.getitem", P("operator.getitem", X, {"tuple": [COLON, 0]}), {"x": _x}),
]

# More forms of the same functions: indexing, numbers between nodes, other overloads.
EXTRA = [
    ("x[..., None]", P("operator.getitem", X, {"tuple": [{"ellipsis": True}, None]}), {"x": _x}),
    ("P[:, :n]", P("operator.getitem", port("P"), {"tuple": [COLON, {"slice": [None, port("n"), None]}]}),
     {"P": lambda: torch.randn(3, 10), "n": lambda: 4}),
    ("x[0]", P("operator.getitem", X, 0), {"x": _x}),
    ("x[1:3:1]", P("operator.getitem", X, {"tuple": [COLON, {"slice": [1, 3, 1]}]}), {"x": _x}),
    ("x[[0, 1]]", P("operator.getitem", X, {"tuple": [COLON, [0, 2]]}), {"x": _x}),
    ("x[idx]", P("operator.getitem", X, port("idx")), {"x": _x, "idx": lambda: torch.tensor([1, 0, 1])}),
    ("n * 2", P("operator.mul", port("n"), 2), {"n": lambda: 3}),
    ("n // 2", P("operator.floordiv", port("n"), 2), {"n": lambda: 7}),
    ("n / 2", P("operator.truediv", port("n"), 2), {"n": lambda: 7}),
    ("n == 3", P("operator.eq", port("n"), 3), {"n": lambda: 3}),
    ("-n", P("operator.neg", port("n")), {"n": lambda: 3}),
    ("max all", P("torch.max", X), {"x": _x}),
    ("max of two", P("torch.max", port("a"), port("b")), {"a": _a, "b": _b}),
    ("max other=", P("torch.max", port("a"), other=port("b")), {"a": _a, "b": _b}),
    ("arange dtype", P("torch.arange", 0, 10, 2, dtype="int64"), {}),
    ("dropout training", P("F.dropout", X, p=0.25, training=True), {"x": _x}),
    ("einsum list", P("torch.einsum", "ij,jk->ik", [port("a"), port("m")]), {"a": _a, "m": lambda: torch.randn(3, 5)}),
    ("x.size(0) as kw", P("Tensor.size", X, dim=0), {"x": _x}),
    ("sdpa mask", P("F.scaled_dot_product_attention", port("q"), port("q"), port("q"), port("mask")),
     {"q": lambda: torch.randn(2, 3, 8), "mask": lambda: torch.ones(3, 3, dtype=torch.bool).tril()}),
]


def spec_of(value) -> TensorSpec:
    return TensorSpec.of(value) if isinstance(value, torch.Tensor) else TensorSpec.number(value)


def run_case(params, makers):
    torch.manual_seed(0)
    values = {name: make() for name, make in makers.items()}
    ports = input_ports(params)
    assert set(ports) == set(values), ports
    specs = [spec_of(values[p]) for p in ports]
    fn, args, kwargs = bind_call(params, values)
    real = fn(*args, **kwargs)
    names = output_ports(params)
    expected = {names[0]: spec_of(real)} if len(names) == 1 else \
        {name: TensorSpec.of(r) for name, r in zip(names, real, strict=True)}
    assert function_outputs(params, specs) == expected
    assert functions.infer(params, specs) == next(iter(expected.values()))
    # The same call on the meta device gives the same shapes and dtypes.
    fn, args, kwargs = bind_call(params, {p: s.meta() for p, s in zip(ports, specs)})
    with torch.device("meta"):
        meta = fn(*args, **kwargs)
    got = [meta] if len(names) == 1 else list(meta)
    assert [spec_of(g) for g in got] == list(expected.values())
    return real


def test_every_table_entry_has_a_case():
    assert {key for key, _, _ in CASES} == set(KEYS)
    assert len(KEYS) == len(set(KEYS)) >= 80


@pytest.mark.parametrize("key, params, makers", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_every_function_runs_and_inference_matches_the_real_result(key, params, makers):
    run_case(params, makers)


@pytest.mark.parametrize("name, params, makers", EXTRA, ids=[e[0] for e in EXTRA])
def test_more_forms_run_and_inference_matches(name, params, makers):
    run_case(params, makers)


def test_getitem_forms_index_like_python():
    x = torch.arange(24.0).reshape(2, 3, 4)
    cases = {
        "x[:, 0]": ({"tuple": [COLON, 0]}, x[:, 0]),
        "x[..., None]": ({"tuple": [{"ellipsis": True}, None]}, x[..., None]),
        "x[:, :2]": ({"tuple": [COLON, {"slice": [None, 2, None]}]}, x[:, :2]),
        "x[1:, ::2]": ({"tuple": [{"slice": [1, None, None]}, {"slice": [None, None, 2]}]}, x[1:, ::2]),
        "x[-1]": (-1, x[-1]),
        "x[0,]": ({"tuple": [0]}, x[0,]),
        "x[None]": (None, x[None]),
        "x[:, [0, 2]]": ({"tuple": [COLON, [0, 2]]}, x[:, [0, 2]]),
    }
    for text, (index, expected) in cases.items():
        params = P("operator.getitem", X, index)
        assert describe_call(params) == text
        fn, args, kwargs = bind_call(params, {"x": x})
        torch.testing.assert_close(fn(*args, **kwargs), expected)


def test_a_number_flows_from_size_into_view():
    size = P("Tensor.size", X, 0)
    view = P("Tensor.view", X, port("n"), -1)
    x_spec = TensorSpec((5, 3, 4))
    n_spec = function_outputs(size, [x_spec])["out"]
    assert n_spec == TensorSpec.number(5) and n_spec.value == 5 and n_spec.meta() == 5
    assert function_outputs(view, [x_spec, n_spec]) == {"out": TensorSpec((5, 12))}
    assert input_ports(view) == ("x", "n")
    # Compiled with torch.fx, the size is taken at each call: any batch size works.
    graph = fx.Graph()
    x = graph.placeholder("x")
    n = add_to_graph(graph, size, {"x": x}, name="n")
    out = add_to_graph(graph, view, {"x": x, "n": n}, name="flat")
    graph.output(out)
    module = fx.GraphModule(torch.nn.Module(), graph)
    assert "n = x.size(0)" in module.code and "flat = x.view(n, -1)" in module.code
    for batch in (1, 5, 7):
        assert module(torch.zeros(batch, 3, 4)).shape == (batch, 12)


def test_add_to_graph_writes_plain_python():
    graph = fx.Graph()
    x, m = graph.placeholder("x"), graph.placeholder("m")
    nodes = [
        add_to_graph(graph, P("operator.getitem", X, {"tuple": [COLON, 0]}), {"x": x}),
        add_to_graph(graph, P("torch.flatten", X, 1), {"x": x}),
        add_to_graph(graph, P("Tensor.masked_fill", X, port("m"), -math.inf), {"x": x, "m": m}),
        add_to_graph(graph, P("torch.arange", 4, device={"device_of": "x"}), {"x": x}),
        add_to_graph(graph, P("F.softmax", X, dim=-1), {"x": x}),
        add_to_graph(graph, P("operator.add", X, 1), {"x": x}),
    ]
    graph.output(tuple(nodes))
    code = fx.GraphModule(torch.nn.Module(), graph).code
    for text in ("x[(slice(None, None, None), 0)]", "torch.flatten(x, 1)", "x.masked_fill(m, -inf)",
                 "x.device", "torch.arange(4, device = ", "x + 1"):
        assert text in code, (text, code)


def test_max_along_a_dim_and_chunk_give_several_outputs():
    assert output_ports(P("torch.max", X, 1)) == ("values", "indices")
    assert output_ports(P("torch.max", X, dim=1)) == ("values", "indices")
    assert output_ports(P("torch.max", X)) == ("out",)
    assert output_ports(P("torch.max", X, port("y"))) == ("out",)
    assert output_ports(P("torch.chunk", X, 3)) == ("out0", "out1", "out2")
    assert output_ports(P("torch.split", X, [1, 1, 2, 3], 1)) == ("out0", "out1", "out2", "out3")
    assert output_ports(P("torch.flatten", X)) == ("out",)
    # torch.chunk gives fewer pieces than asked when they do not divide evenly: said, not hidden.
    with pytest.raises(ShapeError, match="gives 2 pieces here, not 3"):
        function_outputs(P("torch.chunk", X, 3, -1), [TensorSpec((2, 4))])
    with pytest.raises(ShapeError, match="split"):
        function_outputs(P("torch.split", X, [1, 1], 1), [TensorSpec((2, 4))])


DESCRIBED = {
    "x.view(n, -1)": P("Tensor.view", X, port("n"), -1),
    "x[:, 0]": P("operator.getitem", X, {"tuple": [COLON, 0]}),
    "P[:, :n]": P("operator.getitem", port("P"), {"tuple": [COLON, {"slice": [None, port("n"), None]}]}),
    "x[..., None]": P("operator.getitem", X, {"tuple": [{"ellipsis": True}, None]}),
    "torch.flatten(x, 1)": P("torch.flatten", X, 1),
    "a + b": P("operator.add", port("a"), port("b")),
    "a @ b": P("operator.matmul", port("a"), port("b")),
    "n // 2": P("operator.floordiv", port("n"), 2),
    "-x": P("operator.neg", X),
    "F.softmax(x, dim=-1)": P("F.softmax", X, dim=-1),
    "torch.cat([a, b], 1)": P("torch.cat", [port("a"), port("b")], 1),
    "x.masked_fill(m, float('-inf'))": P("Tensor.masked_fill", X, port("m"), -math.inf),
    "torch.einsum('ij,jk->ik', a, b)": P("torch.einsum", "ij,jk->ik", port("a"), port("b")),
    "torch.arange(n, device=x.device, dtype=torch.int64)":
        P("torch.arange", port("n"), device={"device_of": "x"}, dtype="int64"),
    "torch.div(a, b, rounding_mode='floor')": P("torch.div", port("a"), port("b"), rounding_mode="floor"),
    "x.contiguous()": P("Tensor.contiguous", X),
    "torch.Tensor.view(2.0, 1)": P("Tensor.view", 2.0, 1),
    "F.dropout(x, 0.1, False)": P("F.dropout", X, 0.1, False),
}


def test_describe_call_gives_readable_python():
    assert {describe_call(p): text for text, p in DESCRIBED.items()} == {t: t for t in DESCRIBED}
    assert functions.label({"function": "torch.flatten", "call": []}) == "torch.flatten"
    assert functions.label({"function": "torch.system"}) == "Function"


def test_sequential_module_and_its_export():
    from netstudio.export.constructors import base_namespace, build, constructor_call
    x = torch.randn(2, 3, 4)
    for params in (P("Tensor.view", X, 2, -1), P("operator.getitem", X, {"tuple": [COLON, 0]}),
                   P("Tensor.masked_fill", X, port("x"), -math.inf), P("F.gelu", X, approximate="tanh"),
                   P("torch.arange", 4, device={"device_of": "x"}), P("torch.cat", [X, X], -1)):
        module = make_module(params)
        fn, args, kwargs = bind_call(params, {"x": x > 0 if "masked" in params["function"] else x})
        if "masked" not in params["function"]:
            torch.testing.assert_close(module(x), fn(*args, **kwargs))
        source = constructor_call(module, base_namespace())
        rebuilt = build(source, base_namespace())
        assert isinstance(rebuilt, FunctionModule) and rebuilt.args == module.args, source
        # model.py holds a copy of the class's source and this call: they work without NetStudio.
        plain = {"torch": torch, "nn": torch.nn, "operator": operator, "F": torch.nn.functional}
        exec(inspect.getsource(FunctionModule), plain)  # noqa: S102 - our own source
        copy = eval(source, plain)  # noqa: S307
        assert type(copy) is not FunctionModule and repr(copy) == repr(module)
        if "masked" not in params["function"]:
            torch.testing.assert_close(copy(x), module(x))
    assert FunctionModule in OP_MODULES
    with pytest.raises(CallError, match="in a Sequential a Function takes one input"):
        make_module(P("operator.add", port("a"), port("b")))
    with pytest.raises(CallError, match="one output"):
        make_module(P("torch.max", X, 1))


def test_the_block_spec():
    spec = functions.FUNCTION
    defaults = spec.defaults()
    assert all(p.validate(defaults[p.name]) is None for p in spec.params)
    assert spec.input_ports({}) == ("x",) and spec.stateless
    x = torch.randn(2, 3, 4)
    fn, extra, kwargs, pack = spec.function(defaults)
    torch.testing.assert_close(fn(x, *extra, **kwargs), spec.make_module(defaults)(x))
    assert spec.infer(defaults, [TensorSpec((2, 3, 4))]) == TensorSpec((2, 12))
    max_call = spec.resolve(P("torch.max", X, 1))
    assert spec.infer_ports(max_call, [TensorSpec((2, 3))]) == {
        "values": TensorSpec((2,)), "indices": TensorSpec((2,), torch.int64)}
    assert spec.param("function").validate("torch.system") is not None
    with pytest.raises(CallError, match="add_to_graph"):
        spec.function(P("operator.sub", 1.0, X))   # the input is not first: only add_to_graph places it


def test_number_specs_keep_tensor_specs_unchanged():
    plain = TensorSpec((2, 3))
    assert plain == TensorSpec((2, 3), torch.float32) and plain.value is None and not plain.is_number
    assert str(plain) == "(2, 3)" and plain.meta().device.type == "meta"
    n = TensorSpec.number(4)
    assert (n.shape, n.dtype, n.value, str(n)) == ((), torch.int64, 4, "4")
    assert TensorSpec.number(True).dtype == torch.bool and TensorSpec.number(0.5).dtype == torch.float64
    assert n != TensorSpec((), torch.int64) and len({n, TensorSpec.number(4), plain}) == 2
    assert TensorSpec.number(0).meta() == 0 and TensorSpec.number(0).is_number
    with pytest.raises(TypeError):
        TensorSpec.number("4")


def test_shape_cache_is_bounded_and_hit():
    functions.clear_cache()
    params = P("torch.flatten", X)
    function_outputs(params, [TensorSpec((2, 3))])
    function_outputs(params, [TensorSpec((2, 3))])
    assert len(functions._cache) == 1
    for i in range(1, functions._CACHE_SIZE + 50):
        function_outputs(params, [TensorSpec((i,))])
    assert len(functions._cache) == functions._CACHE_SIZE
    # errors are cached as well, and raised again
    for _ in range(2):
        with pytest.raises(ShapeError, match="fails"):
            function_outputs(P("Tensor.view", X, 7), [TensorSpec((2, 3))])
