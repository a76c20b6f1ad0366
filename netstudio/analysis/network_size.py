"""How much memory a network will take, known from shape inference before anything is allocated.

A 900-byte project can describe a network of gigabytes.  Compiling it would
allocate all of that at once, so ``check`` compares the size of every
parameter and constant with the memory budget (:mod:`netstudio.limits`): a
network over it is an error on its largest block, and is never compiled.
"""

from __future__ import annotations

import functools

import torch

from ..catalog import get_block
from ..catalog.block_spec import Role
from ..graph.names import display_name
from ..graph.node import Node
from ..graph.project import Project
from ..limits import format_bytes, memory_budget
from .diagnostics import ERROR, WARNING, Diagnostic

LARGE_NETWORK = 1 << 30   # a warning above this many bytes: worth knowing before pressing Forward


def node_bytes(project: Project, result) -> dict[tuple[tuple[str, ...], str], int]:
    """Bytes of parameters or constant data each node instance owns (tied uses own nothing)."""
    nodes = {n.id: n for d in project.definitions.values() for n in d.nodes.values()}
    sizes: dict[tuple[tuple[str, ...], str], int] = {}
    for key, info in result.infos.items():
        node = nodes.get(key[1])
        size = node_size(node, info) if node is not None else 0
        if size:
            sizes[key] = size
    return sizes


def node_size(node: Node, info) -> int:
    """Bytes of parameters or constant data one instance of ``node`` owns, as inferred in ``info``."""
    if node.tied_to:
        return 0
    spec = get_block(node.type)
    if spec is not None and spec.role is Role.CONSTANT:
        out = next(iter(info.outputs.values()), None)
        return out.numel * _itemsize(out.dtype) if out is not None else 0
    return info.param_count * _itemsize(info.param_dtype)


def size_diagnostics(project: Project, result, budget: int | None = None, total: int | None = None) -> list[Diagnostic]:
    """An error when the network exceeds the budget, a warning when it is merely large.  ``total``: the
    bytes when known already (shape inference adds them up), so nodes are only looked at for an error."""
    sizes = node_bytes(project, result) if total is None else None
    total = sum(sizes.values()) if total is None else total
    result.network_bytes = total
    if not total:
        return []
    budget = memory_budget() if budget is None else budget
    if total > budget:
        sizes = node_bytes(project, result) if sizes is None else sizes
        (path, node_id), biggest = max(sizes.items(), key=lambda item: item[1])
        definition = next(d for d in project.definitions.values() if node_id in d.nodes)
        node = definition.nodes[node_id]
        where = display_name(definition.effective_name(node) or node.type)
        alone = "" if biggest == total else f"; this block alone needs {format_bytes(biggest)}"
        message = (f"the network needs {format_bytes(total)} for its parameters and constants, more than the "
                   f"memory budget of {format_bytes(budget)}{alone} (make it smaller, or raise the budget)")
        return [Diagnostic(ERROR, message, definition.name, node_id, path, where)]
    if total >= LARGE_NETWORK:
        message = f"the network's parameters and constants take {format_bytes(total)} of memory"
        return [Diagnostic(WARNING, message, project.root, None, (), display_name(project.root))]
    return []


@functools.lru_cache(maxsize=None)
def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype, device="meta").element_size()
