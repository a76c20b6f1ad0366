"""The Function block: one call of an allow-listed torch, Tensor or operator function.

A node holds the function's key (see :mod:`.function_table`) and its call as
JSON, which :mod:`.call_json` decodes and bounds (the format is described
there); ``{"port": "x"}`` names an input of the node.

One decoded call serves everything: :func:`bind_call` puts values in place of
the ports (tensors, meta tensors or torch.fx nodes), shape inference runs it on
the meta device, :func:`add_to_graph` writes it into a generated forward, and
:func:`describe_call` writes it as Python (``x.view(n, -1)``, ``x[:, 0]``).
"""

from __future__ import annotations

import math
import operator
import threading
from collections import OrderedDict
from typing import Any, Callable, Mapping

import torch

from .block_spec import BlockSpec, FunctionCall, ShapeError
from .call_json import (Call, CallError, Const, DeviceOf, Ellipsis_, List_, Port, Slice, Tuple_, call_problem,
                            decode, input_ports, kind_of, output_ports, short_number)
from .function_table import BINARY, FUNCTIONS, KEYS, UNARY
from .op_modules import FunctionModule
from .params import MAX_DIM, ParamSpec
from .tensor_spec import TensorSpec

TYPE_NAME = "Function"
_CACHE_SIZE = 1024       # shape results kept; a file cannot grow the cache without bound


# -- binding --------------------------------------------------------------------------------------
def _bind(value: Any, values: Mapping[str, Any], device_of: Callable[[Any], Any]) -> Any:
    if isinstance(value, Const):
        return value.value
    if isinstance(value, Port):
        return _lookup(values, value.name)
    if isinstance(value, DeviceOf):
        return device_of(_lookup(values, value.name))
    if isinstance(value, List_):
        return [_bind(v, values, device_of) for v in value.items]
    if isinstance(value, Tuple_):
        return tuple(_bind(v, values, device_of) for v in value.items)
    if isinstance(value, Slice):
        return slice(*(_bind(v, values, device_of) for v in (value.start, value.stop, value.step)))
    if isinstance(value, Ellipsis_):
        return Ellipsis
    raise CallError(f"the call holds {kind_of(value)}")   # pragma: no cover - decode makes only the above


def _lookup(values: Mapping[str, Any], name: str) -> Any:
    try:
        return values[name]
    except KeyError:
        raise CallError(f"the call has no value for its port {name!r}") from None


def _device(value: Any) -> Any:
    device = getattr(value, "device", None) if isinstance(value, torch.Tensor) else None
    if device is None:
        raise CallError(f"device_of needs a tensor, not {kind_of(value)}")
    return device


def _bound(call: Call, values: Mapping[str, Any], device_of: Callable[[Any], Any]) -> tuple[tuple, dict]:
    args = tuple(_bind(a, values, device_of) for a in call.args)
    kwargs = {k: _bind(v, values, device_of) for k, v in call.kwargs}
    return args, kwargs


def bind_call(params: Mapping[str, Any], values: Mapping[str, Any]) -> tuple[Callable, tuple, dict]:
    """The callable and its arguments with each port replaced by ``values[port]``.

    For a Tensor method the callable is the unbound method (``torch.Tensor.view``), called with the
    tensor first.  Raises CallError for an invalid call or a missing port."""
    call = decode(params)
    args, kwargs = _bound(call, values, _device)
    return call.entry.fn, args, kwargs


def add_to_graph(graph, params: Mapping[str, Any], values: Mapping[str, Any], name: str | None = None):
    """Add the call to a ``torch.fx.Graph`` with ``values`` (port → fx node) as its inputs; returns the
    node.  A Tensor method becomes ``call_method`` (``x.view(n, -1)`` in the generated forward), the
    rest ``call_function``; ``device_of`` becomes a ``getattr`` node (``x.device``)."""
    call = decode(params)

    def device_of(node):
        return graph.call_function(getattr, (node, "device"))

    args, kwargs = _bound(call, values, device_of)
    if call.entry.method is not None:
        return graph.create_node("call_method", call.entry.method, args, kwargs, name=name)
    return graph.create_node("call_function", call.entry.fn, args, kwargs, name=name)


# -- readable form --------------------------------------------------------------------------------
def _source(value: Any, index: bool = False) -> str:
    if isinstance(value, Const):
        v = value.value
        if isinstance(v, torch.dtype):
            return str(v)
        if isinstance(v, float) and not math.isfinite(v):
            return f"float('{v}')"
        return repr(v)
    if isinstance(value, Port):
        return value.name
    if isinstance(value, DeviceOf):
        return f"{value.name}.device"
    if isinstance(value, List_):
        return "[" + ", ".join(_source(v) for v in value.items) + "]"
    if isinstance(value, Slice):
        start, stop, step = ("" if isinstance(v, Const) and v.value is None else _source(v)
                             for v in (value.start, value.stop, value.step))
        return f"{start}:{stop}" + (f":{step}" if step else "")
    if isinstance(value, Ellipsis_):
        return "..."
    if isinstance(value, Tuple_):
        inner = ", ".join(_source(v, index=True) for v in value.items)
        if index:
            return inner + ("," if len(value.items) == 1 else "") if value.items else "()"
        return f"({inner},)" if len(value.items) == 1 else f"({inner})"
    return repr(value)   # pragma: no cover


def _describe(call: Call) -> str:
    entry = call.entry
    args = [_source(a) for a in call.args]
    if entry.fn is operator.getitem and len(call.args) == 2:
        return f"{args[0]}[{_source(call.args[1], index=True) if isinstance(call.args[1], Tuple_) else args[1]}]"
    if entry.fn in BINARY and len(args) == 2:
        return f"{args[0]} {BINARY[entry.fn]} {args[1]}"
    if entry.fn in UNARY and len(args) == 1:
        return f"{UNARY[entry.fn]}{args[0]}"
    arguments = args + [f"{k}={_source(v)}" for k, v in call.kwargs]
    if entry.method is not None and call.args and isinstance(call.args[0], Port):
        return f"{args[0]}.{entry.method}({', '.join(arguments[1:])})"
    prefix = "torch.Tensor." + entry.method if entry.method is not None else entry.key
    return f"{prefix}({', '.join(arguments)})"


def describe_call(params: Mapping[str, Any]) -> str:
    """The call as Python: ``x.view(n, -1)``, ``x[:, 0]``, ``torch.flatten(x, 1)``, ``a + b``.
    Raises CallError for an invalid call (see :func:`label`)."""
    return _describe(decode(params))


def label(params: Mapping[str, Any]) -> str:
    """``describe_call`` for a node's label, or the function's key when the call is invalid."""
    try:
        return describe_call(params)
    except CallError:
        key = params.get("function")
        return key if isinstance(key, str) and key in FUNCTIONS else TYPE_NAME


# -- shape inference ------------------------------------------------------------------------------
_cache: OrderedDict[tuple, tuple[tuple[str, TensorSpec], ...] | str] = OrderedDict()
_cache_lock = threading.Lock()


def function_outputs(params: Mapping[str, Any], ins: list[TensorSpec]) -> dict[str, TensorSpec]:
    """Each output port's spec, from running the call on meta tensors (numbers for number specs);
    ``ins`` follow :func:`input_ports`.  Raises ShapeError (CallError for the call itself)."""
    call = decode(params)
    if len(ins) != len(call.ports):
        raise ShapeError(f"{_describe(call)} takes {len(call.ports)} inputs ({', '.join(call.ports) or 'none'}), "
                         f"receives {len(ins)}")
    key = (call, tuple(ins))
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
    if hit is None:
        try:
            hit = tuple(_run_on_meta(call, ins).items())
        except ShapeError as err:
            hit = str(err)
        with _cache_lock:
            _cache[key] = hit
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    if isinstance(hit, str):
        raise ShapeError(hit)
    return dict(hit)


def infer(params: Mapping[str, Any], ins: list[TensorSpec]) -> TensorSpec:
    """The first output's spec (the only one for most calls); see :func:`function_outputs`."""
    return next(iter(function_outputs(params, ins).values()))


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _run_on_meta(call: Call, ins: list[TensorSpec]) -> dict[str, TensorSpec]:
    shown = _describe(call)
    values = {port: spec.meta() for port, spec in zip(call.ports, ins)}
    args, kwargs = _bound(call, values, _device)
    _refuse_huge_power(call, args, shown)
    try:
        with torch.device("meta"):   # new tensors (torch.arange(n)) cost nothing either
            result = call.entry.fn(*args, **kwargs)
    except CallError:
        raise
    except Exception as err:   # torch's own refusal, as one sentence
        raise ShapeError(f"{shown} fails: {_first_line(err)}") from None
    names = call.outputs
    if len(names) == 1:
        return {names[0]: _spec(result, shown)}
    if not isinstance(result, tuple) or any(not isinstance(r, torch.Tensor) for r in result):
        raise ShapeError(f"{shown} gives {kind_of(result)}, not {len(names)} tensors")
    if len(result) != len(names):
        raise ShapeError(f"{shown} gives {len(result)} pieces here, not {len(names)}")
    return {name: TensorSpec.of(r) for name, r in zip(names, result)}


def _spec(result: Any, shown: str) -> TensorSpec:
    if isinstance(result, torch.Tensor):
        return TensorSpec.of(result)
    if isinstance(result, torch.Size):
        raise ShapeError(f"{shown} gives the whole size, a tuple; ask for one dim, as in x.size(0)")
    if isinstance(result, (bool, float)):
        return TensorSpec.number(result)
    if isinstance(result, int):
        if abs(result) > MAX_DIM:
            raise ShapeError(f"{shown} gives the number {short_number(result)}, beyond ±{MAX_DIM:,}")
        return TensorSpec.number(int(result))
    raise ShapeError(f"{shown} gives {kind_of(result)}; a Function gives one tensor or number")


def _refuse_huge_power(call: Call, args: tuple, shown: str) -> None:
    """``n ** m`` on Python ints is exact, so 2**40 ** 2**40 would never finish: refuse big results."""
    if call.entry.fn is not operator.pow or len(args) != 2:
        return
    base, exponent = args
    if type(base) is int and type(exponent) is int and exponent > 0 and abs(base) > 1:
        if exponent * math.log2(abs(base)) > 64:
            raise ShapeError(f"{shown} is a number too large to compute")


# -- Sequential and the generic function form --------------------------------------------------------
def _marked(value: Any) -> Any:
    if isinstance(value, Port):
        return FunctionModule.Input()
    if isinstance(value, DeviceOf):
        return FunctionModule.Input("device")
    if isinstance(value, Const):
        return value.value
    if isinstance(value, List_):
        return [_marked(v) for v in value.items]
    if isinstance(value, Tuple_):
        return tuple(_marked(v) for v in value.items)
    if isinstance(value, Slice):
        return slice(_marked(value.start), _marked(value.stop), _marked(value.step))
    if isinstance(value, Ellipsis_):
        return Ellipsis
    raise CallError(f"the call holds {kind_of(value)}")   # pragma: no cover


def make_module(params: Mapping[str, Any]) -> FunctionModule:
    """The call as a module, for a Sequential: only a call with exactly one port and one output."""
    call = decode(params)
    if len(call.ports) != 1 or len(call.outputs) != 1:
        raise CallError(f"{_describe(call)} takes {len(call.ports)} inputs and gives {len(call.outputs)} outputs; "
                        "in a Sequential a Function takes one input and gives one output")
    return FunctionModule(call.entry.fn, tuple(_marked(a) for a in call.args),
                          {k: _marked(v) for k, v in call.kwargs})


def function_call(params: Mapping[str, Any]) -> FunctionCall:
    """The generic ``FunctionCall`` form (inputs first, then constants), which fits only calls whose
    ports are their leading positional arguments; the compiler should use :func:`add_to_graph`."""
    call = decode(params)
    n = len(call.ports)
    leading = call.args[:n]
    rest = call.args[n:] + tuple(v for _, v in call.kwargs)
    if tuple(a.name if isinstance(a, Port) else None for a in leading) != call.ports or any(
            _mentions_port(v) for v in rest):
        raise CallError(f"{_describe(call)} does not take its inputs first; compile it with add_to_graph")
    return (call.entry.fn, tuple(_marked(a) for a in call.args[n:]), {k: _marked(v) for k, v in call.kwargs},
            False)


def _mentions_port(value: Any) -> bool:
    if isinstance(value, (Port, DeviceOf)):
        return True
    if isinstance(value, (List_, Tuple_)):
        return any(_mentions_port(v) for v in value.items)
    if isinstance(value, Slice):
        return any(_mentions_port(v) for v in (value.start, value.stop, value.step))
    return False


# -- helpers ---------------------------------------------------------------------------------------
def _first_line(err: BaseException) -> str:
    """torch's message as one fragment: its first line, shortened, without a closing period."""
    text = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
    if "received an invalid combination of arguments" in text:
        got = text.split(" - got ", 1)[-1].split(", but expected", 1)[0]
        text = f"it does not accept arguments {got}"
    if len(text) > 200:
        text = text[:197] + "..."
    return text.rstrip(". :")


# -- the block -------------------------------------------------------------------------------------
FUNCTION = BlockSpec(
    TYPE_NAME, "Tensor operations",
    "Calls one torch, Tensor or operator function (x.view(n, -1), x[:, 0], torch.cat) with ports for its inputs.",
    params=(ParamSpec("function", "choice", "torch.flatten", "the function to call", choices=KEYS, key=True),
            ParamSpec("call", "json", {"args": [{"port": "x"}, 1], "kwargs": {}},
                      "its arguments: constants, and {\"port\": name} for inputs")),
    inputs=input_ports,
    outputs=output_ports,
    make_module=make_module, function=function_call, infer=infer, infer_outputs=function_outputs,
    check=call_problem,
    icon="mdi6.function-variant")

BLOCKS = (FUNCTION,)
