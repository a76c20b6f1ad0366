"""The block catalog: every block type NetStudio knows, by type name."""

from __future__ import annotations

from . import activations, code_block, containers, io_blocks, layers, tensor_ops
from .block_spec import BlockSpec, ShapeError
from .params import ParamSpec
from .tensor_spec import DTYPES, TensorSpec, format_shape

CATALOG: dict[str, BlockSpec] = {
    spec.type_name: spec
    for module in (io_blocks, layers, activations, tensor_ops, containers, code_block)
    for spec in module.BLOCKS
}

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(spec.category for spec in CATALOG.values()))


def get_block(type_name: str) -> BlockSpec | None:
    return CATALOG.get(type_name)


__all__ = ["CATALOG", "CATEGORIES", "BlockSpec", "DTYPES", "ParamSpec", "ShapeError", "TensorSpec",
           "format_shape", "get_block"]
