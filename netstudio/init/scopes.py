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

from netstudio.errors import NetStudioError
from netstudio.params.net_index import NetIndex, brief, listing, parameter_at, quote, type_name

__all__ = ["ResolvedParam", "Scope", "locate", "resolve", "type_name", "within"]

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
                raise NetStudioError(f"The scope's {name} must be text, not {brief(value)}.")
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
        unknown = set(data) - set(_FIELDS)
        if unknown:
            raise NetStudioError(f"A scope has unknown fields: {listing(unknown)}.")
        return cls(**data)


def resolve(module: nn.Module, scope: Scope, index: NetIndex | None = None) -> list[ResolvedParam]:
    """The parameters in scope, in ``state_dict`` order, each tied parameter once.

    ``index`` (built from ``module``) lets many resolutions share one walk of the network.
    """
    index = index if index is not None else NetIndex(module)
    return [ResolvedParam(index.names[pos], owner, leaf, index.tensors[pos])
            for pos, owner, leaf in locate(index, module, scope)]


def locate(index: NetIndex, module: nn.Module, scope: Scope) -> list[tuple[int, nn.Module, str]]:
    """(position, owner, leaf) of each parameter in scope; raises for a name the network lacks."""
    if scope.param is not None:
        found = parameter_at(module, scope.param)
        if found is None:
            raise NetStudioError(f"The network has no parameter named {quote(scope.param)}.")
        owner, leaf, tensor = found
        return [(index.position[id(tensor)], owner, leaf)]
    first, end = within(index, scope.within)
    return index.matches((scope.module_type, scope.leaf), first, end)


def within(index: NetIndex, path: str) -> tuple[int, int]:
    """The occurrences under module ``path``; raises if the network has no such module."""
    found = index.paths.get(path)
    if found is None:
        raise NetStudioError(f"The network has no module named {quote(path)}.")
    return found[1], found[2]

