"""A read-only tree of a network's modules, parameters and buffers.

The tree is rebuilt after every edit, so it only reads tensor metadata
(shape, dtype, device), never tensor values.

Tied tensors: PyTorch treats two names that hold the *same* Parameter (or
buffer) object as one tensor (``named_parameters(remove_duplicate=True)``).
The tree does the same: a tied tensor appears once, under its first name in
``state_dict`` order, and lists every other name in ``aliases``. Looking up
any alias with :meth:`ParamTree.find` returns that single entry. A module
that is itself shared (one ``nn.Linear`` placed at two positions) appears at
each of its names, so the hierarchy mirrors ``state_dict``, but its tensors
are listed only under the first name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

TensorKind = Literal["parameter", "buffer"]


@dataclass(frozen=True)
class TensorEntry:
    """One parameter or buffer; ``shape`` is None while it is deferred."""

    name: str
    kind: TensorKind
    shape: tuple[int, ...] | None
    dtype: str
    device: str
    numel: int
    nbytes: int
    requires_grad: bool
    deferred: bool
    persistent: bool
    aliases: tuple[str, ...]

    @property
    def leaf(self) -> str:
        """The attribute name inside its module, e.g. ``weight``."""
        return self.name.rpartition(".")[2]


@dataclass(frozen=True)
class ModuleEntry:
    """One module; totals cover its whole subtree, each distinct tensor once."""

    name: str
    class_name: str
    children: tuple[ModuleEntry, ...]
    tensors: tuple[TensorEntry, ...]
    aliases: tuple[str, ...]
    total_numel: int
    total_bytes: int


@dataclass(frozen=True)
class ParamTree:
    """The module hierarchy of a network down to its parameters and buffers."""

    root: ModuleEntry
    _by_name: dict[str, TensorEntry | ModuleEntry]
    _entries: tuple[TensorEntry, ...]

    def find(self, name: str) -> TensorEntry | ModuleEntry | None:
        """The entry for a dotted name (any alias of a tied tensor), or None."""
        return self._by_name.get(name)

    def entries(self) -> list[TensorEntry]:
        """Every distinct tensor, in ``state_dict`` order."""
        return list(self._entries)

    @property
    def total_numel(self) -> int:
        return self.root.total_numel

    @property
    def total_bytes(self) -> int:
        return self.root.total_bytes

    @property
    def has_deferred(self) -> bool:
        """True while some lazy tensor still waits for its first forward pass."""
        return any(entry.deferred for entry in self._entries)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _tensor_entry(
    name: str, tensor: torch.Tensor, kind: TensorKind, persistent: bool, aliases: tuple[str, ...]
) -> TensorEntry:
    deferred = isinstance(tensor, (UninitializedParameter, UninitializedBuffer))
    shape = None if deferred else tuple(tensor.shape)
    numel = 0 if deferred else tensor.numel()
    return TensorEntry(
        name=name,
        kind=kind,
        shape=shape,
        dtype=_dtype_name(tensor.dtype),
        device=str(tensor.device),
        numel=numel,
        nbytes=numel * tensor.dtype.itemsize,
        requires_grad=tensor.requires_grad,
        deferred=deferred,
        persistent=persistent,
        aliases=aliases,
    )


def _own_tensors(module: nn.Module) -> list[tuple[str, torch.Tensor, TensorKind, bool]]:
    """The module's direct parameters then buffers, as ``(leaf, tensor, kind, persistent)``."""
    own = [(leaf, p, "parameter", True) for leaf, p in module._parameters.items() if p is not None]
    own += [
        (leaf, b, "buffer", leaf not in module._non_persistent_buffers_set)
        for leaf, b in module._buffers.items()
        if b is not None
    ]
    return own


def _all_names(module: nn.Module) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Every dotted name of every tensor and of every module, grouped by identity, first name first."""
    tensors: dict[int, list[str]] = {}
    modules: dict[int, list[str]] = {}
    for prefix, sub in module.named_modules(remove_duplicate=False):
        modules.setdefault(id(sub), []).append(prefix)
        for leaf, tensor, _, _ in _own_tensors(sub):
            tensors.setdefault(id(tensor), []).append(_join(prefix, leaf))
    return tensors, modules


class _Builder:
    def __init__(self, module: nn.Module):
        self.tensor_names, self.module_names = _all_names(module)
        self.by_name: dict[str, TensorEntry | ModuleEntry] = {}
        self.by_id: dict[int, TensorEntry] = {}
        self.order: list[TensorEntry] = []

    def build(self, module: nn.Module, name: str) -> tuple[ModuleEntry, dict[int, TensorEntry]]:
        """Build ``module``'s entry and return it with the distinct tensors of its subtree."""
        subtree: dict[int, TensorEntry] = {}
        tensors = []
        for leaf, tensor, kind, persistent in _own_tensors(module):
            key = id(tensor)
            if key not in self.by_id:
                first, *others = self.tensor_names[key]
                entry = _tensor_entry(first, tensor, kind, persistent, tuple(others))
                self.by_id[key] = entry
                self.order.append(entry)
                tensors.append(entry)
                for alias in (first, *others):
                    self.by_name[alias] = entry
            subtree[key] = self.by_id[key]
        children = []
        for child_name, child in module._modules.items():
            if child is None:
                continue
            child_entry, child_tensors = self.build(child, _join(name, child_name))
            children.append(child_entry)
            subtree.update(child_tensors)
        aliases = tuple(n for n in self.module_names[id(module)] if n != name)
        entry = ModuleEntry(
            name=name,
            class_name=type(module).__name__,
            children=tuple(children),
            tensors=tuple(tensors),
            aliases=aliases,
            total_numel=sum(t.numel for t in subtree.values()),
            total_bytes=sum(t.nbytes for t in subtree.values()),
        )
        self.by_name.setdefault(name, entry)
        return entry, subtree


def build_param_tree(module: nn.Module) -> ParamTree:
    """Describe ``module``'s hierarchy; cheap enough to call after every edit."""
    builder = _Builder(module)
    root, _ = builder.build(module, "")
    return ParamTree(root=root, _by_name=builder.by_name, _entries=tuple(builder.order))
