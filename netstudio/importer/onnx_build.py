"""An ONNX graph rebuilt as a torch.fx GraphModule of torch.nn modules and allow-listed torch calls.

Each ONNX value is either a :class:`Tensor` (computed in the graph; its shape
and dtype known from a meta tensor, so nothing is allocated to learn them) or a
:class:`Const` (known while importing: an initializer, a ``Constant``, or a
small value folded from constants, such as a shape).  A constant reaches the
graph only where an operator needs it as a tensor: a float32 initializer as a
parameter of the model, anything else as a buffer; both keep their values.

Every tensor the graph would compute is checked against the memory budget
from its meta shape before the import runs the model on its example input.
Names from the file become module and tensor names only through
``make_valid_name``; op handlers come from a table (:mod:`.onnx_ops`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import fx, nn

from ..graph.names import MAX_NAME_LENGTH, NameKind, make_valid_name
from ..limits import format_bytes, memory_budget
from .errors import ImportFailed
from .onnx_file import Node, shown

FOLD_LIMIT = 1 << 16   # constants up to this many values are computed while importing (shapes, indices)


@dataclass(eq=False)
class Tensor:
    """A value the graph computes: its fx node and a meta tensor of its shape and dtype."""

    node: fx.Node
    meta: torch.Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.meta.shape)


@dataclass(eq=False)
class Const:
    """A value known while importing."""

    value: torch.Tensor
    name: str                  # where it came from, for naming its parameter or buffer
    trainable: bool = False    # a float32 initializer: a parameter, where it becomes one

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)


Value = Tensor | Const


class Builder:
    """The GraphModule under construction, and the ONNX values computed so far."""

    def __init__(self, opset: int):
        self.opset = opset
        self.graph = fx.Graph()
        self.root = nn.Module()
        self.values: dict[str, Value] = {}
        self._taken: set[str] = set()
        self._attrs: dict[int, fx.Node] = {}
        self._given: set[int] = set()    # storages already held by a module or buffer
        self._total = 0                  # bytes of every tensor the graph computes or folds
        self.node: Node | None = None    # the ONNX node being converted, for messages

    # -- reading a node's inputs -----------------------------------------------------------
    def input(self, n: Node, index: int) -> Value | None:
        """The node's input ``index``, or None when it is left out (optional inputs)."""
        if index >= len(n.inputs) or n.inputs[index] == "":
            return None
        return self.values[n.inputs[index]]

    def tensor_input(self, n: Node, index: int) -> Value:
        value = self.input(n, index)
        if value is None:
            self.fail(f"lacks its input {index + 1}")
        return value

    def const(self, n: Node, index: int, what: str) -> torch.Tensor | None:
        """A constant input's values (None when left out); a computed one is refused."""
        value = self.input(n, index)
        if value is None:
            return None
        if not isinstance(value, Const):
            self.fail(f"computes its {what} in the graph; NetStudio needs it constant")
        return value.value

    def ints(self, n: Node, index: int, what: str, required: bool = False) -> list[int] | None:
        value = self.const(n, index, what)
        if value is None:
            if required:
                self.fail(f"has no {what}")
            return None
        if value.dtype not in (torch.int64, torch.int32) or value.dim() > 1 or value.numel() > 64:
            self.fail(f"has a {what} that is not a short list of integers")
        return [int(v) for v in value.reshape(-1).tolist()]

    def own(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` for one module or buffer to hold: a copy when another holds its memory already (a file
        may use one initializer twice, a folded reshape is a view, and saved weights must not share memory)."""
        value = value.contiguous()
        storage = value.untyped_storage().data_ptr()
        if storage in self._given or not storage:
            value = value.clone()
            storage = value.untyped_storage().data_ptr()
        self._given.add(storage)
        return value

    def weight(self, value: torch.Tensor) -> nn.Parameter:
        return nn.Parameter(self.own(value))

    def scalar(self, n: Node, index: int, what: str, default: float | None = None,
               required: bool = False) -> float | None:
        value = self.const(n, index, what)
        if value is None:
            if required:
                self.fail(f"has no {what}")
            return default
        if value.numel() != 1:
            self.fail(f"has a {what} that is not one number")
        return value.reshape(()).item()

    def fail(self, reason: str):
        n = self.node
        where = f"The ONNX node {shown(n.name)} ({shown(n.op_type)})" if n else "The ONNX graph"
        raise ImportFailed(f"{where} {reason}.")

    # -- adding to the graph -------------------------------------------------------------------
    def name(self, text: str, fallback: str) -> str:
        """A fresh child name of the model, as close to ``text`` (from the file) as the name rule allows."""
        name = make_valid_name(str(text)[:MAX_NAME_LENGTH], NameKind.CHILD, self._taken, fallback=fallback)
        self._taken.add(name)
        return name

    def node_for(self, value: Value) -> fx.Node:
        """The fx node giving ``value``: a constant becomes a parameter or buffer of the model (once)."""
        if isinstance(value, Tensor):
            return value.node
        if id(value) not in self._attrs:
            name = self.name(value.name, "constant")
            tensor = self.own(value.value)
            if value.trainable and tensor.dtype == torch.float32:
                self.root.register_parameter(name, nn.Parameter(tensor))
            else:
                self.root.register_buffer(name, tensor)
            self._attrs[id(value)] = self.graph.get_attr(name)
        return self._attrs[id(value)]

    def module(self, hint: str, fallback: str, module: nn.Module, *inputs: Value) -> Tensor:
        """Call ``module`` (a torch.nn module holding its weights) on ``inputs``."""
        metas = [_meta(v) for v in inputs]
        state = {k: v.to("meta") for k, v in [*module.named_parameters(), *module.named_buffers()]}
        out = self._meta_run(lambda: torch.func.functional_call(module, state, tuple(metas)))
        name = self.name(hint, fallback)
        self.root.add_module(name, module)
        return Tensor(self.graph.call_module(name, tuple(self.node_for(v) for v in inputs)), self._checked(out))

    def call(self, fn: Callable, *args: Any, method: bool = False, **kwargs: Any) -> Value | list[Value]:
        """``fn(*args, **kwargs)`` where args may hold Values; folded while importing when all are small
        constants.  ``method``: ``fn`` is the name of a Tensor method, called on ``args[0]``."""
        run = (lambda *a, **k: getattr(a[0], fn)(*a[1:], **k)) if method else fn
        meta = self._meta_run(lambda: run(*_map(args, _meta), **_map(kwargs, _meta)))
        outs = list(meta) if isinstance(meta, (tuple, list)) else [meta]
        for out in outs:
            self._checked(out)
        if _all_const(args, kwargs) and all(o.numel() <= FOLD_LIMIT for o in outs):
            folded = self._meta_run(lambda: run(*_map(args, _value), **_map(kwargs, _value)))
            name = self.node.outputs[0] if self.node and self.node.outputs else "constant"
            if isinstance(folded, (tuple, list)):
                return [Const(f, name) for f in folded]
            return Const(folded, name)
        fx_args, fx_kwargs = _map(args, self.node_for), _map(kwargs, self.node_for)
        node = self.graph.call_method(fn, fx_args, fx_kwargs) if method else \
            self.graph.call_function(fn, fx_args, fx_kwargs)
        if isinstance(meta, (tuple, list)):
            return [Tensor(self.graph.call_function(_getitem, (node, i)), m) for i, m in enumerate(meta)]
        return Tensor(node, meta)

    def binary(self, fn: Callable, x: Any, y: Any, **kwargs: Any) -> Value:
        """``fn(x, y)``, a one-value constant beside a tensor of as many dimensions written as a number
        (``x * 0.5``, the MulScalar block), as torch would have it."""
        return self.call(fn, _number(x, y), _number(y, x), **kwargs)

    def _meta_run(self, compute: Callable[[], Any]) -> Any:
        try:
            return compute()
        except ImportFailed:
            raise
        except Exception as err:   # torch's own check of the shapes or arguments
            text = str(err).strip().splitlines()
            reason = (text[0] if text else type(err).__name__)[:200].rstrip(".")
            self.fail(f"cannot be computed: {reason}")

    def _checked(self, out: Any) -> torch.Tensor:
        if not isinstance(out, torch.Tensor):
            self.fail("does not give a tensor")
        self.reserve(tuple(out.shape), out.element_size())
        return out

    def reserve(self, shape: tuple[int, ...], itemsize: int) -> None:
        """Count a tensor of ``shape`` the import will make, before it is made: each one, and all of them
        together (every value the graph computes, and every constant folded), must fit the memory budget."""
        nbytes, budget = math.prod(shape) * itemsize, memory_budget()
        if nbytes > budget:
            self.fail(f"would make a tensor of shape {tuple(shape)}, {format_bytes(nbytes)}, more than the "
                      f"memory budget of {format_bytes(budget)}")
        self._total += nbytes
        if self._total > budget:
            self.fail(f"takes the tensors of the graph past the memory budget of {format_bytes(budget)}")

    def finish(self, outputs: list[Value], class_name: str) -> fx.GraphModule:
        nodes = [self.node_for(v) for v in outputs]
        self.graph.output(nodes[0] if len(nodes) == 1 else tuple(nodes))
        return fx.GraphModule(self.root, self.graph, class_name)


_getitem = __import__("operator").getitem


def _number(v: Any, other: Any) -> Any:
    """``v`` as a Python number where it is a one-value constant beside a tensor of its dtype and at
    least its dimensions (so broadcasting gives the same shape)."""
    if isinstance(v, Const) and isinstance(other, Tensor) and v.value.numel() == 1 \
            and v.value.dim() <= len(other.shape) and v.value.dtype == other.meta.dtype \
            and v.value.dtype != torch.bool:
        return v.value.reshape(()).item()
    return v


def _meta(v: Any) -> Any:
    if isinstance(v, Tensor):
        return v.meta
    if isinstance(v, Const):
        return v.value.to("meta")
    return v


def _value(v: Any) -> Any:
    return v.value if isinstance(v, Const) else v


def _map(args: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(args, (Tensor, Const)):
        return fn(args)
    if isinstance(args, tuple):
        return tuple(_map(a, fn) for a in args)
    if isinstance(args, list):
        return [_map(a, fn) for a in args]
    if isinstance(args, dict):
        return {k: _map(v, fn) for k, v in args.items()}
    return args


def _flat(args: Any) -> list[Any]:
    if isinstance(args, (tuple, list)):
        return [x for a in args for x in _flat(a)]
    if isinstance(args, dict):
        return [x for a in args.values() for x in _flat(a)]
    return [args]


def _all_const(args: tuple, kwargs: dict) -> bool:
    values = [v for v in _flat((args, kwargs)) if isinstance(v, (Tensor, Const))]
    return bool(values) and all(isinstance(v, Const) and not v.trainable for v in values)
