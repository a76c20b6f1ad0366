"""What a block type declares: ports, hyperparameters, and how it becomes PyTorch.

A block is *stateful* when it owns parameters or buffers (or training-mode
behaviour): it then always compiles to a module.  A *stateless* block also
declares a ``function``: inside a graph block it compiles to a plain function
call in the generated forward (``torch.relu(x)``), the way people write
``F.relu`` in hand-written modules, while inside a Sequential it still needs its
module (``nn.ReLU()``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from .params import ParamSpec
from .tensor_spec import TensorSpec


class Role(enum.Enum):
    """How the compiler treats a block."""

    LAYER = "layer"           # a module, or a function call in a graph block
    INPUT = "input"           # an argument of forward
    OUTPUT = "output"         # a value forward returns
    CONSTANT = "constant"     # a buffer that is never trained
    CONTAINER = "container"   # a use of another definition
    CODE = "code"             # the user's own nn.Module class
    PARAMETER = "parameter"   # a learnable tensor of its own (nn.Parameter)


# Roles of a tensor that belongs to its block (a buffer or a parameter), not a module of its own.
TENSOR_ROLES = (Role.CONSTANT, Role.PARAMETER)


class ShapeError(Exception):
    """Raised by shape rules; the message is a sentence fragment such as
    ``Linear expects 256 input features, receives 128``."""


# (callable, extra positional args after the inputs, keyword args, pack inputs in a list)
FunctionCall = tuple[Callable, tuple, dict, bool]


@dataclass(frozen=True)
class BlockSpec:
    """A block type of the catalog.

    Ports and how the compiler calls the module (``make_module(params)``):

    * ``inputs`` lists every input port.  The ports not in ``optional_inputs`` (nor packed, below)
      are *required*: they are passed to forward positionally, in the order listed.
    * ``optional_inputs``: ports that may stay unconnected (``h0``, ``attn_mask``,
      ``key_padding_mask`` ...).  A connected one is passed to forward **by keyword, the keyword
      being the port name**; an unconnected one is not passed at all (forward's default applies).
    * ``packed_inputs``: ``((keyword, (port, port, ...)), ...)``: ports whose tensors forward takes
      as one tuple argument.  LSTM's forward takes ``hx=(h0, c0)``, so LSTM declares the optional
      ports ``h0`` and ``c0`` and ``packed_inputs=(("hx", ("h0", "c0")),)``: when both are
      connected the compiler passes ``hx=(h0, c0)`` by keyword; when neither is, nothing; one
      without the other is an error (``infer_outputs`` raises ShapeError saying so).  Packed ports
      are always also listed in ``optional_inputs``.
    * ``forward_params``: names of hyperparameters (they are also in ``params``) that are not
      constructor arguments but keyword arguments of forward, passed on every call with the
      node's value (MultiheadAttention's ``need_weights``; ``make_module`` ignores them).
    * ``outputs``: the output port names.  ``output_path(port)`` says where the port's value sits
      in forward's (possibly nested) result: ``()`` is the whole result, ``(1, 0)`` is
      ``result[1][0]``.  ``output_paths`` gives one path per output port (LSTM:
      ``(0,), (1, 0), (1, 1)`` for output, h, c); when empty, one port is the whole result and
      several ports are ``result[0]``, ``result[1]``, ... in order (as before these fields).
    * ``infer_outputs(params, inputs)``: where present it is used instead of ``infer``: the spec
      of every output port, given the input specs aligned with ``input_ports`` (None where an
      optional port is unconnected).  A port whose value is None (MultiheadAttention's weights
      with ``need_weights`` false) is left out of the dict.  ``infer_ports`` calls whichever the
      block has.
    * ``module_class``: the torch.nn class ``make_module`` builds (its Lazy variant too, where the
      block has a deferred size); None for blocks that are not one torch.nn class.
    """

    type_name: str
    category: str
    description: str
    params: tuple[ParamSpec, ...] = ()
    inputs: tuple[str, ...] | Callable[[dict], tuple[str, ...]] = ("in",)
    outputs: tuple[str, ...] | Callable[[dict], tuple[str, ...]] = ("out",)
    make_module: Callable[[dict], nn.Module] | None = None
    function: Callable[[dict], FunctionCall] | None = None
    infer: Callable[[dict, list[TensorSpec]], TensorSpec] | None = None
    param_shapes: Callable[[dict, list[TensorSpec]], dict[str, tuple[int, ...]]] | None = None
    is_deferred: Callable[[dict], bool] | None = None
    # A problem that is not an error (it works in eval mode, say): a warning on the node.
    warn: Callable[[dict, list[TensorSpec]], str | None] | None = None
    icon: str = "mdi6.cube-outline"
    role: Role = Role.LAYER
    module_class: type | None = None
    optional_inputs: tuple[str, ...] = ()
    packed_inputs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    output_paths: tuple[tuple[int, ...], ...] = ()
    forward_params: tuple[str, ...] = ()
    infer_outputs: Callable[[dict, list[TensorSpec | None]], dict[str, TensorSpec]] | None = None
    # Problems the typed hyperparameters cannot say alone (a Function's call): a sentence fragment or None.
    check: Callable[[dict], str | None] | None = None
    # How model.py builds the module (``nn.LSTM(10, 16, batch_first=True)``), from resolved hyperparameters.
    source: Callable[[dict], str] | None = None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, params: dict[str, Any]) -> dict[str, Any]:
        """Defaults overridden by the node's values."""
        merged = self.defaults()
        merged.update(params)
        return merged

    def param(self, name: str) -> ParamSpec | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def input_ports(self, params: dict[str, Any]) -> tuple[str, ...]:
        return self.inputs(self.resolve(params)) if callable(self.inputs) else self.inputs

    def output_ports(self, params: dict[str, Any]) -> tuple[str, ...]:
        """The output port names; a Function's depend on its call (``chunk`` gives several)."""
        return self.outputs(self.resolve(params)) if callable(self.outputs) else self.outputs

    def output_path(self, port: str, params: dict[str, Any] | None = None) -> tuple[int, ...]:
        """Where ``port``'s value sits in forward's result (see the class docstring)."""
        outputs = self.output_ports(params or {})
        i = outputs.index(port)
        if self.output_paths:
            return self.output_paths[i]
        return () if len(outputs) == 1 else (i,)

    def infer_ports(self, params: dict[str, Any], ins: list[TensorSpec | None]) -> dict[str, TensorSpec]:
        """Every output port's spec: ``infer_outputs`` where the block has it, else ``infer``'s one
        result for the single output port.  ``params`` are resolved (see ``resolve``)."""
        if self.infer_outputs is not None:
            return self.infer_outputs(params, ins)
        return {self.output_ports(params)[0]: self.infer(params, ins)}

    def forward_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments forward takes from the hyperparameters (``forward_params``)."""
        return {name: params[name] for name in self.forward_params}

    @property
    def stateless(self) -> bool:
        return self.function is not None

    def deferred(self, params: dict[str, Any]) -> bool:
        """Whether the parameters are sized by the first input (a lazy module)."""
        return bool(self.is_deferred and self.is_deferred(self.resolve(params)))
