"""Initialization assignments: (scope, scheme, args) stored in the project and replayed.

Reproducibility: every parameter an assignment touches gets its own CPU
generator, seeded from the project seed, the assignment's index and the
parameter's first name (:func:`derive_seed`). So the same seed and assignments
give the same weights bit for bit, on any device, and adding a layer does not
change how the other layers are initialized. Because each parameter's draws
are independent, a lazy parameter initialized when it materializes gets
exactly the values it would have got had its size been known up front.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter
from torch.utils.hooks import RemovableHandle

from netstudio.errors import NetStudioError
from netstudio.params.net_index import NetIndex, brief, listing
from netstudio.init.schemes import SCHEMES, ArgValue, InitScheme, get_scheme
from netstudio.init.scopes import Scope, resolve


@dataclass(frozen=True)
class InitAssignment:
    """Initialize the parameters in ``scope`` with ``scheme`` and its ``args``."""

    scope: Scope
    scheme: str
    args: Mapping[str, ArgValue] = field(default_factory=dict)

    def checked(self, registry: Mapping[str, InitScheme] = SCHEMES) -> InitAssignment:
        """A copy with validated arguments and every default filled in."""
        if not isinstance(self.scope, Scope):
            raise NetStudioError("An initialization needs a scope saying which parameters it applies to.")
        if not isinstance(self.args, Mapping):
            raise NetStudioError(f"The arguments of the {brief(self.scheme)} initialization must be named values.")
        return InitAssignment(self.scope, self.scheme, get_scheme(self.scheme, registry).validate(self.args))

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope.to_dict(), "scheme": self.scheme, "args": dict(self.args)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], registry: Mapping[str, InitScheme] = SCHEMES) -> InitAssignment:
        if not isinstance(data, Mapping) or not {"scope", "scheme"} <= data.keys():
            raise NetStudioError("An initialization needs a 'scope' and a 'scheme'.")
        unknown = set(data) - {"scope", "scheme", "args"}
        if unknown:
            raise NetStudioError(f"An initialization has unknown fields: {listing(unknown)}.")
        return cls(Scope.from_dict(data["scope"]), data["scheme"], data.get("args", {})).checked(registry)


@dataclass(frozen=True)
class InitReport:
    """Names initialized now, and names skipped because they are still deferred (lazy)."""

    initialized: tuple[str, ...]
    deferred: tuple[str, ...]


def derive_seed(seed: int, index: int, name: str) -> int:
    """The generator seed for parameter ``name`` under assignment ``index``."""
    digest = hashlib.blake2b(f"{seed}/{index}/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def _checked(assignments: Sequence[InitAssignment], registry: Mapping[str, InitScheme]) -> list[InitAssignment]:
    return [a.checked(registry) for a in assignments]


def _run(
    module: nn.Module,
    assignments: list[InitAssignment],
    seed: int,
    registry: Mapping[str, InitScheme],
    only: set[int] | None = None,
    first_index: int = 0,
) -> InitReport:
    """Check every target first, then fill them, so a shape problem changes no weight."""
    planned = []
    deferred: dict[str, None] = {}
    net = NetIndex(module)
    for index, assignment in enumerate(assignments, start=first_index):
        scheme = get_scheme(assignment.scheme, registry)
        for name, owner, _, tensor in resolve(module, assignment.scope, net):
            if only is not None and id(tensor) not in only:
                continue
            if isinstance(tensor, UninitializedParameter):
                deferred[name] = None
                continue
            scheme.check_target(tensor, owner=owner, name=f"'{name}'")
            planned.append((index, assignment, scheme, name, owner, tensor))
    for index, assignment, scheme, name, owner, tensor in planned:
        generator = torch.Generator().manual_seed(derive_seed(seed, index, name))
        scheme.apply(tensor, generator, owner=owner, name=f"'{name}'", **assignment.args)
    initialized = dict.fromkeys(name for *_, name, _, _ in planned)
    return InitReport(tuple(initialized), tuple(deferred))


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise NetStudioError(f"The initialization seed must be a whole number, not {seed!r}.")


def apply_assignments(
    module: nn.Module,
    assignments: Sequence[InitAssignment],
    seed: int,
    registry: Mapping[str, InitScheme] = SCHEMES,
    first_index: int = 0,
) -> InitReport:
    """Apply the assignments in order; all are validated and checked before any weight changes.

    ``first_index`` is the position of the first one in the project's full list, which
    seeds its draws: applying one assignment live gives what replaying the list gives.
    """
    _check_seed(seed)
    return _run(module, _checked(assignments, registry), seed, registry, first_index=first_index)


class DeferredInit:
    """Pending initializations of lazy parameters, applied by forward pre-hooks on their modules.

    Each hook runs after the lazy module's own hook has inferred the shapes and
    before the module computes anything, so even the first forward pass uses the
    assigned weights; it removes itself once its module has no pending parameter.
    """

    def __init__(
        self, module: nn.Module, assignments: list[InitAssignment], seed: int, registry: Mapping[str, InitScheme],
        first_index: int = 0,
    ) -> None:
        self._apply = (module, assignments, seed, registry)
        self._first_index = first_index
        self._pending: dict[int, str] = {}
        self._handles: dict[int, RemovableHandle] = {}
        net = NetIndex(module)
        for assignment in assignments:
            for name, owner, _, tensor in resolve(module, assignment.scope, net):
                if isinstance(tensor, UninitializedParameter):
                    self._pending[id(tensor)] = name
                    if id(owner) not in self._handles:
                        # A closure, not a bound method, so deep copies of the module stay cheap.
                        self._handles[id(owner)] = owner.register_forward_pre_hook(
                            lambda hooked, args: self._materialized(hooked)
                        )

    @property
    def pending(self) -> tuple[str, ...]:
        """Names of parameters still waiting for their first forward pass."""
        return tuple(self._pending.values())

    def remove(self) -> None:
        """Drop every pending initialization."""
        for handle in self._handles.values():
            handle.remove()
        self._handles.clear()
        self._pending.clear()

    def _materialized(self, owner: nn.Module) -> None:
        own = {id(p): p for p in owner._parameters.values() if id(p) in self._pending}
        ready = {key for key, p in own.items() if not isinstance(p, UninitializedParameter)}
        if not ready:
            return
        _run(*self._apply, only=ready, first_index=self._first_index)
        for key in ready:
            del self._pending[key]
        if not any(key in self._pending for key in own):
            self._handles.pop(id(owner)).remove()


def defer_until_materialized(
    module: nn.Module,
    assignments: Sequence[InitAssignment],
    seed: int,
    registry: Mapping[str, InitScheme] = SCHEMES,
    first_index: int = 0,
) -> DeferredInit:
    """Initialize each lazy parameter in scope as soon as its first forward pass gives it a shape."""
    _check_seed(seed)
    return DeferredInit(module, _checked(assignments, registry), seed, registry, first_index)
