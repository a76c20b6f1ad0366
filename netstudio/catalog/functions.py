"""The Function block: one call of an allow-listed torch, Tensor or operator function.

A node holds the function's key (see :mod:`.function_table`) and its call as
JSON::

    {"function": "Tensor.view",
     "call": {"args": [{"port": "x"}, {"port": "n"}, -1], "kwargs": {}}}

Each argument is a JSON constant (a number, true/false, null, a list of those;
text only where the table allows it: an einsum equation, a dtype name such as
``"int64"``, a rounding mode) or a reference: ``{"port": "x"}`` is an input of
the node (a tensor or a Python number), ``{"device_of": "x"}`` is that input's
``.device`` (``torch.arange(n, device=x.device)``).  The index of
``operator.getitem`` may also hold ``{"slice": [start, stop, step]}``,
``{"ellipsis": true}`` and ``{"tuple": [...]}``: ``x[:, 0]`` is
``{"tuple": [{"slice": [null, null, null]}, 0]}``.  The node's input ports are
the referenced names, in order of first use.

One decoded call serves everything: :func:`bind_call` puts values in place of
the ports (tensors, meta tensors or torch.fx nodes), shape inference runs it on
the meta device, :func:`add_to_graph` writes it into a generated forward, and
:func:`describe_call` writes it as Python (``x.view(n, -1)``, ``x[:, 0]``).
"""

from __future__ import annotations

import keyword
import math
import operator
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch

from .block_spec import BlockSpec, FunctionCall, ShapeError
from .function_table import BINARY, CHUNKS, FUNCTIONS, KEYS, MAX_WITH_DIM, SECTIONS, UNARY, FunctionEntry, lookup
from .op_modules import FunctionModule
from .params import MAX_DIM, ParamSpec
from .tensor_spec import DTYPES, TensorSpec

TYPE_NAME = "Function"

MAX_ARGS = 16          # positional arguments, and keyword arguments
MAX_ITEMS = 64         # entries of one list or index tuple
MAX_DEPTH = 6          # nesting of lists, tuples and slices
MAX_NODES = 512        # values in one call, all nested ones counted
MAX_TEXT = 200         # characters of one text argument
MAX_OUTPUTS = 64       # pieces of chunk and split
_CACHE_SIZE = 1024

_REFERENCES = ("port", "device_of")
_INDEX_FORMS = ("slice", "ellipsis", "tuple")
_PORT_RESERVED = frozenset({"self", "torch", "nn", "F", "math", "operator", "inf", "nan", "NoneType", "device"})


class CallError(ShapeError):
    """A Function node's call cannot be used; the message is one sentence fragment."""


# -- the decoded call -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Const:
    value: Any          # None, bool, int, float, text or a torch.dtype


@dataclass(frozen=True)
class Port:
    name: str


@dataclass(frozen=True)
class DeviceOf:
    name: str


@dataclass(frozen=True)
class Slice:
    start: Any
    stop: Any
    step: Any


@dataclass(frozen=True)
class Ellipsis_:
    pass


@dataclass(frozen=True)
class Tuple_:
    items: tuple


@dataclass(frozen=True)
class List_:
    items: tuple


@dataclass(frozen=True)
class Call:
    """A checked call: hashable, so it keys the shape cache."""

    entry: FunctionEntry
    args: tuple
    kwargs: tuple[tuple[str, Any], ...]
    ports: tuple[str, ...]
    outputs: tuple[str, ...]


def port_problem(name: object) -> str | None:
    """Why ``name`` cannot name an input port of a Function node.  This is a local identifier check
    (the catalog sits below the graph layer); the graph layer's name rule applies on top."""
    if not isinstance(name, str):
        return f"a port name must be text, not {_kind(name)}"
    if not name:
        return "a port name cannot be empty"
    if len(name) > MAX_TEXT:
        return f"a port name can have at most {MAX_TEXT} characters, not {len(name)}"
    if not (name.isascii() and name.isidentifier()):
        return (f"{_shown(name)} is not a valid port name: use letters, digits and underscores, "
                "not starting with a digit")
    if keyword.iskeyword(name) or name.startswith("__") or name in _PORT_RESERVED:
        return f"{_shown(name)} cannot name a port: Python or the generated code already uses it"
    return None


class _Decoder:
    def __init__(self, entry: FunctionEntry):
        self.entry = entry
        self.nodes = 0
        self.ports: list[str] = []

    def fail(self, message: str):
        raise CallError(message)

    def value(self, raw: Any, where: str, param: str | None, depth: int = 0, index: bool = False) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fail(f"the call of {self.entry.key} holds more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            self.fail(f"{where} is nested more than {MAX_DEPTH} levels deep")
        if raw is None or isinstance(raw, bool):
            return Const(raw)
        if isinstance(raw, int):
            if abs(raw) > MAX_DIM:
                self.fail(f"{where} is the whole number {_big(raw)}, beyond ±{MAX_DIM:,}")
            return Const(raw)
        if isinstance(raw, float):
            return Const(raw)
        if isinstance(raw, str):
            return self.text(raw, where, param, depth)
        if isinstance(raw, (list, tuple)):
            if len(raw) > MAX_ITEMS:
                self.fail(f"{where} is a list of {len(raw):,} values; at most {MAX_ITEMS} are allowed")
            if not index and depth == 0 and self.entry.key.startswith("operator."):
                self.fail(f"{self.entry.key} takes tensors and numbers, not a list ({where})")
            return List_(tuple(self.value(x, f"{where}[{i}]", param, depth + 1, index) for i, x in enumerate(raw)))
        if isinstance(raw, dict):
            return self.form(raw, where, param, depth, index)
        self.fail(f"{where} is {_kind(raw)}, which a call cannot hold")

    def text(self, raw: str, where: str, param: str | None, depth: int) -> Const:
        if param not in self.entry.strings or depth > 0:
            allowed = " or ".join(repr(s) for s in sorted(self.entry.strings))
            self.fail(f"{where} is the text {_shown(raw)}, but {self.entry.key} takes "
                      + (f"text only as its {allowed}" if allowed else "no text"))
        if len(raw) > MAX_TEXT:
            self.fail(f"{where} is a text of {len(raw):,} characters; at most {MAX_TEXT} are allowed")
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(f"{where} holds a character that is not valid Unicode")
        if param == "dtype":
            if raw not in DTYPES:
                self.fail(f"{where} is {_shown(raw)}, not a dtype: use one of {', '.join(DTYPES)}")
            return Const(DTYPES[raw])
        return Const(raw)

    def form(self, raw: dict, where: str, param: str | None, depth: int, index: bool) -> Any:
        if len(raw) != 1:
            self.fail(f"{where} must be a value, or an object with one key such as {{\"port\": \"x\"}}")
        (key, inner), = raw.items()
        if not isinstance(key, str):
            self.fail(f"{where} is an object whose key is {_kind(key)}, not text")
        if key in _REFERENCES:
            if param in self.entry.constants:
                self.fail(f"{where} must be written in the call: {self.entry.key}'s {param!r} cannot come from a port")
            problem = port_problem(inner)
            if problem:
                self.fail(f"{where}: {problem}")
            if inner not in self.ports:
                self.ports.append(inner)
            return Port(inner) if key == "port" else DeviceOf(inner)
        if key in _INDEX_FORMS and not index:
            self.fail(f"{where} is a {key!r}, which only the index of operator.getitem may hold")
        if key == "ellipsis":
            if inner is not True:
                self.fail(f"{where} must be {{\"ellipsis\": true}}")
            return Ellipsis_()
        if key == "slice":
            if not isinstance(inner, list) or len(inner) != 3:
                self.fail(f"{where} must be a slice as [start, stop, step], each a whole number, null or a port")
            parts = []
            for name, part in zip(("start", "stop", "step"), inner):
                got = self.value(part, f"{where}'s {name}", param, depth + 1, index=False)
                if not isinstance(got, Port) and not (
                        isinstance(got, Const) and (got.value is None or type(got.value) is int)):
                    self.fail(f"{where}'s {name} must be a whole number, null or a port")
                parts.append(got)
            return Slice(*parts)
        if key == "tuple":
            if not isinstance(inner, list):
                self.fail(f"{where} must hold a list of index values")
            if len(inner) > MAX_ITEMS:
                self.fail(f"{where} is a tuple of {len(inner):,} values; at most {MAX_ITEMS} are allowed")
            return Tuple_(tuple(self.value(x, f"{where}[{i}]", param, depth + 1, index=True)
                                for i, x in enumerate(inner)))
        known = ", ".join(repr(k) for k in _REFERENCES + (_INDEX_FORMS if index else ()))
        self.fail(f"{where} is an object with the key {_shown(key)}; the call knows only {known}")


def decode(params: Mapping[str, Any]) -> Call:
    """The node's call, checked; raises CallError with one sentence fragment."""
    key = params.get("function")
    entry = lookup(key)
    if entry is None:
        shown = _shown(key) if isinstance(key, str) else _kind(key)
        raise CallError(f"{shown} is not a function NetStudio can call")
    raw = params.get("call")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CallError(f"the call of {entry.key} must be an object with \"args\" and \"kwargs\", not {_kind(raw)}")
    extra = sorted(str(k) for k in raw if k not in ("args", "kwargs"))
    if extra:
        raise CallError(f"the call of {entry.key} has the unknown key {_shown(extra[0])}; "
                        "it holds only \"args\" and \"kwargs\"")
    args = raw.get("args", [])
    kwargs = raw.get("kwargs", {})
    if not isinstance(args, list):
        raise CallError(f"the \"args\" of {entry.key} must be a list, not {_kind(args)}")
    if not isinstance(kwargs, dict):
        raise CallError(f"the \"kwargs\" of {entry.key} must be an object of named arguments, not {_kind(kwargs)}")
    limit = MAX_ARGS if entry.varargs else len(entry.positional)
    if len(args) > limit:
        raise CallError(f"{entry.key} takes at most {limit} positional arguments, not {len(args):,}")
    if len(kwargs) > MAX_ARGS:
        raise CallError(f"{entry.key} takes at most {MAX_ARGS} keyword arguments, not {len(kwargs):,}")
    decoder = _Decoder(entry)
    is_getitem = entry.fn is operator.getitem
    bound_args = []
    for i, raw_arg in enumerate(args):
        param = entry.name_at(i)
        bound_args.append(decoder.value(raw_arg, f"argument {i + 1} of {entry.key}", param,
                                        index=is_getitem and i == 1))
    bound_kwargs = []
    taken = set(entry.positional[:len(args)])
    for name, raw_arg in kwargs.items():
        if not isinstance(name, str) or name not in entry.parameter_names:
            shown = _shown(name) if isinstance(name, str) else _kind(name)
            accepted = ", ".join(entry.parameter_names) if entry.parameter_names else "none"
            raise CallError(f"{entry.key} has no keyword argument {shown} (it takes {accepted})")
        if name in taken:
            raise CallError(f"{entry.key} gets {name!r} both by position and by name")
        bound_kwargs.append((name, decoder.value(raw_arg, f"the argument {name!r} of {entry.key}", name)))
    if len(decoder.ports) > MAX_ARGS:
        raise CallError(f"the call of {entry.key} uses {len(decoder.ports)} ports; at most {MAX_ARGS} are allowed")
    call_args, call_kwargs = tuple(bound_args), tuple(bound_kwargs)
    return Call(entry, call_args, call_kwargs, tuple(decoder.ports), _output_names(entry, call_args, dict(call_kwargs)))


def _output_names(entry: FunctionEntry, args: tuple, kwargs: dict) -> tuple[str, ...]:
    def argument(i: int, name: str):
        return args[i] if len(args) > i else kwargs.get(name)

    if entry.outputs == MAX_WITH_DIM:
        dim = argument(1, "dim")
        if "dim" in kwargs or (isinstance(dim, Const) and type(dim.value) is int):
            return ("values", "indices")
        return ("out",)
    if entry.outputs == CHUNKS:
        count = argument(1, "chunks")
        if not (isinstance(count, Const) and type(count.value) is int and 1 <= count.value <= MAX_OUTPUTS):
            raise CallError(f"{entry.key} needs its number of chunks as a whole number from 1 to {MAX_OUTPUTS} "
                            "written in the call, so its outputs are known")
        return tuple(f"out{i}" for i in range(count.value))
    if entry.outputs == SECTIONS:
        sizes = argument(1, entry.positional[1])
        if not (isinstance(sizes, List_) and 1 <= len(sizes.items) <= MAX_OUTPUTS
                and all(isinstance(s, Const) and type(s.value) is int for s in sizes.items)):
            raise CallError(f"{entry.key} needs a list of sizes written in the call, such as [2, 3], "
                            "so the number of its outputs is known")
        return tuple(f"out{i}" for i in range(len(sizes.items)))
    return ("out",)


def call_problem(params: Mapping[str, Any]) -> str | None:
    """Why the node's call cannot be used, as a sentence fragment; None when it can."""
    try:
        decode(params)
    except CallError as err:
        return str(err)
    return None


def input_ports(params: Mapping[str, Any]) -> tuple[str, ...]:
    """The ports the call refers to, in order of first use; none when the call is invalid."""
    try:
        return decode(params).ports
    except CallError:
        return ()


def output_ports(params: Mapping[str, Any]) -> tuple[str, ...]:
    """``out``; ``values``/``indices`` for max or min along a dim; ``out0``.. for chunk and split.
    An invalid call gives ``out`` (its problem is reported on the node)."""
    try:
        return decode(params).outputs
    except CallError:
        return ("out",)


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
    raise CallError(f"the call holds {_kind(value)}")   # pragma: no cover - decode makes only the above


def _lookup(values: Mapping[str, Any], name: str) -> Any:
    try:
        return values[name]
    except KeyError:
        raise CallError(f"the call has no value for its port {name!r}") from None


def _device(value: Any) -> Any:
    device = getattr(value, "device", None) if isinstance(value, torch.Tensor) else None
    if device is None:
        raise CallError(f"device_of needs a tensor, not {_kind(value)}")
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
        raise ShapeError(f"{shown} gives {_kind(result)}, not {len(names)} tensors")
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
            raise ShapeError(f"{shown} gives the number {_big(result)}, beyond ±{MAX_DIM:,}")
        return TensorSpec.number(int(result))
    raise ShapeError(f"{shown} gives {_kind(result)}; a Function gives one tensor or number")


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
    raise CallError(f"the call holds {_kind(value)}")   # pragma: no cover


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
def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} values"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _shown(text: str, limit: int = 40) -> str:
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return repr(text) if text.isprintable() else ascii(text)


def _big(n: int) -> str:
    return str(n) if abs(n) < 10 ** 15 else f"about 10^{len(str(abs(n))) - 1}"


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
