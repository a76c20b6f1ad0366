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


class ShapeError(Exception):
    """Raised by shape rules; the message is a sentence fragment such as
    ``Linear expects 256 input features, receives 128``."""


# (callable, extra positional args after the inputs, keyword args, pack inputs in a list)
FunctionCall = tuple[Callable, tuple, dict, bool]


@dataclass(frozen=True)
class BlockSpec:
    """A block type of the catalog."""

    type_name: str
    category: str
    description: str
    params: tuple[ParamSpec, ...] = ()
    inputs: tuple[str, ...] | Callable[[dict], tuple[str, ...]] = ("in",)
    outputs: tuple[str, ...] = ("out",)
    make_module: Callable[[dict], nn.Module] | None = None
    function: Callable[[dict], FunctionCall] | None = None
    infer: Callable[[dict, list[TensorSpec]], TensorSpec] | None = None
    param_shapes: Callable[[dict, list[TensorSpec]], dict[str, tuple[int, ...]]] | None = None
    is_deferred: Callable[[dict], bool] | None = None
    # A problem that is not an error (it works in eval mode, say): a warning on the node.
    warn: Callable[[dict, list[TensorSpec]], str | None] | None = None
    icon: str = "mdi6.cube-outline"
    role: Role = Role.LAYER

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

    @property
    def stateless(self) -> bool:
        return self.function is not None

    def deferred(self, params: dict[str, Any]) -> bool:
        """Whether the parameters are sized by the first input (a lazy module)."""
        return bool(self.is_deferred and self.is_deferred(self.resolve(params)))
