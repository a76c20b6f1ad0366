"""Looking inside a checkpoint without the network that wrote it.

``open_checkpoint`` lists every leaf of a file as an :class:`Entry` with a
dotted name built from dict keys and list indices (``model.0.weight``,
``optimizer.state.0.exp_avg``).  Tensors load only when asked: safetensors
files are listed from their header alone and each tensor is read on
``Entry.load()``; PyTorch zip files are memory-mapped, so their bytes are read
when used; legacy (pre-1.6) files cannot be mapped and are read whole.
Numbers, strings and other non-tensor leaves are listed as metadata.

Entries that are the very same tensor data as an earlier entry (same storage,
offset, shape, stride and dtype: tied weights) get ``alias_of`` set to the
earlier name and are not counted again in size totals.  The same safety
rules as :mod:`netstudio.files.tensor_io` apply: pickled code is refused.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch

from netstudio.errors import FileFormatError
from netstudio.files.tensor_io import (
    SAFETENSORS_DTYPES,
    SINGLE_TENSOR_NAME,
    FileKind,
    alias_key,
    open_safetensors,
    read_layout,
    sniff_file,
    torch_load_weights_only,
)


@dataclass(frozen=True, eq=False)
class Entry:
    """One leaf of a checkpoint: a tensor (``shape`` set) or metadata (``value`` set)."""

    name: str
    shape: tuple[int, ...] | None = None
    dtype: str | None = None  # e.g. "float32"
    numel: int = 0
    nbytes: int = 0
    value: object = None
    alias_of: str | None = None
    _loader: Callable[[], torch.Tensor] | None = field(default=None, repr=False)

    @property
    def is_tensor(self) -> bool:
        return self._loader is not None

    def load(self) -> torch.Tensor:
        """Read this tensor (on the CPU); metadata entries have nothing to load."""
        if self._loader is None:
            raise FileFormatError(f"'{self.name}' is a {type(self.value).__name__} value, not a tensor.")
        return self._loader()


@dataclass(eq=False)
class TreeNode:
    """A dotted-name prefix (``model.0``) and what lies under it, for a tree view."""

    name: str  # the last part of ``path``; "" for the root
    path: str
    entry: Entry | None = None  # the entry named exactly ``path``, if any
    children: dict[str, TreeNode] = field(default_factory=dict)
    numel: int = 0  # elements of all tensors below, aliases not counted
    nbytes: int = 0


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """The entries of one file, in file order."""

    path: Path
    kind: FileKind
    entries: tuple[Entry, ...]
    metadata: dict[str, str]  # a safetensors header's free-form metadata; {} for torch files

    def __getitem__(self, name: str) -> Entry:
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, Entry]:
        return {entry.name: entry for entry in reversed(self.entries)}  # first entry wins a clash

    def tensors(self) -> list[Entry]:
        return [e for e in self.entries if e.is_tensor]

    @property
    def numel(self) -> int:
        return sum(e.numel for e in self.entries if e.alias_of is None)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.entries if e.alias_of is None)

    def tree(self) -> TreeNode:
        """Entries grouped by dotted prefix, with element and byte totals per node."""
        root = TreeNode("", "")
        for entry in self.entries:
            node = root
            chain = [root]
            for part in entry.name.split("."):
                path = f"{node.path}.{part}" if node.path else part
                node = node.children.setdefault(part, TreeNode(part, path))
                chain.append(node)
            node.entry = entry
            if entry.alias_of is None:
                for n in chain:
                    n.numel += entry.numel
                    n.nbytes += entry.nbytes
        return root


def open_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """List a safetensors or PyTorch file's entries without loading its tensors."""
    path = Path(path)
    kind = sniff_file(path)
    if kind == "safetensors":
        entries, metadata = _safetensors_entries(path)
        return Checkpoint(path, kind, entries, metadata)
    obj = torch_load_weights_only(path)
    return Checkpoint(path, kind, _torch_entries(obj), {})


def flatten_leaves(obj: object, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(dotted name, leaf) for every leaf under nested dicts, lists and tuples.

    Empty containers are leaves, so they still show up, and so are lists of
    plain values (``betas: (0.9, 0.999)``); a bare root leaf is named
    ``"tensor"``.
    """
    if isinstance(obj, Mapping) and obj:
        items = ((str(k), v) for k, v in obj.items())
    elif isinstance(obj, (list, tuple)) and any(isinstance(v, (torch.Tensor, Mapping, list, tuple)) for v in obj):
        items = ((str(i), v) for i, v in enumerate(obj))
    else:
        yield prefix or SINGLE_TENSOR_NAME, obj
        return
    for key, value in items:
        yield from flatten_leaves(value, f"{prefix}.{key}" if prefix else key)


def _torch_entries(obj: object) -> tuple[Entry, ...]:
    first_name: dict[tuple, str] = {}
    entries = []
    for name, leaf in flatten_leaves(obj):
        if not isinstance(leaf, torch.Tensor):
            entries.append(Entry(name, value=leaf))
            continue
        key = alias_key(leaf)
        alias_of = first_name.get(key) if key is not None else None
        if key is not None and alias_of is None:
            first_name[key] = name
        entries.append(
            Entry(
                name,
                tuple(leaf.shape),
                _dtype_name(leaf.dtype),
                leaf.numel(),
                leaf.numel() * leaf.element_size(),
                alias_of=alias_of,
                _loader=lambda t=leaf: t,
            )
        )
    return tuple(entries)


def _safetensors_entries(path: Path) -> tuple[tuple[Entry, ...], dict[str, str]]:
    """Entries from the header only; NetStudio's own files keep their saved order and aliases."""
    with open_safetensors(path) as f:
        stored = f.offset_keys()
        slices = {name: f.get_slice(name) for name in stored}
        specs = {name: (tuple(s.get_shape()), s.get_dtype()) for name, s in slices.items()}
        metadata = dict(f.metadata() or {})
    layout = read_layout(path, metadata, stored)
    names = layout.names if layout is not None else stored
    aliases = layout.aliases if layout is not None else {}
    entries = []
    for name in names:
        target = aliases.get(name, name)
        shape, code = specs[target]
        dtype = SAFETENSORS_DTYPES.get(code)
        if dtype is None:
            raise FileFormatError(f"'{path.name}' holds tensors of type {code}, which NetStudio cannot read.")
        numel = math.prod(shape)
        entries.append(
            Entry(
                name,
                shape,
                _dtype_name(dtype),
                numel,
                numel * dtype.itemsize,
                alias_of=aliases.get(name),
                _loader=lambda target=target, shape=shape, dtype=dtype: _load_safetensor(path, target, shape, dtype),
            )
        )
    return tuple(entries), metadata


def _load_safetensor(path: Path, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    with open_safetensors(path) as f:
        tensor = f.get_tensor(name) if name in f.offset_keys() else None
    if tensor is None or tuple(tensor.shape) != shape or tensor.dtype != dtype:
        raise FileFormatError(f"'{path.name}' has changed on disk since it was opened; open it again.")
    return tensor


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
