"""Finding modules and tensors by the dotted names a project file stores, without ``getattr``.

Names in a file are data.  ``getattr`` or ``get_submodule`` on them would reach
properties, methods and private attributes (``"forward"``, ``"_modules"``,
``"0.__dict__"``); here a name is looked up only in the ``_modules``,
``_parameters`` and ``_buffers`` dicts, so it finds exactly what ``state_dict``
calls it, or nothing.

:class:`NetIndex` walks a network once and lists every module path, every
*occurrence* of a parameter (a tied module shows its parameters under each of
its paths, as ``state_dict`` does) and every distinct parameter under its first
name, so that resolving a scope costs what it selects, not the network's size.
"""

from __future__ import annotations

import reprlib
from bisect import bisect_left

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import is_lazy

Key = tuple[str | None, str | None]   # (module type, leaf); None matches any

_REPR = reprlib.Repr()   # bounded in length and depth, whatever a file nests
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 2, 50, 50, 4, 4


def type_name(module: nn.Module) -> str:
    """The class name a scope matches: a lazy module's future class, otherwise its own."""
    if isinstance(module, LazyModuleMixin) and module.cls_to_become is not None:
        return module.cls_to_become.__name__
    return type(module).__name__


def _clip(text: str, limit: int) -> str:
    if not text.isprintable():
        text = repr(text)[1:-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(name: object, limit: int = 80) -> str:
    """``'name'`` for a message: one line, at most ``limit`` characters, whatever the file held."""
    return f"'{_clip(name, limit)}'" if isinstance(name, str) else f"'{brief(name, limit)}'"


def brief(value: object, limit: int = 60) -> str:
    """``repr(value)`` for a message, on one line and at most ``limit`` characters."""
    try:
        text = _REPR.repr(value)
    except ValueError:   # an int of more than 4,300 digits has no repr
        text = f"{type(value).__name__} too long to show"
    return _clip(text, limit)


def listing(names: object, most: int = 5) -> str:
    """``a, b, c and 4 more``: names read from a file, sorted, each clipped, the list cut short."""
    texts = sorted(_clip(str(n), 40) for n in names)   # type: ignore[attr-defined]
    more = f" and {len(texts) - most} more" if len(texts) > most else ""
    return ", ".join(texts[:most]) + more


def submodule_at(module: nn.Module, path: str) -> nn.Module | None:
    """The module at a dotted path (``""`` is ``module``), through ``_modules`` only; None if there is none."""
    if path == "":
        return module
    for atom in path.split("."):
        module = module._modules.get(atom)
        if module is None:
            return None
    return module


def split_name(name: str) -> tuple[str, str]:
    """``"0.net.weight"`` -> ``("0.net", "weight")``; a name without a dot belongs to the root."""
    path, dot, leaf = name.rpartition(".")
    return (path if dot else ""), leaf


def owner_of(module: nn.Module, name: str) -> tuple[nn.Module | None, str]:
    """The module whose ``_parameters``/``_buffers`` would hold ``name``, and the leaf name."""
    path, leaf = split_name(name)
    if "." in name and path == "":
        return None, leaf          # ".weight" is no state_dict name
    return submodule_at(module, path), leaf


def tensor_at(module: nn.Module, name: str) -> torch.Tensor | None:
    """The parameter or buffer at a ``state_dict`` name (aliases included), or None."""
    owner, leaf = owner_of(module, name)
    if owner is None:
        return None
    tensor = owner._parameters.get(leaf)
    return tensor if tensor is not None else owner._buffers.get(leaf)


def parameter_at(module: nn.Module, name: str) -> tuple[nn.Module, str, torch.Tensor] | None:
    """(owner, leaf, parameter) at a dotted parameter name, or None."""
    owner, leaf = owner_of(module, name)
    tensor = owner._parameters.get(leaf) if owner is not None else None
    return (owner, leaf, tensor) if tensor is not None else None


class NetIndex:
    """Every module path, parameter occurrence and distinct parameter of ``module``, in ``state_dict`` order.

    ``paths[p]`` is ``(module, first, end)``: the occurrences under path ``p`` are
    ``first <= o < end`` (a pre-order walk keeps each subtree contiguous).  A
    parameter's *position* is its place in ``named_parameters()``; its first
    name is the one ``named_parameters()`` gives it.
    """

    def __init__(self, module: nn.Module):
        self.paths: dict[str, tuple[nn.Module, int, int]] = {}
        self.occ_pos: list[int] = []            # occurrence -> parameter position
        self.occ_owner: list[nn.Module] = []    # occurrence -> module holding it
        self.occ_leaf: list[str] = []           # occurrence -> its name in that module
        self.names: list[str] = []              # position -> first name
        self.tensors: list[torch.Tensor] = []   # position -> parameter
        self.owners: list[nn.Module] = []       # position -> module holding it at its first name
        self.lazy: list[bool] = []              # position -> still uninitialized
        self.position: dict[int, int] = {}      # id(parameter) -> position
        self.shared_owners = False              # some parameter is held by two different modules
        self.eager_keys: dict[Key, list[int]] = {}   # key -> occurrences of eager parameters, ascending
        self.lazy_keys: dict[Key, list[int]] = {}
        self._walk(module)

    def _walk(self, root: nn.Module) -> None:
        starts: dict[str, int] = {}
        stack: list[tuple[str, nn.Module | None, frozenset[int]]] = [("", root, frozenset())]
        while stack:
            path, module, ancestors = stack.pop()
            if module is None:          # leaving ``path``: its subtree ends here
                self.paths[path] = (self.paths[path][0], starts[path], len(self.occ_pos))
                continue
            starts[path] = len(self.occ_pos)
            self.paths[path] = (module, 0, 0)
            kind = type_name(module)
            for leaf, tensor in module._parameters.items():
                if tensor is not None:
                    self._occurrence(path, module, kind, leaf, tensor)
            stack.append((path, None, ancestors))
            inside = ancestors | {id(module)}
            children = [(name, child) for name, child in module._modules.items()
                        if child is not None and id(child) not in inside]   # a cycle is walked once
            for name, child in reversed(children):
                stack.append((f"{path}.{name}" if path else name, child, inside))

    def _occurrence(self, path: str, module: nn.Module, kind: str, leaf: str, tensor: torch.Tensor) -> None:
        occurrence = len(self.occ_pos)
        position = self.position.get(id(tensor))
        if position is None:
            position = self.position[id(tensor)] = len(self.names)
            self.names.append(f"{path}.{leaf}" if path else leaf)
            self.tensors.append(tensor)
            self.owners.append(module)
            self.lazy.append(is_lazy(tensor))
        elif self.owners[position] is not module:
            self.shared_owners = True
        self.occ_pos.append(position)
        self.occ_owner.append(module)
        self.occ_leaf.append(leaf)
        keys = self.lazy_keys if self.lazy[position] else self.eager_keys
        for key in ((None, None), (kind, None), (None, leaf), (kind, leaf)):
            keys.setdefault(key, []).append(occurrence)

    def span(self, keys: dict[Key, list[int]], key: Key, first: int, end: int) -> tuple[list[int], int, int]:
        """The occurrences listed under ``key`` and the slice of them that lies in ``[first, end)``."""
        listed = keys.get(key, [])
        return listed, bisect_left(listed, first), bisect_left(listed, end)

    def matches(self, key: Key, first: int, end: int, lazy: bool | None = None) -> list[tuple[int, nn.Module, str]]:
        """(position, owner, leaf) of each parameter with an occurrence in ``[first, end)`` under
        ``key`` (only lazy or only eager ones if ``lazy`` says so), in ``state_dict`` order;
        owner and leaf are those of its first such occurrence."""
        found: dict[int, int] = {}
        kinds = {None: (self.eager_keys, self.lazy_keys), False: (self.eager_keys,), True: (self.lazy_keys,)}
        for keys in kinds[lazy]:
            listed, lo, hi = self.span(keys, key, first, end)
            for i in range(lo, hi):
                found.setdefault(self.occ_pos[listed[i]], listed[i])
        return [(pos, self.occ_owner[o], self.occ_leaf[o]) for pos, o in sorted(found.items())]
