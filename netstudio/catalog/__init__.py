"""The block catalog: every block type NetStudio knows, by type name.

The hand-written blocks come first; then a generated block for every other
public torch.nn module class (``torch_nn``).
"""

from __future__ import annotations

from . import (activations, code_block, containers, functions, io_blocks, layers, parameter_block, tensor_ops,
               torch_nn, torch_nn_tables)
from .block_spec import BlockSpec, ShapeError
from .params import ParamSpec
from .tensor_spec import DTYPES, TensorSpec, format_shape

CATALOG: dict[str, BlockSpec] = {
    spec.type_name: spec
    for module in (io_blocks, layers, activations, tensor_ops, functions, parameter_block, containers, code_block)
    for spec in module.BLOCKS
}
_generated = torch_nn.generate(set(CATALOG))
CATALOG.update((spec.type_name, spec) for spec in _generated)
# Type names of the generated blocks (their shape rule is torch's own, run on meta).
GENERATED: frozenset[str] = frozenset(spec.type_name for spec in _generated)

# The palette's order; a category missing here comes after these.
CATEGORY_ORDER: tuple[str, ...] = (
    io_blocks.IO, torch_nn_tables.LAYERS, torch_nn_tables.CONVOLUTION, torch_nn_tables.POOLING,
    torch_nn_tables.NORMALIZATION, torch_nn_tables.RECURRENT, torch_nn_tables.ATTENTION, torch_nn_tables.ACTIVATIONS,
    torch_nn_tables.DROPOUT, torch_nn_tables.PADDING, torch_nn_tables.EMBEDDING, torch_nn_tables.SHAPE,
    torch_nn_tables.DISTANCES, torch_nn_tables.LOSSES, tensor_ops.OPS,
    containers.CONTAINERS, "Custom code",
)
_order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
CATEGORIES: tuple[str, ...] = tuple(sorted(dict.fromkeys(spec.category for spec in CATALOG.values()),
                                           key=lambda c: _order.get(c, len(_order))))


def get_block(type_name: str) -> BlockSpec | None:
    return CATALOG.get(type_name)


__all__ = ["CATALOG", "CATEGORIES", "GENERATED", "BlockSpec", "DTYPES", "ParamSpec", "ShapeError", "TensorSpec",
           "format_shape", "get_block"]
