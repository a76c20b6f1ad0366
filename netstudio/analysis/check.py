"""``check``: every diagnostic of a project plus the shapes on every edge, in one pass."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..catalog import TensorSpec
from ..catalog.code_loader import describe_exception
from ..graph.names import display_name
from ..graph.project import Project
from .diagnostics import ERROR, WARNING, Diagnostic
from .shapes import NodeInfo, ShapeInference
from .network_size import size_diagnostics
from .structure import DefinitionChecker
from ..graph.topology import topology


@dataclass
class CheckResult:
    """Diagnostics, and what shape inference learned, keyed by (instance path, node id).

    The instance path is the tuple of container node ids from the root down to
    the instance of a definition (empty for the root).
    """

    diagnostics: list[Diagnostic] = field(default_factory=list)
    infos: dict[tuple[tuple[str, ...], str], NodeInfo] = field(default_factory=dict)
    network_bytes: int = 0   # parameters and constants of the compiled network

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def info(self, node_id: str, path: tuple[str, ...] = ()) -> NodeInfo | None:
        return self.infos.get((path, node_id))

    def output(self, node_id: str, port: str = "out", path: tuple[str, ...] = ()) -> TensorSpec | None:
        info = self.infos.get((path, node_id))
        return info.outputs.get(port) if info else None

    def for_node(self, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.node_id == node_id]


def reachable_definitions(project: Project) -> set[str]:
    """Definitions used, directly or through containers, by the root."""
    return project.reachable_from(project.root)


def check(project: Project, memory_budget: int | None = None) -> CheckResult:
    """Check structure, then infer shapes, then the network's size against ``memory_budget``
    (bytes; by default :func:`netstudio.limits.memory_budget`).  Never raises: a bug in a rule
    becomes a diagnostic too, so a hostile file can at worst be reported invalid."""
    try:
        return _check(project, memory_budget)
    except Exception as err:
        root = project.root if isinstance(project.root, str) else "main"
        return CheckResult([Diagnostic(ERROR, f"the project could not be checked: {describe_exception(err)}",
                                       root, where=display_name(root))])


def _check(project: Project, memory_budget: int | None) -> CheckResult:
    result = CheckResult()
    if project.root not in project.definitions:
        result.diagnostics.append(Diagnostic(ERROR, f"the top-level definition {project.root!r} does not exist",
                                             project.root))
        return result
    used = reachable_definitions(project)
    topologies, bad = {}, {}
    for d in project.definitions.values():
        topologies[d.name] = topo = topology(d)
        dname = display_name(str(d.name))
        checker = DefinitionChecker(project, d, topo)
        try:
            found = checker.run()
            chain = {n.id: i for i, n in enumerate(d.chain() or ())} if d.kind == "sequential" else None
        except Exception as err:   # a rule's bug: this definition is reported, the others still checked
            found, chain = [Diagnostic(ERROR, f"could not be checked: {describe_exception(err)}", d.name)], None
            checker.bad_nodes.update(d.nodes)
        for diag in found:
            node = d.nodes.get(diag.node_id) if diag.node_id else None
            name = display_name(str(d.effective_name(node, chain) or node.type)) if node else ""
            where = name if d.name == project.root else (f"{dname}/{name}" if name else dname)
            severity = diag.severity if d.name in used else WARNING
            result.diagnostics.append(replace(diag, where=where or dname, severity=severity))
        bad[d.name] = checker.bad_nodes
    inference = ShapeInference(project, topologies, bad)
    inference.run()
    seen = {(d.definition, d.node_id, d.message) for d in result.diagnostics}
    for diag in inference.diagnostics:
        key = (diag.definition, diag.node_id, diag.message)
        if key not in seen:
            seen.add(key)
            result.diagnostics.append(diag)
    result.infos = inference.infos
    result.diagnostics.extend(size_diagnostics(project, result, memory_budget))
    return result
