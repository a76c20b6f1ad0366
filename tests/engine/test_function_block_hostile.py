"""Hostile Function calls from a file: every invalid call, and random JSON, is a one-sentence error of
the catalog (CallError or ShapeError), never anything else, and no file text reaches getattr."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.catalog.block_spec import ShapeError
from netstudio.catalog.call_json import CallError, call_problem, decode, input_ports, output_ports
from netstudio.catalog.function_table import FUNCTIONS, KEYS, lookup
from netstudio.catalog.functions import bind_call, describe_call, function_outputs, make_module
from netstudio.catalog.tensor_spec import TensorSpec

X = {"port": "x"}


def port(name: str) -> dict:
    return {"port": name}


def P(key: str, *args, **kwargs) -> dict:
    return {"function": key, "call": {"args": list(args), "kwargs": kwargs}}


def deep(n: int):
    value = 1
    for _ in range(n):
        value = [value]
    return value


HOSTILE = [
    ({"function": "torch.system", "call": {}}, "'torch.system' is not a function NetStudio can call"),
    ({"function": "__import__('os').system", "call": {}}, "is not a function NetStudio can call"),
    ({"function": "os.system"}, "is not a function"),
    ({"function": 123}, "an int is not a function"),
    ({"function": None}, "null is not a function"),
    ({"function": ["torch.add"]}, "a list of 1 values is not a function"),
    ({"function": "torch.flatten", "call": [X]}, "must be an object"),
    ({"function": "torch.flatten", "call": "x.view(2)"}, "must be an object"),
    ({"function": "torch.flatten", "call": {"args": [X], "code": "print(1)"}}, "unknown key 'code'"),
    ({"function": "torch.flatten", "call": {"args": X}}, "\"args\" of torch.flatten must be a list"),
    ({"function": "torch.flatten", "call": {"args": [X], "kwargs": [1]}}, "must be an object of named arguments"),
    (P("torch.flatten", X, 1, 2, 3), "at most 3 positional arguments, not 4"),
    (P("Tensor.view", X, *range(20)), "at most 16 positional arguments"),
    (P("torch.flatten", X, start=1), "has no keyword argument 'start'"),
    (P("torch.flatten", X, 1, start_dim=1), "both by position and by name"),
    (P("operator.add", X, 1, b=2), "has no keyword argument 'b' (it takes none)"),
    (P("torch.flatten", X, **{f"k{i}": 1 for i in range(17)}), "at most 16 keyword arguments"),
    (P("torch.permute", X, deep(12)), "nested more than 6 levels"),
    (P("torch.permute", X, list(range(65))), "at most 64 are allowed"),
    (P("Tensor.view", X, *[list(range(64))] * 15), "holds more than 512 values"),
    (P("torch.flatten", X, 2 ** 41), "beyond"),
    (P("torch.flatten", X, 10 ** 400), "about 10^400"),
    (P("torch.flatten", X, -(2 ** 62)), "beyond"),
    (P("torch.flatten", X, "1"), "argument 2 of torch.flatten is the text '1', but torch.flatten takes no text"),
    (P("torch.einsum", ["ij"], X), "takes text only as its 'equation'"),
    (P("torch.div", X, 2, rounding_mode="x" * 500), "at most 200"),
    (P("torch.div", X, 2, rounding_mode="\ud800"), "not valid Unicode"),
    (P("torch.sum", X, dtype="float8"), "not a dtype"),
    (P("torch.sum", X, dtype="torch.float32"), "not a dtype"),
    (P("torch.flatten", {"port": "1x"}), "'1x' is not a valid port name"),
    (P("torch.flatten", {"port": "a.b"}), "not a valid port name"),
    (P("torch.flatten", {"port": "self"}), "cannot name a port"),
    (P("torch.flatten", {"port": "torch"}), "cannot name a port"),
    (P("torch.flatten", {"port": "__x"}), "cannot name a port"),
    (P("torch.flatten", {"port": "for"}), "cannot name a port"),
    (P("torch.flatten", {"port": ""}), "cannot be empty"),
    (P("torch.flatten", {"port": 5}), "must be text, not an int"),
    (P("torch.flatten", {"port": "x" * 300}), "at most 200 characters"),
    (P("torch.flatten", {"port": "ｘ"}), "not a valid port name"),
    (P("torch.flatten", {"port": "a\nb"}), "not a valid port name"),
    (P("torch.flatten", {"port": ["x"]}), "must be text"),
    (P("F.dropout", X, 0.5, port("t")), "cannot come from a port"),
    (P("torch.chunk", X, port("n")), "cannot come from a port"),
    (P("torch.einsum", port("eq"), X), "cannot come from a port"),
    (P("torch.flatten", X, {"slice": [1, 2, None]}), "only the index of operator.getitem"),
    (P("operator.getitem", X, {"slice": [1, 2]}), "must be a slice as [start, stop, step]"),
    (P("operator.getitem", X, {"slice": "1:2"}), "must be a slice"),
    (P("operator.getitem", X, {"slice": [1.5, None, None]}), "start must be a whole number"),
    (P("operator.getitem", X, {"slice": [{"device_of": "x"}, None, None]}), "start must be a whole number"),
    (P("operator.getitem", X, {"ellipsis": False}), "must be {\"ellipsis\": true}"),
    (P("operator.getitem", X, {"tuple": 3}), "must hold a list"),
    (P("operator.getitem", X, {"tuple": list(range(70))}), "at most 64"),
    (P("torch.flatten", {"port": "x", "slice": 1}), "an object with one key"),
    (P("torch.flatten", {"eval": "1+1"}), "the key 'eval'"),
    (P("torch.flatten", {}), "an object with one key"),
    (P("torch.flatten", {1: 2}), "whose key is an int"),
    (P("torch.flatten", X, {1, 2}), "a set, which a call cannot hold"),
    (P("torch.flatten", X, b"1"), "a bytes, which a call cannot hold"),
    (P("torch.flatten", X, object()), "an object, which a call cannot hold"),
    (P("torch.chunk", X), "needs its number of chunks"),
    (P("torch.chunk", X, 0), "needs its number of chunks"),
    (P("torch.chunk", X, 65), "needs its number of chunks"),
    (P("torch.split", X, 2), "needs a list of sizes"),
    (P("operator.mul", [1], 2 ** 40), "not a list"),
]


@pytest.mark.parametrize("params, expected", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_calls_are_one_sentence_catalog_errors(params, expected):
    with pytest.raises(CallError) as caught:
        decode(params)
    message = str(caught.value)
    assert expected in message, message
    assert isinstance(caught.value, ShapeError)
    assert "\n" not in message and len(message) < 300 and not message.endswith(".")
    assert call_problem(params) == message
    assert input_ports(params) == () and output_ports(params) == ("out",)
    for run in (lambda: bind_call(params, {"x": torch.zeros(2)}), lambda: describe_call(params),
                lambda: function_outputs(params, [TensorSpec((2, 3))]), lambda: make_module(params)):
        with pytest.raises(CallError):
            run()


def test_refusals_at_binding_and_inference_are_one_sentence():
    view = P("Tensor.view", X, port("n"), -1)
    with pytest.raises(CallError, match="no value for its port 'n'"):
        bind_call(view, {"x": torch.zeros(4)})
    with pytest.raises(ShapeError, match=r"takes 2 inputs \(x, n\), receives 1"):
        function_outputs(view, [TensorSpec((4,))])
    cases = [
        (P("Tensor.view", X, 7), [TensorSpec((2, 3))], "x.view(7) fails: shape '[7]' is invalid"),
        (P("torch.flatten", X, 9), [TensorSpec((2, 3))], "torch.flatten(x, 9) fails"),
        (P("operator.getitem", X, port("m")), [TensorSpec((2, 3)), TensorSpec((2, 3), torch.bool)], "x[m] fails"),
        (P("Tensor.size", X), [TensorSpec((2, 3))], "gives the whole size"),
        (P("operator.pow", port("n"), port("n")), [TensorSpec.number(2 ** 40)] * 1, "too large"),
        (P("operator.mul", port("n"), port("n")), [TensorSpec.number(2 ** 40)], "beyond"),
        (P("operator.truediv", port("n"), 0), [TensorSpec.number(3)], "fails: division by zero"),
        (P("torch.arange", {"device_of": "n"}), [TensorSpec.number(3)], "device_of needs a tensor"),
        (P("torch.matmul", X, port("y")), [TensorSpec((2, 3)), TensorSpec((4, 5))], "fails"),
        (P("torch.flatten", X, 1.5), [TensorSpec((2, 3))], "argument 'start_dim' (position 2) must be int"),
        (P("torch.sum", X, 1.5), [TensorSpec((2, 3))],
         "torch.sum(x, 1.5) fails: it does not accept arguments (Tensor, float)"),
        (P("F.one_hot", X, 3), [TensorSpec((4,), torch.int64)], None),
    ]
    for params, ins, expected in cases:
        if expected is None:
            function_outputs(params, ins)
            continue
        with pytest.raises(ShapeError) as caught:
            function_outputs(params, ins)
        message = str(caught.value)
        assert expected in message, message
        assert "\n" not in message and len(message) < 320, message


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 45, 2 ** 45) | st.floats() | st.text(max_size=8)
    | st.sampled_from(["x", "y", "ij,jk->ik", "int64", "floor"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["port", "slice", "tuple", "ellipsis", "device_of", "other", "dim"]), inner, max_size=2),
    max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS + ("torch.system",)), args=st.lists(JSON, max_size=4),
       kwargs=st.dictionaries(st.sampled_from(["dim", "dtype", "other", "keepdim", "x"]), JSON, max_size=2),
       shapes=st.lists(st.lists(st.integers(1, 4), max_size=3), min_size=4, max_size=4))
def test_random_calls_give_only_catalog_errors(key, args, kwargs, shapes):
    params = {"function": key, "call": {"args": args, "kwargs": kwargs}}
    try:
        ports = decode(params).ports
    except CallError as err:
        assert "\n" not in str(err)
        return
    describe_call(params)
    ins = [TensorSpec(tuple(s)) for s in (shapes * 5)[:len(ports)]]
    try:
        function_outputs(params, ins)
    except ShapeError as err:
        assert "\n" not in str(err) and len(str(err)) < 400


def test_table_lookup_never_reaches_getattr_on_file_text():
    assert lookup("torch.flatten").fn is torch.flatten
    assert lookup("Tensor.view").method == "view" and lookup("torch.flatten").method is None
    for text in ("torch.load", "torch.Tensor.view", "getattr", "F.__dict__", "torch.flatten ", 3, None):
        assert lookup(text) is None
    for entry in FUNCTIONS.values():
        assert callable(entry.fn), entry.key
