"""Trained values survive edits: carried across rebuilds by node identity, and kept for undo.

Every graph edit compiles a new network.  Matching old and new tensors by name
alone loses work: renaming a layer changes its names, inserting a block into a
Sequential shifts every position after it, and changing ``out_features``
3 → 5 → 3 comes back with fresh random weights.  So each tensor is identified
by where it comes from, ``(instance path, node id, leaf name)``, which no
rename or reordering changes, and a tensor that does not fit the new network
(its node removed, or resized) is *kept*, keyed by identity, shape and dtype,
so that undo (or the same size again) brings its values back.

Kept tensors are held in memory up to a budget (a quarter of the memory budget
by default); the oldest go first, and each one dropped is reported in
``dropped``, never silently.  A new project seed draws everything afresh, but
the old values are kept under the old seed, so undoing the seed change brings
them back too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from .catalog import get_block
from .catalog.block_spec import TENSOR_ROLES, Role
from .graph.module_paths import node_places
from .graph.project import Project
from .limits import format_bytes, memory_budget

Identity = tuple[tuple[str, ...], str, str]        # (instance path, owner node id, leaf name)
KeptKey = tuple[object, Identity, tuple[int, ...], torch.dtype]   # (seed, identity, shape, dtype)


def tensors_of(module: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and buffers by state_dict name (non-persistent buffers and tied names included)."""
    out = dict(module.named_parameters(remove_duplicate=False))
    out.update(module.named_buffers(remove_duplicate=False))
    return out


def tensor_identities(project: Project, names) -> dict[str, Identity]:
    """The identity of each tensor name of the compiled project (names outside any node are left out)."""
    places: dict[str, tuple[tuple[str, ...], str]] = {}
    instances: dict[str, list[tuple[tuple[str, ...], str]]] = {project.root: [((), "")]}
    for place in node_places(project):
        node = project.definitions[place.definition].nodes[place.node_id]
        places.setdefault(place.module_path, (place.instance, node.tied_to or node.id))
        child = node.text_param("definition")
        if child is not None and not node.tied_to and get_block(node.type).role is Role.CONTAINER:
            instances.setdefault(child, []).append((place.instance + (node.id,), place.module_path + "."))
    for d in project.definitions.values():       # a Constant or Parameter is a tensor of its block, not a module
        if d.kind != "graph":
            continue
        for node in d.nodes.values():
            spec = get_block(node.type)
            if spec is not None and spec.role in TENSOR_ROLES:
                for instance, prefix in instances.get(d.name, ()):
                    places.setdefault(prefix + node.name, (instance, node.id))
    out: dict[str, Identity] = {}
    for name in names:
        parts = name.split(".")
        for k in range(len(parts), 0, -1):
            hit = places.get(".".join(parts[:k]))
            if hit is not None:
                out[name] = (hit[0], hit[1], ".".join(parts[k:]))
                break
    return out


class TensorKeeper:
    """Carries values from an old network into a new one, and keeps what does not fit."""

    def __init__(self, budget: Callable[[], int] | None = None):
        self._budget = budget or (lambda: memory_budget() // 4)
        self._kept: OrderedDict[KeptKey, torch.Tensor] = OrderedDict()
        self.dropped: list[str] = []     # one sentence per kept tensor given up for memory

    @property
    def kept_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._kept.values())

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        self._kept.clear()

    def carry_over(self, old: nn.Module | None, old_ids: dict[str, Identity], old_seed: object,
                   new: nn.Module, new_ids: dict[str, Identity], new_seed: object) -> set[str]:
        """Fill ``new`` from ``old`` (same seed only) and from what was kept; keep the rest of ``old``.

        Returns the names of ``new``'s tensors that received values (every name of a tied tensor).
        """
        old_tensors = tensors_of(old) if old is not None else {}
        by_identity: dict[Identity, torch.Tensor] = {}
        for name, tensor in old_tensors.items():
            ident = old_ids.get(name)
            if ident is not None and not is_lazy(tensor):
                by_identity.setdefault(ident, tensor)
        used: set[Identity] = set()
        filled: set[int] = set()
        new_tensors = tensors_of(new)
        with torch.no_grad():
            for name, target in new_tensors.items():
                ident = new_ids.get(name)
                if ident is None or is_lazy(target) or id(target) in filled:
                    continue
                source = by_identity.get(ident) if old_seed == new_seed else None
                if source is not None and _fits(source, target):
                    target.copy_(source)
                    used.add(ident)
                    filled.add(id(target))
                    continue
                kept = self._kept.pop((new_seed, ident, tuple(target.shape), target.dtype), None)
                if kept is not None:
                    target.copy_(kept)
                    filled.add(id(target))
        for ident, tensor in by_identity.items():
            if ident not in used:
                self._keep((old_seed, ident, tuple(tensor.shape), tensor.dtype), tensor.detach())
        return {name for name, t in new_tensors.items() if id(t) in filled}

    def _keep(self, key: KeptKey, tensor: torch.Tensor) -> None:
        self._kept.pop(key, None)
        self._kept[key] = tensor
        budget, total = self._budget(), self.kept_bytes
        while total > budget and self._kept:
            (_, ident, shape, _), dropped = self._kept.popitem(last=False)
            size = dropped.numel() * dropped.element_size()
            total -= size
            self.dropped.append(f"the earlier values of {ident[2] or 'a tensor'} {tuple(shape)} of a removed or "
                                f"resized block were not kept for undo: {format_bytes(size)} would exceed the "
                                f"memory kept for undo ({format_bytes(budget)})")


def _fits(source: torch.Tensor, target: torch.Tensor) -> bool:
    return source.shape == target.shape and source.dtype == target.dtype
