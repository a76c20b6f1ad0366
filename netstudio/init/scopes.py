"""Which parameters an initialization applies to.

A :class:`Scope` is either one parameter (``param``, any alias of a tied
parameter) or a filter: everything ``within`` a module (``""`` is the whole
network, like ``net.apply``), optionally only modules of one type and only
parameters with one leaf name (``weight``/``bias``); the filters combine.

Module types match by exact class name, as the seed's ``type(m) == nn.Linear``
does, so a subclass of ``Linear`` is not a ``Linear``. A lazy module counts as
the class it becomes: ``LazyLinear`` matches ``Linear`` before and after it
materializes, so a pending initialization still finds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

from netstudio.errors import NetStudioError

_FIELDS = ("param", "within", "module_type", "leaf")


class ResolvedParam(NamedTuple):
    """A parameter in scope: its first (canonical) dotted name, owner module, leaf name and tensor."""

    name: str
    module: nn.Module
    leaf: str
    tensor: torch.Tensor


@dataclass(frozen=True)
class Scope:
    """One parameter, or the parameters within a module that pass the type and leaf filters."""

    param: str | None = None
    within: str = ""
    module_type: str | None = None
    leaf: str | None = None

    def __post_init__(self) -> None:
        for name in _FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise NetStudioError(f"The scope's {name} must be text, not {value!r}.")
        if self.within is None:
            object.__setattr__(self, "within", "")
        for name in ("param", "module_type", "leaf"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)
        if self.param is not None and (self.within or self.module_type or self.leaf):
            raise NetStudioError("A scope names either one parameter or a filter, not both.")

    @classmethod
    def network(cls) -> Scope:
        return cls()

    @classmethod
    def module(cls, path: str) -> Scope:
        return cls(within=path)

    @classmethod
    def parameter(cls, name: str) -> Scope:
        return cls(param=name)

    def to_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in _FIELDS if getattr(self, name)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scope:
        if not isinstance(data, Mapping):
            raise NetStudioError("A scope must be a set of named fields.")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise NetStudioError(f"A scope has unknown fields: {', '.join(unknown)}.")
        return cls(**data)


def type_name(module: nn.Module) -> str:
    """The class name a scope matches: a lazy module's future class, otherwise its own."""
    if isinstance(module, LazyModuleMixin) and module.cls_to_become is not None:
        return module.cls_to_become.__name__
    return type(module).__name__


def _inside(name: str, within: str) -> bool:
    return not within or name == within or name.startswith(within + ".")


def resolve(module: nn.Module, scope: Scope) -> list[ResolvedParam]:
    """The parameters in scope, in ``state_dict`` order, each tied parameter once."""
    first_names = {id(p): n for n, p in module.named_parameters()}
    if scope.param is not None:
        path, _, leaf = scope.param.rpartition(".")
        owner = _submodule(module, path, f"The network has no parameter named '{scope.param}'.")
        tensor = owner._parameters.get(leaf)
        if tensor is None:
            raise NetStudioError(f"The network has no parameter named '{scope.param}'.")
        return [ResolvedParam(first_names[id(tensor)], owner, leaf, tensor)]
    _submodule(module, scope.within, f"The network has no module named '{scope.within}'.")
    found: dict[int, ResolvedParam] = {}
    for name, sub in module.named_modules(remove_duplicate=False):
        if not _inside(name, scope.within) or (scope.module_type and type_name(sub) != scope.module_type):
            continue
        for leaf, tensor in sub._parameters.items():
            if tensor is not None and scope.leaf in (None, leaf) and id(tensor) not in found:
                found[id(tensor)] = ResolvedParam(first_names[id(tensor)], sub, leaf, tensor)
    order = {name: i for i, name in enumerate(first_names.values())}
    return sorted(found.values(), key=lambda r: order[r.name])


def _submodule(module: nn.Module, path: str, message: str) -> nn.Module:
    try:
        return module.get_submodule(path)
    except AttributeError:
        raise NetStudioError(message) from None
