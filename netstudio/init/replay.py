"""Replaying a project's recorded assignments and edits in time linear in the file and the network.

The result must be the one of applying the entries one at a time: each
assignment is checked (its scope resolves, every eager target passes its
scheme's checks) and then fills all its targets, each parameter from its own
generator seeded with ``(seed, index, first name)``; the edits follow, in
order.  An entry that does not apply is skipped, with one sentence in
``skipped``; lazy parameters get theirs when their first forward gives them
a shape.  Three things make it fast without changing a bit:

* the network is indexed once (:class:`NetIndex`), so an assignment resolves
  in time proportional to what it selects, not to the network's size;
* every built-in scheme overwrites its tensor without reading it, from a
  generator of its own, so a parameter's value is decided by the last
  assignment that fills it.  Going backwards, each parameter is filled once,
  by that assignment, and a union-find over the index's occurrence lists lets
  an earlier assignment visit only parameters no later one has taken.  Its
  checks still cover every target (a range minimum finds the first that would
  fail), so its message is the same;
* lazy parameters wait with one forward pre-hook per module, not one per entry.

Where that reasoning does not hold -- a parameter held by two different
modules, a tensor that is not float32/float64, a scheme that is not built in,
PyTorch's default on a module that is not torch's own (its
``reset_parameters`` is user code) -- every target of every assignment is
filled in order (*exact mode*), still over the index: as slow as the old
replay's fills, never slower.  Only code blocks (trusted projects) build such
networks.  Lazy parameters cannot be checked before they have a shape, so each
assignment that covers one keeps a small record until then: the cost there is
entries × lazy parameters (a network has few).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.parameter import is_lazy
from torch.utils.hooks import RemovableHandle

from netstudio.errors import NetStudioError
from netstudio.init.assignments import InitAssignment, derive_seed
from netstudio.params.net_index import Key, NetIndex, owner_of
from netstudio.init.schemes import SCHEMES, InitScheme, get_scheme, has_reset
from netstudio.init.scopes import locate, within
from netstudio.params.direct_edits import DirectEdit, find_tensor

_FLOATS = (torch.float32, torch.float64)
_TORCH_MODULES = "torch.nn.modules."

Target = tuple[int, nn.Module]   # (parameter position, owner)


@dataclass
class _Plan:
    """One assignment, resolved: a single parameter or a key and an occurrence range."""

    index: int
    assignment: InitAssignment
    scheme: InitScheme
    single: tuple[int, nn.Module, str] | None = None
    key: Key = (None, None)
    first: int = 0
    end: int = 0


def replay(
    module: nn.Module,
    assignments: Sequence[InitAssignment | NetStudioError],
    edits: Sequence[DirectEdit | NetStudioError],
    seed: int,
    skipped: list[str],
    registry: Mapping[str, InitScheme] = SCHEMES,
    first_index: int = 0,
) -> None:
    """Apply checked assignments, then edits, as one-at-a-time would; an entry that is a
    ``NetStudioError`` (it did not parse) or does not apply is said in ``skipped``."""
    net = NetIndex(module)
    plans: list[_Plan | str] = [_plan(net, module, a, first_index + i, registry) for i, a in enumerate(assignments)]
    valid = [p for p in plans if isinstance(p, _Plan)]
    fast = _can_skip(net, valid)
    fills = _Skipping(net).plan(plans) if fast else _everything(net, plans)
    waiting: dict[int, _Waiting] = {}
    for i, plan in enumerate(plans):
        if isinstance(plan, str):
            skipped.append(plan)
            continue
        _fill(net, plan, fills[i], seed, skipped)
        for owner, members in _lazy_targets(net, plan):
            _waiting(waiting, owner, seed, skipped, fast).groups.append((plan, members))
    for edit in edits:
        try:
            if isinstance(edit, NetStudioError):
                raise edit
            tensor = find_tensor(module, edit.name)
            if is_lazy(tensor):
                _waiting(waiting, owner_of(module, edit.name)[0], seed, skipped, fast).edits.append((edit, tensor))
            else:
                edit.apply_to(tensor)
        except NetStudioError as err:
            skipped.append(str(err))
    for entry in waiting.values():
        entry.hook()


def _plan(net: NetIndex, module: nn.Module, assignment: InitAssignment | NetStudioError, index: int,
          registry: Mapping[str, InitScheme]) -> _Plan | str:
    try:
        if isinstance(assignment, NetStudioError):
            raise assignment
        scheme = get_scheme(assignment.scheme, registry)
        scope = assignment.scope
        if scope.param is not None:
            return _Plan(index, assignment, scheme, single=locate(net, module, scope)[0])
        first, end = within(net, scope.within)
        return _Plan(index, assignment, scheme, key=(scope.module_type, scope.leaf), first=first, end=end)
    except NetStudioError as err:
        return str(err)


def _can_skip(net: NetIndex, plans: list[_Plan]) -> bool:
    """Whether a later assignment's values provably replace an earlier one's (see the module docstring)."""
    if net.shared_owners or any(t.dtype not in _FLOATS for t in net.tensors):
        return False
    schemes = {id(p.scheme): p.scheme for p in plans}.values()
    if any(SCHEMES.get(s.name) is not s for s in schemes):
        return False
    if any(s.needs_module for s in schemes):   # PyTorch's default runs the owner's own reset_parameters
        return all(type(o).__module__.startswith(_TORCH_MODULES) for o in net.owners)
    return True


def _targets(net: NetIndex, plan: _Plan, lazy: bool) -> list[tuple[int, nn.Module, str]]:
    if plan.single is not None:
        return [plan.single] if net.lazy[plan.single[0]] == lazy else []
    return net.matches(plan.key, plan.first, plan.end, lazy)


def _check(net: NetIndex, plan: _Plan, targets: Sequence[tuple[int, nn.Module, str]]) -> str | None:
    try:
        for pos, owner, _ in targets:
            plan.scheme.check_target(net.tensors[pos], owner=owner, name=f"'{net.names[pos]}'")
    except NetStudioError as err:
        return str(err)
    return None


def _everything(net: NetIndex, plans: list[_Plan | str]) -> dict[int, list[Target]]:
    """Exact mode: every eager target of every assignment that passes its checks."""
    fills: dict[int, list[Target]] = {}
    for i, plan in enumerate(plans):
        if isinstance(plan, _Plan):
            targets = _targets(net, plan, lazy=False)
            problem = _check(net, plan, targets)
            if problem is None:
                fills[i] = [(pos, owner) for pos, owner, _ in targets]
            else:
                plans[i] = problem
    return fills


class _Skipping:
    """Fast mode: each eager parameter is filled only by the last assignment that applies to it."""

    def __init__(self, net: NetIndex):
        self.net = net
        self.parent = {key: list(range(len(occs) + 1)) for key, occs in net.eager_keys.items()}
        self.slots: dict[int, list[tuple[list[int], int]]] = {}
        for key, occs in net.eager_keys.items():
            parent = self.parent[key]
            for slot, occurrence in enumerate(occs):
                self.slots.setdefault(occurrence, []).append((parent, slot))
        self.occurrences: dict[int, list[int]] = {}
        for occurrence, pos in enumerate(net.occ_pos):
            self.occurrences.setdefault(pos, []).append(occurrence)
        self.taken = bytearray(len(net.names))
        self.failing: dict[tuple[Key, int, bool], _Failing] = {}

    def plan(self, plans: list[_Plan | str]) -> dict[int, list[Target]]:
        for i, plan in enumerate(plans):
            if isinstance(plan, _Plan):
                problem = _check(self.net, plan, self._first_failing(plan))
                if problem is not None:
                    plans[i] = problem
        fills: dict[int, list[Target]] = {}
        for i in range(len(plans) - 1, -1, -1):
            plan = plans[i]
            if isinstance(plan, _Plan):
                fills[i] = self._take(plan)
        return fills

    def _first_failing(self, plan: _Plan) -> list[tuple[int, nn.Module, str]]:
        """The first eager target (in ``state_dict`` order) that fails the scheme's checks, if any."""
        net, scheme = self.net, plan.scheme
        if plan.single is not None:
            return [] if net.lazy[plan.single[0]] else [plan.single]
        if scheme.min_ndim == 0 and not scheme.needs_reset:
            return []   # nothing in the network can fail this scheme's checks
        kind = (plan.key, scheme.min_ndim, scheme.needs_reset)
        if kind not in self.failing:
            fails = [o for o in net.eager_keys.get(plan.key, [])
                     if net.tensors[net.occ_pos[o]].dim() < scheme.min_ndim
                     or (scheme.needs_reset and not has_reset(net.occ_owner[o]))]
            self.failing[kind] = _Failing(fails, [net.occ_pos[o] for o in fails])
        pos = self.failing[kind].first(plan.first, plan.end)
        return [] if pos is None else [(pos, net.owners[pos], "")]

    def _take(self, plan: _Plan) -> list[Target]:
        net, taken = self.net, []
        if plan.single is not None:
            pos, owner, _ = plan.single
            if not net.lazy[pos] and not self.taken[pos]:
                self._claim(pos)
                taken.append((pos, owner))
            return taken
        parent = self.parent.get(plan.key)
        if parent is None:
            return taken
        occs, lo, hi = net.span(net.eager_keys, plan.key, plan.first, plan.end)
        i = _find(parent, lo)
        while i < hi:
            pos = net.occ_pos[occs[i]]
            taken.append((pos, net.occ_owner[occs[i]]))
            self._claim(pos)
            i = _find(parent, i + 1)
        taken.sort(key=lambda t: t[0])
        return taken

    def _claim(self, pos: int) -> None:
        self.taken[pos] = 1
        for occurrence in self.occurrences[pos]:
            for parent, slot in self.slots.get(occurrence, ()):
                parent[slot] = slot + 1


def _find(parent: list[int], i: int) -> int:
    """The first slot at or after ``i`` whose parameter is not taken (path-halving union-find)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@dataclass
class _Failing:
    """Occurrences that fail a check, in order, with a sparse table for the least position in a range."""

    occurrences: list[int]
    positions: list[int]
    table: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.table = [self.positions]
        span = 1
        while 2 * span <= len(self.positions):
            row = self.table[-1]
            self.table.append([min(row[i], row[i + span]) for i in range(len(row) - span)])
            span *= 2

    def first(self, first: int, end: int) -> int | None:
        lo, hi = bisect_left(self.occurrences, first), bisect_left(self.occurrences, end)
        if lo >= hi:
            return None
        level = (hi - lo).bit_length() - 1
        return min(self.table[level][lo], self.table[level][hi - (1 << level)])


def _fill(net: NetIndex, plan: _Plan, targets: list[Target], seed: int, skipped: list[str]) -> None:
    try:
        for pos, owner in targets:
            _apply(plan, net.names[pos], net.tensors[pos], owner, seed)
    except NetStudioError as err:
        skipped.append(str(err))


def _apply(plan: _Plan, name: str, tensor: torch.Tensor, owner: nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(derive_seed(seed, plan.index, name))
    plan.scheme.apply(tensor, generator, owner=owner, name=f"'{name}'", **plan.assignment.args)


def _lazy_targets(net: NetIndex, plan: _Plan) -> list[tuple[nn.Module, list[tuple[int, str, torch.Tensor]]]]:
    """The assignment's lazy parameters, grouped by owner, as (position, first name, tensor)."""
    groups: dict[int, tuple[nn.Module, list]] = {}
    for pos, owner, _ in _targets(net, plan, lazy=True):
        groups.setdefault(id(owner), (owner, []))[1].append((pos, net.names[pos], net.tensors[pos]))
    return list(groups.values())


def _waiting(waiting: dict[int, _Waiting], owner: nn.Module, seed: int, skipped: list[str], fast: bool) -> _Waiting:
    if id(owner) not in waiting:
        waiting[id(owner)] = _Waiting(owner, seed, skipped, fast)
    return waiting[id(owner)]


@dataclass
class _Waiting:
    """What one lazy module waits for: assignment groups (in order), then edits; one hook applies them."""

    owner: nn.Module
    seed: int
    skipped: list[str]
    fast: bool
    groups: list[tuple[_Plan, list[tuple[int, str, torch.Tensor]]]] = field(default_factory=list)
    edits: list[tuple[DirectEdit, torch.Tensor]] = field(default_factory=list)
    handle: RemovableHandle | None = None

    def hook(self) -> None:
        # A closure, not a bound method, so deep copies of the module stay cheap.
        self.handle = self.owner.register_forward_pre_hook(lambda module, args: self._materialized())

    def _materialized(self) -> None:
        ready = [(plan, [m for m in members if not is_lazy(m[2])]) for plan, members in self.groups]
        ready = [(plan, members) for plan, members in ready if members]
        edits = [(edit, tensor) for edit, tensor in self.edits if not is_lazy(tensor)]
        if not ready and not edits:
            return
        problems, fills = self._decide(ready)
        for (plan, members), problem, fill in zip(ready, problems, fills):
            if problem is not None:
                self.skipped.append(problem)
                continue
            try:
                for _, name, tensor in fill:
                    _apply(plan, name, tensor, self.owner, self.seed)
            except NetStudioError as err:
                self.skipped.append(str(err))
        for edit, tensor in edits:
            try:
                edit.apply_to(tensor)
            except NetStudioError as err:
                self.skipped.append(str(err))
        self.groups = [(plan, [m for m in members if is_lazy(m[2])]) for plan, members in self.groups]
        self.groups = [(plan, members) for plan, members in self.groups if members]
        self.edits = [(edit, tensor) for edit, tensor in self.edits if is_lazy(tensor)]
        if not self.groups and not self.edits and self.handle is not None:
            self.handle.remove()

    def _decide(self, ready: list) -> tuple[list[str | None], list[list]]:
        """Each group's problem (its checks, now that shapes are known) and what it fills;
        in fast mode a member a later group fills is left to that group."""
        problems: list[str | None] = []
        for plan, members in ready:
            try:
                for _, name, tensor in members:
                    plan.scheme.check_target(tensor, owner=self.owner, name=f"'{name}'")
                problems.append(None)
            except NetStudioError as err:
                problems.append(str(err))
        if not self.fast:
            return problems, [members for _, members in ready]
        fills: list[list] = [[] for _ in ready]
        taken: set[int] = set()
        for i in range(len(ready) - 1, -1, -1):
            if problems[i] is None:
                fills[i] = [m for m in ready[i][1] if m[0] not in taken]
                taken.update(m[0] for m in ready[i][1])
        return problems, fills
