"""A checker that follows one project through its edits, redoing only what each edit reaches.

It is given successive immutable snapshots (``graph/snapshots.py``), which share
every definition, node and edge object an edit left alone.  A definition's
structural check is kept while the definition is the same object and so is what
the check reads elsewhere: the interfaces (kind, ports, arguments, nested uses)
of the definitions it contains, the code, the trust and the root.  Shape
inference keeps its instances (``instances.py``).  The result equals a full check.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..catalog.code_loader import describe_exception
from ..graph.definition import Definition
from ..graph.names import display_name
from ..graph.project import Project
from ..graph.topology import Topology, topology
from .. import limits
from ..gc_pause import gc_paused
from .diagnostics import ERROR, WARNING, Diagnostic
from .instances import CONTAINERS
from .network_size import size_diagnostics
from .result import CheckResult
from .shapes import ShapeInference
from .structure import DefinitionChecker


@dataclass
class _Structure:
    definition: Definition
    key: tuple            # the interfaces of what it contains, as checked
    foreign: bool         # a tie names a node outside it: depends on every other definition
    topo: Topology
    checker: DefinitionChecker | None   # what it found node by node, for checking the next version
    found: list[Diagnostic]
    bad: set[str]
    chain: dict[str, int] | None


class Checker:
    """``check(snapshot)`` for each new snapshot of the same project; ``check`` in ``check.py`` is a
    fresh one of these."""

    def __init__(self) -> None:
        self._forget()

    def _forget(self) -> None:
        self._interfaces: dict[str, tuple[Definition, tuple]] = {}
        self._structures: dict[str, _Structure] = {}
        self._inference: ShapeInference | None = None
        self._previous: Project | None = None
        self._context: object = object()

    def check(self, project: Project, memory_budget: int | None = None):
        try:
            with gc_paused():
                return self._check(project, memory_budget, CheckResult())
        except Exception:
            self._forget()   # a bug half-way leaves nothing half-kept for the next check
            raise

    def _check(self, project: Project, memory_budget: int | None, result):
        if project.root not in project.definitions:
            result.diagnostics.append(Diagnostic(ERROR, f"the top-level definition {project.root!r} does not exist",
                                                 project.root))
            return result
        previous, self._previous = self._previous, project
        if previous is None or previous.code is not project.code or previous.trusted != project.trusted \
                or previous.root != project.root:
            self._context, self._structures = object(), {}
        changed = {name for name, d in project.definitions.items()
                   if previous is None or previous.definitions.get(name) is not d}
        changed.update(name for name in (previous.definitions if previous else ()) if name not in project.definitions)
        reach = {name: self._reach(project, name) for name in project.definitions}
        used = {name for name, _ in reach[project.root]}
        for name in [n for n in self._structures if n not in project.definitions]:
            del self._structures[name]
        for d in project.definitions.values():
            kept = self._structures.get(d.name)
            if kept is None or kept.key != reach[d.name] or (kept.foreign and changed):
                self._structures[d.name] = self._structure(project, d, reach[d.name])
            elif kept.definition is not d:
                self._structures[d.name] = self._structure(project, d, reach[d.name], kept)
            kept = self._structures[d.name]
            dname = display_name(str(d.name))
            for diag in kept.found:
                node = d.nodes.get(diag.node_id) if diag.node_id else None
                name = display_name(str(d.effective_name(node, kept.chain) or node.type)) if node else ""
                where = name if d.name == project.root else (f"{dname}/{name}" if name else dname)
                severity = diag.severity if d.name in used else WARNING
                result.diagnostics.append(replace(diag, where=where or dname, severity=severity))
        dirty = {name for name, names in reach.items() if any(n in changed for n, _ in names)}
        topologies = {name: s.topo for name, s in self._structures.items()}
        bad = {name: s.bad for name, s in self._structures.items()}
        if self._inference is None:
            self._inference = ShapeInference(project, topologies, bad)
        self._inference.chains = {name: s.chain for name, s in self._structures.items() if s.chain is not None}
        self._inference.update(project, topologies, bad, dirty, self._context)
        seen = {(d.definition, d.node_id, d.message) for d in result.diagnostics}
        for diag in self._inference.diagnostics:
            key = (diag.definition, diag.node_id, diag.message)
            if key not in seen:
                seen.add(key)
                result.diagnostics.append(diag)
        total, budget = self._inference.network_bytes, limits.memory_budget() if memory_budget is None else memory_budget
        # Over the budget, the error names the first biggest block in the order a whole check meets them.
        result.infos = self._inference.ordered_infos() if total > budget else dict(self._inference.infos)
        result.diagnostics.extend(size_diagnostics(project, result, budget, total))
        return result

    def _structure(self, project: Project, d: Definition, key: tuple, kept: _Structure | None = None) -> _Structure:
        """Check ``d``; with what was ``kept`` of its previous version, only what changed in it."""
        old = kept.definition if kept is not None else None
        same_graph = old is not None and list(old.nodes) == list(d.nodes) and old.edges == d.edges \
            and list(old.edges) == list(d.edges)
        topo = kept.topo if same_graph else topology(d)
        checker = DefinitionChecker(project, d, topo, kept.checker if kept is not None else None)
        try:
            found = checker.run()
            chain = (checker.chain_index or {}) if d.kind == "sequential" else None
        except Exception as err:   # a rule's bug: this definition is reported, the others still checked
            found, chain = [Diagnostic(ERROR, f"could not be checked: {describe_exception(err)}", d.name)], None
            checker.bad_nodes.update(d.nodes)
            checker.parts = None   # nothing of it to build on
        foreign = any(n.tied_to is not None and n.tied_to not in d.nodes for n in d.nodes.values())
        return _Structure(d, key, foreign, topo, checker if checker.parts else None, found, checker.bad_nodes, chain)

    def _interface(self, d: Definition) -> tuple:
        """What the checks of a definition containing ``d`` read of it."""
        kept = self._interfaces.get(d.name)
        if kept is None or kept[0] is not d:
            uses = tuple(n.text_param("definition") for n in d.nodes.values()
                         if n.type in CONTAINERS and n.text_param("definition"))
            arguments = tuple(d.arguments) if isinstance(d.arguments, dict) else None
            kept = self._interfaces[d.name] = (d, (d.kind, tuple(n.name for n in d.inputs),
                                                   tuple(n.name for n in d.outputs), arguments, uses))
        return kept[1]

    def _reach(self, project: Project, start: str) -> tuple[tuple[str, tuple | None], ...]:
        """Each definition ``start`` contains, itself included, with its interface (None: missing)."""
        found: dict[str, tuple | None] = {}
        stack = [start]
        while stack:
            name = stack.pop()
            if name in found:
                continue
            d = project.definitions.get(name)
            found[name] = self._interface(d) if d is not None else None
            if d is not None:
                stack.extend(found[name][4])
        return tuple(found.items())
