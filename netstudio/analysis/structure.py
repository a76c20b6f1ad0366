"""Structural checks of each definition: types, values, names, edges, ties, containers, code.

These need no tensors at all; shape problems are found later by shape inference.
Given the checker of an earlier version of the same definition (``previous``), only
the nodes and edges an edit touched are checked again (see ``recheck.py``).
"""

from __future__ import annotations

from ..catalog import get_block
from ..catalog.block_spec import Role
from ..catalog.code_block import CodeSyntaxError, find_class
from ..catalog.containers import KIND_OF_CONTAINER
from ..graph.arguments import ArgumentError, arguments_problem, bind_params, may_use_arguments, references
from ..graph.definition import Definition
from ..graph.names import NameKind, name_problem, node_name_kind
from ..graph.node import Node
from ..graph.ports import input_ports, optional_input_ports, output_ports
from ..graph.project import Project
from .diagnostics import ERROR, WARNING, Diagnostic
from .recheck import NOTHING, Parts, same_wiring, stale_parts
from ..graph.topology import Topology

class DefinitionChecker:
    """Collects the structural diagnostics of one definition."""

    def __init__(self, project: Project, d: Definition, topo: Topology, previous: "DefinitionChecker | None" = None):
        self.project, self.d, self.topo = project, d, topo
        self.found: list[Diagnostic] = []
        self.chain_index: dict[str, int] | None = None
        self.chain_ids: list[str] | None = None           # a Sequential's chain, Input to Output excluded
        self.in_chain: dict[str, list[Diagnostic] | tuple[()]] = {}   # what each child's place in it found
        self.bad_nodes: set[str] = set()   # nodes that cannot be shape-inferred or compiled
        self.previous = previous
        self.parts = Parts()

    def error(self, node: Node | None, message: str, severity: str = ERROR) -> None:
        self.found.append(Diagnostic(severity, message, self.d.name, node.id if node else None))
        if node is not None and severity == ERROR:
            self.bad_nodes.add(node.id)

    def run(self) -> list[Diagnostic]:
        """The definition's diagnostics, in the order: the definition, its nodes, their names, the
        edges, the nodes' inputs and outputs, cycles."""
        d = self.d
        if not d.inputs:
            self.error(None, f"{d.name} has no Input node")
        if not d.outputs:
            self.error(None, f"{d.name} has no Output node")
        problem = arguments_problem(d.arguments)
        if problem:
            self.error(None, f"{d.name} cannot be compiled: {problem}")
        parts = self.parts
        earlier = self.previous
        # Only a Sequential's names and checks follow its wiring; worked out once (it walks every edge).
        wired = d.kind == "sequential" and earlier is not None and same_wiring(earlier.d, d)
        nodes, edges = stale_parts(self.previous, d, self.topo, parts, wired)
        chain_index = self._check_sequential(earlier if wired else None, {n.id for n in nodes})
        self.chain_index = chain_index
        self.previous = None   # what it found is ours now
        for node in nodes:
            found = (self._collect(self._check_node, node), self._collect(self._check_name, node),
                     self._collect(self._check_ports, node))
            parts.nodes[node.id] = found if any(found) else NOTHING
        for edge in edges:
            parts.edges[edge.id] = self._collect(self._check_edge, edge)
        head, self.found = self.found, []
        self._check_definition_names()
        names, self.found = self.found, []
        self._check_duplicates(chain_index)
        duplicates, self.found = self.found, []
        for node_id in self.topo.cyclic:
            self.error(d.nodes[node_id], "is part of a cycle (or fed by one); a network must flow one way")
        self.found = parts.assemble(d, head, names, duplicates, self.found)
        self.bad_nodes.update(diag.node_id for diag in self.found if diag.is_error and diag.node_id is not None)
        return self.found

    def _collect(self, check, item) -> list[Diagnostic] | tuple[()]:
        """What ``check(item)`` finds, apart from the rest (one shared empty tuple when nothing: a
        10,000-block definition keeps no 30,000 empty lists)."""
        outer, self.found = self.found, []
        try:
            check(item)
            return self.found or ()
        finally:
            self.found = outer

    # -- per node ---------------------------------------------------------------
    def _check_node(self, node: Node) -> None:
        spec = get_block(node.type)
        if spec is None:
            self.error(node, f"has unknown block type {node.type!r}")
            return
        for key in node.params:
            if spec.param(key) is None:
                self.error(node, f"{node.type} has no hyperparameter {key!r}")
        params = self._bound(node, spec)
        if params is None:
            return
        valid = True
        for p in spec.params:
            problem = p.validate(params.get(p.name, p.default))
            if problem:
                valid = False
                self.error(node, f"invalid hyperparameter: {problem}")
        if valid and spec.check is not None:
            problem = spec.check(spec.resolve(params))
            if problem:
                self.error(node, f"invalid hyperparameter: {problem}")
        if spec.role is Role.CONTAINER:
            self._check_container(node)
        elif spec.role is Role.CODE:
            self._check_code(node)
        elif spec.role is Role.INPUT and self.d.name == self.project.root and node.params.get("shape") is None:
            self.error(node, "the top-level Input needs an example shape, such as [2, 20]")
        if node.tied_to is not None:
            self._check_tie(node)

    def _bound(self, node: Node, spec) -> dict | None:
        """The node's hyperparameters with the definition's argument defaults in place of references;
        None (and an error) when a reference is unknown or stands where no argument may."""
        for key, value in node.params.items():
            ref = next(references(value), None)
            if ref is not None and not may_use_arguments(spec, key):
                self.error(node, f"its {key} cannot come from an argument ({ref.get('arg')!r:.60}): it decides "
                                 "what the block is or which ports it has")
                return None
        try:
            return bind_params(node.params, self.d.arguments if isinstance(self.d.arguments, dict) else {})
        except ArgumentError as err:
            self.error(node, str(err))
            return None

    def _check_container(self, node: Node) -> None:
        name = node.params.get("definition")
        target = self.project.definitions.get(name) if isinstance(name, str) else None
        if target is None:
            self.error(node, f"uses the block definition {name!r}, which does not exist")
        elif target.kind != KIND_OF_CONTAINER[node.type]:
            wanted = "Sequential" if target.kind == "sequential" else "Block"
            self.error(node, f"{name!r} is a {target.kind} definition; use a {wanted} node for it")
        elif _reaches(self.project, name, self.d.name):
            self.error(node, f"uses {name!r}, which contains {self.d.name!r} itself: blocks cannot nest recursively")
        else:
            given = node.params.get("args", {})
            unknown = [k for k in given if k not in target.arguments] if isinstance(given, dict) else []
            if unknown:
                declared = ", ".join(target.arguments) or "none"
                self.error(node, f"passes the argument {unknown[0]!r:.60}, which {name} does not declare "
                                 f"(it declares {declared:.200})")

    def _check_code(self, node: Node) -> None:
        class_name = node.params.get("class_name")
        problem = name_problem(class_name, NameKind.CLASS) if isinstance(class_name, str) else None
        args = node.params.get("args")
        if problem is None and isinstance(args, dict):
            problem = next(filter(None, (name_problem(k, NameKind.ARGUMENT) for k in args)), None)
        if problem:
            self.error(node, f"code block cannot be compiled: {problem}")
            return
        source = self.project.code.get(class_name) if isinstance(class_name, str) else None
        if source is None:
            self.error(node, f"the project has no code for class {class_name!r}")
            return
        try:
            find_class(source, class_name)
        except CodeSyntaxError as err:
            self.error(node, f"code error in {class_name}: {err}")
            return
        if not self.project.trusted:
            self.error(node, f"code block {class_name} is disabled because the project is not trusted")

    def _label(self, node: Node) -> str:
        return self.d.effective_name(node, self.chain_index) or node.type

    def _check_tie(self, node: Node) -> None:
        target = self.d.nodes.get(node.tied_to)
        if target is None:
            where = self.project.find_node(node.tied_to)[0]
            if where is not None:
                self.error(node, f"shares parameters with a node of {where.name!r}; ties must stay in one block")
            else:
                self.error(node, f"shares parameters with node {node.tied_to!r}, which does not exist")
            return
        if target.tied_to is not None:
            self.error(node, f"shares parameters with {self._label(target)!r}, which itself shares another node's")
        elif target.type != node.type:
            self.error(node, f"is a {node.type} but shares parameters with {self._label(target)!r}, a {target.type}")
        else:
            spec = get_block(node.type)
            declared = self.d.arguments if isinstance(self.d.arguments, dict) else {}
            try:
                mine = spec.resolve(bind_params(node.params, declared))
                theirs = spec.resolve(bind_params(target.params, declared))
            except ArgumentError:
                return   # reported on the node itself
            differ = [k for k in dict.fromkeys([*mine, *theirs])
                      if k not in ("in_features", "in_channels", "num_features") and mine.get(k) != theirs.get(k)]
            if differ:
                k = differ[0]
                self.error(node, f"shares parameters with {self._label(target)!r} but has {k} {mine.get(k)!r:.60} "
                                 f"instead of {theirs.get(k)!r:.60}: tied nodes must have the same shape")
            elif spec.role in (Role.INPUT, Role.OUTPUT, Role.CONSTANT, Role.PARAMETER):
                self.error(node, f"a {node.type} has no module to share")

    # -- names ------------------------------------------------------------------
    # Every name must pass the one name rule (it will be written into generated code), and be unique.
    def _check_definition_names(self) -> None:
        d = self.d
        for problem in (name_problem(d.name, NameKind.DEFINITION),
                        None if d.kind == "sequential" and d.class_name == "Sequential"
                        else name_problem(d.class_name, NameKind.CLASS)):
            if problem:
                self.error(None, f"the definition cannot be compiled: {problem}")

    def _check_name(self, node: Node) -> None:
        spec = get_block(node.type)
        problem = name_problem(node.name, node_name_kind(self.d.kind, spec.role if spec else None))
        if problem:
            self.error(node, "has no name" if node.name == "" else f"invalid name: {problem}")

    def _check_duplicates(self, chain_index: dict[str, int] | None) -> None:
        d = self.d
        if d.kind != "sequential" and len(set(n.name for n in d.nodes.values())) == len(d.nodes):
            return   # no two nodes share a name: the common case, and quickly told
        by_name: dict[str, list[Node]] = {}
        for node in d.nodes.values():
            if self.parts.nodes[node.id][1]:
                continue   # its name fails the rule, which is said already
            name = d.effective_name(node, chain_index) if d.kind == "sequential" else node.name
            if name:
                by_name.setdefault(name, []).append(node)
        for name, nodes in by_name.items():
            if len(nodes) > 1:
                for node in nodes:
                    self.error(node, f"name {name!r} is used by {len(nodes)} nodes; names must be unique in a block")

    # -- edges ------------------------------------------------------------------
    def _check_edge(self, e) -> None:
        d = self.d
        src, dst = d.nodes.get(e.src), d.nodes.get(e.dst)
        if src is None or dst is None:
            self.error(dst or src, f"has a connection to node {(e.src if src is None else e.dst)!r}, which does not exist")
            return
        if e.src_port not in output_ports(self.project, src):
            self.error(src, f"has no output named {e.src_port!r}")
        if e.dst_port not in input_ports(self.project, dst):
            self.error(dst, f"has no input named {e.dst_port!r}")

    def _check_ports(self, node: Node) -> None:
        """Each input takes exactly one connection; an output nobody uses is worth a warning."""
        if get_block(node.type) is None:
            return
        incoming = self.topo.incoming.get(node.id, [])
        optional = optional_input_ports(self.project, node)
        for port in input_ports(self.project, node):
            count = sum(1 for e in incoming if e.dst_port == port)
            label = "its input" if port == "in" else f"input {port!r}"
            if count == 0 and port not in optional:
                self.error(node, f"{label} is not connected")
            elif count > 1:
                self.error(node, f"{label} has {count} incoming connections; an input takes exactly one")
        if output_ports(self.project, node) and not self.topo.outgoing.get(node.id) and node.type != "Output":
            self.error(node, "its output is not used", WARNING)

    # -- sequential -------------------------------------------------------------
    def _check_sequential(self, earlier: "DefinitionChecker | None", stale: set[str]) -> dict[str, int] | None:
        """A Sequential's blocks form one chain, each taking one input and giving one output.  With the
        checker of an ``earlier`` version wired the same way (None otherwise), the chain is kept and only
        the ``stale`` children are looked at again."""
        if self.d.kind != "sequential":
            return None
        d = self.d
        kept = earlier is not None and earlier.chain_ids is not None
        if kept:
            self.chain_ids = earlier.chain_ids
        else:
            chain = d.chain()
            if chain is None:
                self.error(None, f"{d.name} is a Sequential, so its blocks must form one chain from the Input "
                                 "to the Output")
                return None
            self.chain_ids = [n.id for n in chain]
        for node_id in self.chain_ids:
            found = earlier.in_chain.get(node_id) if kept and node_id not in stale else None
            if found is None:
                found = self._collect(self._check_in_chain, d.nodes[node_id])
            self.in_chain[node_id] = found
            self.found.extend(found)
        return {node_id: i for i, node_id in enumerate(self.chain_ids)}

    def _check_in_chain(self, node: Node) -> None:
        spec = get_block(node.type)
        if spec is None:
            return
        required = [p for p in input_ports(self.project, node) if p not in optional_input_ports(self.project, node)]
        if spec.role in (Role.CONSTANT, Role.PARAMETER) or (spec.role is Role.LAYER and spec.make_module is None):
            self.error(node, f"a {node.type} cannot sit in a Sequential (it needs "
                             f"{len(spec.input_ports(node.params))} inputs); use a Block instead")
        elif len(required) != 1 or len(output_ports(self.project, node)) != 1:
            self.error(node, "a Sequential's children must take one input and give one output")


def _reaches(project: Project, start: str, goal: str) -> bool:
    """Whether definition ``start`` contains ``goal``, directly or through nested containers."""
    return goal in project.reachable_from(start)
