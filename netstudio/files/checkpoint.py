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

Unusual tensors are listed by what they store (see
:mod:`netstudio.tensors.layout`): an expanded view of one value has
``numel`` 2**40 but ``stored`` 1 and ``nbytes`` of one element, and a
``note`` saying so; sparse, quantized, meta and nested tensors say what they
are too.  A pickle can share one container many times over ("billion
laughs": tiny in memory, exponential to walk) or nest thousands deep, so
:func:`flatten_leaves` walks iteratively and stops, in one sentence, beyond
``MAX_ENTRIES`` leaves, ``MAX_VISITS`` steps, ``MAX_DEPTH`` levels or
``MAX_NAME_CHARS`` characters of names, and at a container that holds itself.
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
from netstudio.files.bounds import check_budget
from netstudio.files.safe_read import quoted_name
from netstudio.files.safetensors_header import read_header
from netstudio.files.tensor_io import (
    SINGLE_TENSOR_NAME,
    FileKind,
    alias_key,
    open_safetensors,
    read_layout,
    sniff_file,
    torch_load_weights_only,
)
from netstudio.files.value_text import value_text
from netstudio.tensors.layout import describe

MAX_ENTRIES = 200_000
MAX_VISITS = 2_000_000  # containers and leaves walked, a shared one each time it is met
MAX_DEPTH = 1_000
MAX_NAME_CHARS = 20_000_000


@dataclass(frozen=True, eq=False)
class Entry:
    """One leaf of a checkpoint: a tensor (``shape`` set) or metadata (``value`` set)."""

    name: str
    shape: tuple[int, ...] | None = None
    dtype: str | None = None  # e.g. "float32"
    numel: int = 0
    nbytes: int = 0  # bytes stored: an expanded view counts its stored values, a sparse tensor its indices too
    value: object = None
    alias_of: str | None = None
    _loader: Callable[[], torch.Tensor] | None = field(default=None, repr=False)
    stored: int | None = None  # values actually stored, when not one per element (expanded, sparse)
    layout: str = "strided"  # or "sparse_coo", "sparse_csr", ..., "quantized", "meta", "nested"
    note: str = ""  # e.g. "expanded view of 1 stored value"; "" for an ordinary tensor

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
    return Checkpoint(path, kind, _torch_entries(obj, f"{quoted_name(path)}"), {})


def flatten_leaves(obj: object, prefix: str = "", source: str = "The checkpoint") -> Iterator[tuple[str, object]]:
    """(dotted name, leaf) for every leaf under nested dicts, lists and tuples, in order.

    Empty containers are leaves, so they still show up, and so are lists of
    plain values (``betas: (0.9, 0.999)``); a bare root leaf is named
    ``"tensor"``.  The walk is iterative and bounded (see the module
    docstring); ``source`` (e.g. ``"'ckpt.pt'"``) starts its error sentences.
    """
    is_branch = _BranchTest()
    if not is_branch(obj):
        yield prefix or SINGLE_TENSOR_NAME, obj
        return
    stack = [(prefix, _items(obj), id(obj))]
    on_path = {id(obj)}
    visits = leaves = chars = 0
    while stack:
        name, items, ident = stack[-1]
        item = next(items, _END)
        if item is _END:
            stack.pop()
            on_path.discard(ident)
            continue
        key, value = item
        child = f"{name}.{key}" if name else key
        visits += 1
        chars += len(child)
        if visits > MAX_VISITS or chars > MAX_NAME_CHARS:
            raise FileFormatError(f"{source} repeats its containers so often that listing it would take "
                                  "too long (a \"billion laughs\" pickle).")
        if is_branch(value):
            if id(value) in on_path:
                raise FileFormatError(f"{source} has a container that holds itself, so it cannot be listed.")
            if len(stack) >= MAX_DEPTH:
                raise FileFormatError(f"{source} nests containers more than {MAX_DEPTH:,} levels deep, "
                                      "more than NetStudio lists.")
            stack.append((child, _items(value), id(value)))
            on_path.add(id(value))
            continue
        leaves += 1
        if leaves > MAX_ENTRIES:
            raise FileFormatError(f"{source} has more than {MAX_ENTRIES:,} entries, more than NetStudio lists.")
        yield child, value


_END = object()


class _BranchTest:
    """Whether a value is walked into: a non-empty mapping, or a list/tuple holding a tensor or a
    container.  Answers are kept per object, so a list shared a million times is scanned once."""

    def __init__(self):
        self._seen: dict[int, bool] = {}

    def __call__(self, obj: object) -> bool:
        if isinstance(obj, Mapping):
            return bool(obj)
        if not isinstance(obj, (list, tuple)):
            return False
        answer = self._seen.get(id(obj))
        if answer is None:
            answer = self._seen[id(obj)] = any(isinstance(v, (torch.Tensor, Mapping, list, tuple)) for v in obj)
        return answer


def _items(obj: object) -> Iterator[tuple[str, object]]:
    if isinstance(obj, Mapping):
        return ((_key_text(k), v) for k, v in obj.items())
    return ((str(i), v) for i, v in enumerate(obj))


def _key_text(key: object) -> str:
    return key if isinstance(key, str) else value_text(key, limit=80)


def _torch_entries(obj: object, source: str = "The checkpoint") -> tuple[Entry, ...]:
    first_name: dict[tuple, str] = {}
    entries = []
    for name, leaf in flatten_leaves(obj, source=source):
        if not isinstance(leaf, torch.Tensor):
            entries.append(Entry(name, value=leaf))
            continue
        key = alias_key(leaf)
        alias_of = first_name.get(key) if key is not None else None
        if key is not None and alias_of is None:
            first_name[key] = name
        facts = describe(leaf)
        entries.append(
            Entry(
                name,
                facts.shape,
                facts.dtype,
                facts.numel,
                facts.nbytes,
                alias_of=alias_of,
                _loader=lambda t=leaf: t,
                stored=facts.stored,
                layout=facts.layout,
                note=facts.note,
            )
        )
    return tuple(entries)


def _safetensors_entries(path: Path) -> tuple[tuple[Entry, ...], dict[str, str]]:
    """Entries from the checked header only; NetStudio's own files keep their saved order and aliases."""
    header = read_header(path)
    stored = list(header.tensors)
    layout = read_layout(path, header.metadata, stored)
    names = layout.names if layout is not None else stored
    aliases = layout.aliases if layout is not None else {}
    entries = []
    for name in names:
        target = aliases.get(name, name)
        spec = header.tensors[target]
        entries.append(
            Entry(
                name,
                spec.shape,
                _dtype_name(spec.dtype),
                spec.numel,
                spec.end - spec.start,
                alias_of=aliases.get(name),
                _loader=lambda target=target, spec=spec: _load_safetensor(path, target, spec.shape, spec.dtype),
            )
        )
    return tuple(entries), dict(header.metadata)


def _load_safetensor(path: Path, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    check_budget(path, math.prod(shape) * dtype.itemsize, f"'{name[-60:]}'")
    with open_safetensors(path) as f:
        tensor = f.get_tensor(name) if name in f.offset_keys() else None
    if tensor is None or tuple(tensor.shape) != shape or tensor.dtype != dtype:
        raise FileFormatError(f"{quoted_name(path)} has changed on disk since it was opened; open it again.")
    return tensor


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
