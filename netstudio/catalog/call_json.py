"""Decoding a Function node's call: the JSON a file holds, checked and bounded.

A file's JSON never reaches a callable unchecked: every value of a call is
decoded here, against the function's table entry (see :mod:`.function_table`)
and within fixed limits (arguments, list lengths, nesting, text length, whole
numbers), into small frozen values that :mod:`.functions` binds, describes and
runs.  The call is JSON::

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
"""

from __future__ import annotations

import keyword
import operator
from dataclasses import dataclass
from typing import Any, Mapping

from .block_spec import ShapeError
from .function_table import CHUNKS, MAX_WITH_DIM, SECTIONS, FunctionEntry, lookup
from .params import MAX_DIM
from .tensor_spec import DTYPES

MAX_ARGS = 16          # positional arguments, and keyword arguments
MAX_ITEMS = 64         # entries of one list or index tuple
MAX_DEPTH = 6          # nesting of lists, tuples and slices
MAX_NODES = 512        # values in one call, all nested ones counted
MAX_TEXT = 200         # characters of one text argument
MAX_OUTPUTS = 64       # pieces of chunk and split

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
        return f"a port name must be text, not {kind_of(name)}"
    if not name:
        return "a port name cannot be empty"
    if len(name) > MAX_TEXT:
        return f"a port name can have at most {MAX_TEXT} characters, not {len(name)}"
    if not (name.isascii() and name.isidentifier()):
        return (f"{quoted(name)} is not a valid port name: use letters, digits and underscores, "
                "not starting with a digit")
    if keyword.iskeyword(name) or name.startswith("__") or name in _PORT_RESERVED:
        return f"{quoted(name)} cannot name a port: Python or the generated code already uses it"
    return None


class _Decoder:
    """Walks one call's JSON, counting values and collecting port names as it goes."""

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
                self.fail(f"{where} is the whole number {short_number(raw)}, beyond ±{MAX_DIM:,}")
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
        self.fail(f"{where} is {kind_of(raw)}, which a call cannot hold")

    def text(self, raw: str, where: str, param: str | None, depth: int) -> Const:
        if param not in self.entry.strings or depth > 0:
            allowed = " or ".join(repr(s) for s in sorted(self.entry.strings))
            self.fail(f"{where} is the text {quoted(raw)}, but {self.entry.key} takes "
                      + (f"text only as its {allowed}" if allowed else "no text"))
        if len(raw) > MAX_TEXT:
            self.fail(f"{where} is a text of {len(raw):,} characters; at most {MAX_TEXT} are allowed")
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(f"{where} holds a character that is not valid Unicode")
        if param == "dtype":
            if raw not in DTYPES:
                self.fail(f"{where} is {quoted(raw)}, not a dtype: use one of {', '.join(DTYPES)}")
            return Const(DTYPES[raw])
        return Const(raw)

    def form(self, raw: dict, where: str, param: str | None, depth: int, index: bool) -> Any:
        if len(raw) != 1:
            self.fail(f"{where} must be a value, or an object with one key such as {{\"port\": \"x\"}}")
        (key, inner), = raw.items()
        if not isinstance(key, str):
            self.fail(f"{where} is an object whose key is {kind_of(key)}, not text")
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
        self.fail(f"{where} is an object with the key {quoted(key)}; the call knows only {known}")


def decode(params: Mapping[str, Any]) -> Call:
    """The node's call, checked; raises CallError with one sentence fragment."""
    key = params.get("function")
    entry = lookup(key)
    if entry is None:
        shown = quoted(key) if isinstance(key, str) else kind_of(key)
        raise CallError(f"{shown} is not a function NetStudio can call")
    raw = params.get("call")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CallError(f"the call of {entry.key} must be an object with \"args\" and \"kwargs\", not {kind_of(raw)}")
    extra = sorted(str(k) for k in raw if k not in ("args", "kwargs"))
    if extra:
        raise CallError(f"the call of {entry.key} has the unknown key {quoted(extra[0])}; "
                        "it holds only \"args\" and \"kwargs\"")
    args = raw.get("args", [])
    kwargs = raw.get("kwargs", {})
    if not isinstance(args, list):
        raise CallError(f"the \"args\" of {entry.key} must be a list, not {kind_of(args)}")
    if not isinstance(kwargs, dict):
        raise CallError(f"the \"kwargs\" of {entry.key} must be an object of named arguments, not {kind_of(kwargs)}")
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
            shown = quoted(name) if isinstance(name, str) else kind_of(name)
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
    """The output ports, which chunk, split and max/min along a dim need written in the call."""
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


# -- text for messages ------------------------------------------------------------------------------
def kind_of(value: Any) -> str:
    """What a value is, in words (an int, null), for a message about a file's JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} values"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def quoted(text: str, limit: int = 40) -> str:
    """Text from a file, shortened and quoted so a message stays one printable line."""
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return repr(text) if text.isprintable() else ascii(text)


def short_number(n: int) -> str:
    """A whole number for a message; a huge one as its order of magnitude, not thousands of digits."""
    return str(n) if abs(n) < 10 ** 15 else f"about 10^{len(str(abs(n))) - 1}"
