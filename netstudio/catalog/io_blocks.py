"""Graph inputs and outputs: explicit nodes, so a block's signature is visible on the canvas."""

from __future__ import annotations

from .block_spec import BlockSpec, Role
from .params import ParamSpec
from .tensor_spec import DTYPES

IO = "Inputs and outputs"

INPUT = BlockSpec(
    "Input", IO, "A tensor entering the network; at the top level it declares an example shape and dtype.",
    params=(ParamSpec("shape", "shape", [2, 20], "example shape, batch first; empty inside blocks (taken from the caller)",
                      optional=True, length=(0, 8), key=True),
            ParamSpec("dtype", "choice", "float32", "element type of the example", choices=tuple(DTYPES), key=True)),
    inputs=(), role=Role.INPUT, icon="mdi6.import")

OUTPUT = BlockSpec(
    "Output", IO, "A tensor leaving the network (several outputs return a tuple).",
    outputs=(), role=Role.OUTPUT, icon="mdi6.export")

BLOCKS = (INPUT, OUTPUT)
