"""Shape inference that allocates nothing.

Every block of the catalog has a fast shape rule in plain Python (checked
against torch's meta kernels by the tests).  Code blocks, whose shapes only
their own forward knows, run on the meta device; if their forward needs real
values (``while X.abs().sum() > 1``) and the input is small, they run once on
zeros on the CPU instead.  Results for code blocks are cached, so re-checking
after each edit stays cheap.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field

import torch

from ..catalog import DTYPES, TensorSpec, format_shape, get_block
from ..catalog.block_spec import Role, ShapeError
from ..catalog.code_loader import CodeError, describe_exception, instantiate, load_code_class
from ..catalog.deferred_sizes import size_from_input, sized_keys
from ..graph.arguments import ArgumentError, bind_params, instance_values, uses_arguments
from ..graph.definition import Definition
from ..graph.names import display_name
from ..graph.node import Node
from ..graph.ports import input_ports, optional_input_ports, output_ports
from ..graph.project import Project
from .diagnostics import ERROR, WARNING, Diagnostic
from .instances import Instance, changed_nodes, live_paths
from .network_size import node_size
from ..graph.topology import Topology

# Inputs up to this many elements may be run for real when meta execution cannot decide.
SMALL_INPUT = 1 << 22
_CODE_CACHE: dict[tuple, "NodeInfo"] = {}


@dataclass
class NodeInfo:
    """What inference learned about one node in one instance of its definition."""

    outputs: dict[str, TensorSpec] = field(default_factory=dict)
    inputs: tuple[TensorSpec, ...] = ()
    params: dict[str, tuple[int, ...]] = field(default_factory=dict)  # of the module this node uses
    param_dtype: torch.dtype = torch.float32
    deferred: bool = False   # parameters sized by the first input (a lazy module)

    @property
    def param_count(self) -> int:
        total = 0
        for shape in self.params.values():
            n = 1
            for s in shape:
                n *= s
            total += n
        return total


class ShapeInference:
    """Infers every instance of the root's definitions.  ``update`` infers a later version of the
    project again, redoing only the instances and nodes an edit reaches (``instances.py``)."""

    def __init__(self, project: Project, topologies: dict[str, Topology], bad_nodes: dict[str, set[str]]):
        self.project = project
        self.topologies = topologies
        self.bad_nodes = bad_nodes
        self.infos: dict[tuple[tuple[str, ...], str], NodeInfo] = {}
        self.diagnostics: list[Diagnostic] = []
        self.instances: dict[tuple[str, ...], Instance] = {}
        self.context: object = object()          # a new one whenever code or trust change
        self.dirty_definitions: set[str] = set()  # definitions that changed, or contain one that did
        self._chain_index: dict[str, tuple[Definition, dict[str, int]]] = {}
        self.chains: dict[str, dict[str, int] | None] = {}   # a Sequential's chain index, when the structural
                                                              # check of this very project has it already
        self._by_definition: dict[str, tuple[Definition, Topology, dict[str, int], list[Node]]] = {}

    def update(self, project: Project, topologies: dict[str, Topology], bad_nodes: dict[str, set[str]],
               dirty_definitions: set[str], context: object) -> None:
        """Infer ``project``, a later snapshot of the one inferred last; only instances of
        ``dirty_definitions`` are looked into again (all of them when ``context`` is new)."""
        self.project, self.topologies, self.bad_nodes = project, topologies, bad_nodes
        self.dirty_definitions, self.context = dirty_definitions, context
        self.run()

    def run(self) -> None:
        self.diagnostics = []
        root = self.project.definitions.get(self.project.root)
        if root is None or root.name not in self.topologies:
            self.instances.clear()
            self.infos.clear()
            return
        specs = {}
        for node in root.inputs:
            shape, dtype = node.params.get("shape"), node.params.get("dtype", "float32")
            dtype = dtype if isinstance(dtype, str) else None
            if isinstance(shape, list) and dtype in DTYPES and node.id not in self.bad_nodes.get(root.name, ()):
                specs[node.id] = TensorSpec(tuple(shape), DTYPES[dtype])
        self.infer(root, specs, (), (), dict(root.arguments))
        live = live_paths(self.instances)
        for path in [p for p in self.instances if p not in live]:
            for node_id in self.instances.pop(path).infos:
                self.infos.pop((path, node_id), None)

    # -- one instance of a definition -------------------------------------------------
    def infer(self, d: Definition, input_specs: dict[str, TensorSpec], path: tuple[str, ...],
              names: tuple[str, ...], values: dict) -> dict[str, TensorSpec]:
        """``values``: this instance's argument values, which the definition's references take (the
        checker has validated the definition with its defaults; other values are validated here)."""
        bad = frozenset(self.bad_nodes.get(d.name, ()))
        inst = self.instances.get(path)
        _, topo, position, tied = self._of(d)
        if inst is not None and inst.same_call(d, input_specs, names, values, self.context):
            if inst.definition is d and inst.bad == bad and d.name not in self.dirty_definitions:
                self.diagnostics.extend(inst.diagnostics)
                return inst.results
            pending = changed_nodes(inst, d, bad, tied, self.dirty_definitions)
            inst.definition, inst.bad = d, bad
        else:
            if inst is not None:
                for node_id in inst.infos:
                    self.infos.pop((path, node_id), None)
            inst = self.instances[path] = Instance(d, dict(input_specs), names, dict(values), dict(d.arguments),
                                                   bad, self.context)
            pending = set(d.nodes)
        own_values = values != d.arguments
        heap = [(position.get(i, -1), i) for i in pending]
        heapq.heapify(heap)
        while heap:
            _, node_id = heapq.heappop(heap)
            before = inst.infos.pop(node_id, None)
            self.infos.pop((path, node_id), None)
            inst.reports.pop(node_id, None), inst.results.pop(node_id, None), inst.sizes.pop(node_id, None)
            inst.children.discard(node_id)
            if node_id in position:
                outer, self.diagnostics = self.diagnostics, []
                self._infer_one(inst, d, d.nodes[node_id], topo, path, names, values, own_values)
                if self.diagnostics:
                    inst.reports[node_id] = self.diagnostics
                self.diagnostics = outer
            after = inst.infos.get(node_id)
            if (before and before.outputs) != (after and after.outputs):
                for e in topo.outgoing.get(node_id, ()):
                    if e.dst not in pending:
                        pending.add(e.dst)
                        heapq.heappush(heap, (position.get(e.dst, -1), e.dst))
        outer, self.diagnostics = self.diagnostics, []
        self._check_ties(d, tied, path, names)
        inst.ties, self.diagnostics = self.diagnostics, outer
        inst.diagnostics = [diag for node_id in sorted(inst.reports, key=position.__getitem__)
                            for diag in inst.reports[node_id]] + inst.ties
        self.diagnostics.extend(inst.diagnostics)
        return inst.results

    @property
    def network_bytes(self) -> int:
        return sum(sum(inst.sizes.values()) for inst in self.instances.values())

    def ordered_infos(self) -> dict[tuple[tuple[str, ...], str], NodeInfo]:
        """``infos`` in the order a first inference finds them (a block's insides before the block)."""
        ordered: dict[tuple[tuple[str, ...], str], NodeInfo] = {}

        def walk(path: tuple[str, ...]) -> None:
            inst = self.instances[path]
            position = self._of(inst.definition)[2]
            for node_id in sorted(set(inst.infos) | inst.children, key=position.__getitem__):
                if node_id in inst.children and path + (node_id,) in self.instances:
                    walk(path + (node_id,))
                if node_id in inst.infos:
                    ordered[(path, node_id)] = inst.infos[node_id]
        if () in self.instances:
            walk(())
        return ordered

    def _of(self, d: Definition) -> tuple[Definition, Topology, dict[str, int], list[Node]]:
        """The topology of ``d``, each node's place in its order, and its tied nodes (kept while ``d`` is)."""
        kept = self._by_definition.get(d.name)
        topo = self.topologies[d.name]
        if kept is None or kept[0] is not d or kept[1] is not topo:
            kept = self._by_definition[d.name] = (d, topo, {i: n for n, i in enumerate(topo.order)},
                                                  [n for n in d.nodes.values() if n.tied_to is not None])
        return kept

    def _infer_one(self, inst: Instance, d: Definition, node: Node, topo: Topology, path, names, values,
                   own_values: bool) -> None:
        """Infer one node from its inputs' inferred outputs (nothing when one is missing: an upstream
        problem, already reported)."""
        node_id = node.id
        spec = get_block(node.type)
        if spec is None or node_id in inst.bad:
            return
        ins, blocked, optional = [], False, optional_input_ports(self.project, node)
        for port in input_ports(self.project, node):
            edge = next((e for e in topo.incoming[node_id] if e.dst_port == port), None)
            source = inst.infos.get(edge.src) if edge else None
            value = source.outputs.get(edge.src_port) if source else None
            blocked = blocked or (value is None and (edge is not None or port not in optional))
            ins.append(value)
        if blocked:
            return
        where = names + (self._name(d, node),)
        try:
            info = self._infer_node(d, node, spec, ins, inst.inputs, path, where, values, own_values)
        except (ShapeError, ArgumentError) as err:
            self._report(d, node, str(err), path, where)
            return
        except CodeError as err:
            self._report(d, node, str(err), path, where)
            return
        except Exception as err:  # a rule's bug must not take the app down
            self._report(d, node, f"shape inference failed: {describe_exception(err)}", path, where)
            return
        if info is None:
            return
        if spec.warn is not None:
            owner = d.nodes.get(node.tied_to, node) if node.tied_to else node
            message = spec.warn(spec.resolve(bind_params(owner.params, values)), ins)
            if message:
                self._report(d, node, message, path, where, WARNING)
        if not info.inputs and ins:
            info.inputs = tuple(ins)
        self.infos[(path, node_id)] = inst.infos[node_id] = info
        size = node_size(node, info)
        if size:
            inst.sizes[node_id] = size
        if spec.role is Role.OUTPUT:
            inst.results[node_id] = ins[0]

    def _infer_node(self, d: Definition, node: Node, spec, ins: list[TensorSpec],
                    input_specs: dict[str, TensorSpec], path, where, values: dict,
                    own_values: bool = False) -> NodeInfo | None:
        role = spec.role
        if role is Role.INPUT:
            given = input_specs.get(node.id)
            return NodeInfo({"out": given}) if given is not None else None
        if role is Role.OUTPUT:
            return NodeInfo({})
        if role is Role.CONTAINER:
            child = self.project.definitions[node.params["definition"]]
            child_inputs = {inp.id: ins[i] for i, inp in enumerate(child.inputs)}
            child_values = instance_values(child.arguments, node.params.get("args"), values)
            outs = self.infer(child, child_inputs, path + (node.id,), where, child_values)
            self.instances[path].children.add(node.id)
            return NodeInfo({o.name: outs[o.id] for o in child.outputs if o.id in outs})
        owner = d.nodes.get(node.tied_to, node) if node.tied_to else node
        params = spec.resolve(bind_params(owner.params, values))
        if own_values and uses_arguments(owner.params):
            _require_valid(spec, params)
        if role is Role.CODE:
            return self._infer_code(params, ins, input_ports(self.project, node),
                                    optional_input_ports(self.project, node), output_ports(self.project, node))
        outs = spec.infer_ports(params, ins)
        shapes = spec.param_shapes(params, ins) if spec.param_shapes else {}
        info = NodeInfo(outs, params=shapes, deferred=spec.deferred(params))
        if role is Role.PARAMETER:
            info.param_dtype = DTYPES[params["dtype"]]
        return info

    def _infer_code(self, params: dict, ins: list[TensorSpec | None], ports: tuple[str, ...],
                    optional: frozenset[str], outputs: tuple[str, ...]) -> NodeInfo:
        """Run the class's forward on meta stand-ins (on zeros when it needs values and the input is small).
        Optional ports (``state=None``) go by keyword when connected; a tuple result fills several ports."""
        class_name = params["class_name"]
        source = self.project.code[class_name]
        key = (class_name, source, json.dumps(params["args"], sort_keys=True, default=str), tuple(ins))
        if key in _CODE_CACHE:
            return _CODE_CACHE[key]
        cls = load_code_class(source, class_name)

        def call(module, make):
            args = [make(i) for p, i in zip(ports, ins) if p not in optional]
            kwargs = {p: make(i) for p, i in zip(ports, ins) if p in optional and i is not None}
            return module(*args, **kwargs)
        try:
            with torch.device("meta"):
                module = instantiate(cls, params["args"])
                out = call(module, lambda i: i.meta())
        except CodeError:
            raise
        except Exception as meta_err:
            if sum(i.numel for i in ins if i is not None) > SMALL_INPUT:
                raise CodeError(f"{class_name}.forward raised {describe_exception(meta_err, f'<code {class_name}>')}") from None
            module = instantiate(cls, params["args"])
            try:
                with torch.no_grad():
                    out = call(module, lambda i: torch.zeros(i.shape, dtype=i.dtype))
            except Exception as err:
                raise CodeError(f"{class_name}.forward raised {describe_exception(err, f'<code {class_name}>')}") from None
        results = (out,) if len(outputs) == 1 else out
        if len(outputs) == 1 and not isinstance(out, torch.Tensor):
            raise CodeError(f"{class_name}.forward must return one tensor, not {type(out).__name__}")
        if not isinstance(results, (tuple, list)) or len(results) != len(outputs) \
                or not all(isinstance(r, torch.Tensor) for r in results):
            raise CodeError(f"{class_name}.forward must return {len(outputs)} tensors ({', '.join(outputs)}), "
                            f"not {type(out).__name__}")
        shapes = {name: tuple(p.shape) for name, p in module.named_parameters()}
        info = NodeInfo({port: TensorSpec.of(r) for port, r in zip(outputs, results)}, params=shapes)
        _CODE_CACHE[key] = info
        return info

    # -- helpers ---------------------------------------------------------------------
    def _check_ties(self, d: Definition, tied: list[Node], path: tuple[str, ...], names: tuple[str, ...]) -> None:
        for node in tied:
            mine, theirs = self.infos.get((path, node.id)), self.infos.get((path, node.tied_to))
            if mine is None or theirs is None:
                continue
            if mine.params == theirs.params:
                if theirs.deferred:
                    self._check_lazy_sizes(d, node, mine, theirs, path, names)
                continue
            target = d.nodes[node.tied_to]
            diff = next(k for k in sorted(set(mine.params) | set(theirs.params))
                        if mine.params.get(k) != theirs.params.get(k))
            self._report(d, node, f"shares parameters with {self._name(d, target)!r}, whose {diff} is "
                                  f"{format_shape(theirs.params.get(diff, ()))}, but its input needs "
                                  f"{format_shape(mine.params.get(diff, ()))}: tied nodes must have the same shape",
                         path, names + (self._name(d, node),))

    def _check_lazy_sizes(self, d: Definition, node: Node, mine: NodeInfo, theirs: NodeInfo, path, names) -> None:
        """A lazy module takes its sizes from whichever use runs first: every use must give the same
        (a BatchNorm without affine parameters has only its running statistics to show it)."""
        for key in sized_keys(node.type):
            want, got = size_from_input(node.type, key, theirs.inputs), size_from_input(node.type, key, mine.inputs)
            if want != got:
                self._report(d, node, f"shares parameters with {self._name(d, d.nodes[node.tied_to])!r}, whose "
                                      f"{key} its input sets to {want}, but its own input gives {got}: tied nodes "
                                      "must have the same shape", path, names + (self._name(d, node),))

    def _name(self, d: Definition, node: Node) -> str:
        if d.kind != "sequential" or node.name:
            return node.name
        known = self.chains.get(d.name)
        if known is not None and self.project.definitions.get(d.name) is d:
            return d.effective_name(node, known)
        kept = self._chain_index.get(d.name)
        if kept is None or kept[0] is not d:
            kept = self._chain_index[d.name] = (d, {n.id: i for i, n in enumerate(d.chain() or ())})
        return d.effective_name(node, kept[1])

    def _report(self, d: Definition, node: Node, message: str, path, where, severity: str = ERROR) -> None:
        shown = ".".join(display_name(str(w)) for w in where if w)
        self.diagnostics.append(Diagnostic(severity, message, d.name, node.id, path, shown))


def _require_valid(spec, params: dict) -> None:
    """An instance's argument values go through the same checks as a value typed on the node."""
    for p in spec.params:
        problem = p.validate(params.get(p.name))
        if problem:
            raise ShapeError(f"invalid hyperparameter from this use's arguments: {problem}")
    problem = spec.check(params) if spec.check is not None else None
    if problem:
        raise ShapeError(f"invalid hyperparameter from this use's arguments: {problem}")
