"""Shape inference that allocates nothing.

Every block of the catalog has a fast shape rule in plain Python (checked
against torch's meta kernels by the tests).  Code blocks, whose shapes only
their own forward knows, run on the meta device; if their forward needs real
values (``while X.abs().sum() > 1``) and the input is small, they run once on
zeros on the CPU instead.  Results for code blocks are cached, so re-checking
after each edit stays cheap.
"""

from __future__ import annotations

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
    def __init__(self, project: Project, topologies: dict[str, Topology], bad_nodes: dict[str, set[str]]):
        self.project = project
        self.topologies = topologies
        self.bad_nodes = bad_nodes
        self.infos: dict[tuple[tuple[str, ...], str], NodeInfo] = {}
        self.diagnostics: list[Diagnostic] = []
        self._chain_index: dict[str, dict[str, int]] = {}

    def run(self) -> None:
        root = self.project.definitions.get(self.project.root)
        if root is None or root.name not in self.topologies:
            return
        specs = {}
        for node in root.inputs:
            shape, dtype = node.params.get("shape"), node.params.get("dtype", "float32")
            dtype = dtype if isinstance(dtype, str) else None
            if isinstance(shape, list) and dtype in DTYPES and node.id not in self.bad_nodes.get(root.name, ()):
                specs[node.id] = TensorSpec(tuple(shape), DTYPES[dtype])
        self.infer(root, specs, (), (), dict(root.arguments))

    # -- one instance of a definition -------------------------------------------------
    def infer(self, d: Definition, input_specs: dict[str, TensorSpec], path: tuple[str, ...],
              names: tuple[str, ...], values: dict) -> dict[str, TensorSpec]:
        """``values``: this instance's argument values, which the definition's references take (the
        checker has validated the definition with its defaults; other values are validated here)."""
        own_values = values != d.arguments
        topo = self.topologies[d.name]
        bad = self.bad_nodes.get(d.name, set())
        known: dict[tuple[str, str], TensorSpec] = {}
        results: dict[str, TensorSpec] = {}
        for node_id in topo.order:
            node = d.nodes[node_id]
            spec = get_block(node.type)
            if spec is None or node_id in bad:
                continue
            ins, blocked, optional = [], False, optional_input_ports(self.project, node)
            for port in input_ports(self.project, node):
                edge = next((e for e in topo.incoming[node_id] if e.dst_port == port), None)
                value = known.get((edge.src, edge.src_port)) if edge else None
                blocked = blocked or (value is None and (edge is not None or port not in optional))
                ins.append(value)
            if blocked:
                continue  # upstream problem (or a missing input), already reported
            where = names + (self._name(d, node),)
            try:
                info = self._infer_node(d, node, spec, ins, input_specs, path, where, values, own_values)
            except (ShapeError, ArgumentError) as err:
                self._report(d, node, str(err), path, where)
                continue
            except CodeError as err:
                self._report(d, node, str(err), path, where)
                continue
            except Exception as err:  # a rule's bug must not take the app down
                self._report(d, node, f"shape inference failed: {describe_exception(err)}", path, where)
                continue
            if info is None:
                continue
            if spec.warn is not None:
                owner = d.nodes.get(node.tied_to, node) if node.tied_to else node
                message = spec.warn(spec.resolve(bind_params(owner.params, values)), ins)
                if message:
                    self._report(d, node, message, path, where, WARNING)
            if not info.inputs and ins:
                info.inputs = tuple(ins)
            self.infos[(path, node_id)] = info
            if spec.role is Role.OUTPUT:
                results[node_id] = ins[0]
            for port, out in info.outputs.items():
                known[(node_id, port)] = out
        self._check_ties(d, path, names)
        return results

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
    def _check_ties(self, d: Definition, path: tuple[str, ...], names: tuple[str, ...]) -> None:
        for node in d.nodes.values():
            if node.tied_to is None:
                continue
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
        if d.name not in self._chain_index:
            self._chain_index[d.name] = {n.id: i for i, n in enumerate(d.chain() or ())}
        return d.effective_name(node, self._chain_index[d.name])

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
