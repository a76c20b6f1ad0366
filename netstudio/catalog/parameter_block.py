"""The Parameter block: a learnable tensor of its own (a class token, position embeddings).

It has no inputs and one output, ``out``.  The compiler registers it as an
``nn.Parameter`` under the node's name (``self.cls_token``), so its
state_dict key is that name, and the generated forward reads it with a
``get_attr`` node, as it reads a Constant's buffer.  It starts as zeros, ones,
N(0, 0.02) or U(0, 1); the project's initializers apply on top.
"""

from __future__ import annotations

import torch
from torch import nn

from .block_spec import BlockSpec, Role
from .params import ParamSpec
from .tensor_spec import DTYPES, TensorSpec

TYPE_NAME = "Parameter"
FLOAT_DTYPES = tuple(name for name, dtype in DTYPES.items() if dtype.is_floating_point)
INITS = ("zeros", "ones", "normal", "uniform")
NORMAL_STD = 0.02


def _infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    return TensorSpec(tuple(p["shape"]), DTYPES[p["dtype"]])


def _param_shapes(p: dict, ins: list[TensorSpec]) -> dict[str, tuple[int, ...]]:
    """The node is the parameter itself: its one tensor has the empty name (state_dict key = node name)."""
    return {"": tuple(p["shape"])}


def parameter_value(p: dict, generator: torch.Generator | None = None, meta: bool = False) -> torch.Tensor:
    """The initial tensor (CPU, or meta for ``meta``); random fills draw float32 values from ``generator``
    and are then cast, so every dtype starts from the same numbers."""
    shape, dtype = tuple(p["shape"]), DTYPES[p["dtype"]]
    if meta:
        return torch.empty(shape, dtype=dtype, device="meta")
    init = p["init"]
    if init == "zeros":
        value = torch.zeros(shape, dtype=torch.float32)
    elif init == "ones":
        value = torch.ones(shape, dtype=torch.float32)
    elif init == "normal":
        value = torch.randn(shape, generator=generator, dtype=torch.float32) * NORMAL_STD
    else:
        value = torch.rand(shape, generator=generator, dtype=torch.float32)
    return value.to(dtype)


def make_parameter(p: dict, generator: torch.Generator | None = None, meta: bool = False) -> nn.Parameter:
    """The ``nn.Parameter`` the compiler registers under the node's name."""
    return nn.Parameter(parameter_value(p, generator, meta), requires_grad=bool(p["requires_grad"]))


def parameter_source(p: dict) -> str:
    """How model.py creates it (values come from model.safetensors):
    ``nn.Parameter(torch.zeros((1, 1, 16)))``."""
    dtype = DTYPES[p["dtype"]]
    shape = tuple(p["shape"])
    zeros = f"torch.zeros({shape!r}" + ("" if dtype == torch.float32 else f", dtype={dtype}") + ")"
    return f"nn.Parameter({zeros}" + ("" if p["requires_grad"] else ", requires_grad=False") + ")"


PARAMETER = BlockSpec(
    TYPE_NAME, "Tensor operations",
    "A learnable tensor of its own (nn.Parameter), such as a class token or position embeddings.",
    params=(ParamSpec("shape", "shape", [1, 16], "the tensor's shape", length=(0, 8), key=True),
            ParamSpec("dtype", "choice", "float32", "its element type", choices=FLOAT_DTYPES),
            ParamSpec("init", "choice", "zeros", "its first value: zeros, ones, N(0, 0.02) or U(0, 1)",
                      choices=INITS, key=True),
            ParamSpec("requires_grad", "bool", True, "train it (false keeps it fixed, but in state_dict)")),
    inputs=(), infer=_infer, param_shapes=_param_shapes, role=Role.PARAMETER, icon="mdi6.tune-variant")

BLOCKS = (PARAMETER,)
