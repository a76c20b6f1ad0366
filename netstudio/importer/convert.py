"""A module tree as definitions: the user's classes become nested blocks, torch.nn modules catalog blocks.

Each user module is traced one level deep (:mod:`.tracing`); its direct
children become nodes, converted in turn, so the project keeps the model's
hierarchy and names.  Children are declared in the module's registration order,
which is ``state_dict`` order.  A loop over a container's items becomes one
Sequential node (:mod:`.item_chains`); a child called only in training is kept
(:mod:`.training_calls`).  Identical submodules (the blocks of a ResNet stage)
share one definition.  A module that cannot become blocks becomes a code block
carrying its class's source, and the reason goes into ``fallbacks``.
"""

from __future__ import annotations

import copy
import inspect
import json
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import torch
from torch import fx, nn

from ..catalog import DTYPES, get_block
from ..catalog.code_block import CodeSyntaxError, forward_ports, optional_ports
from ..catalog.code_block import output_ports as code_output_ports
from ..export.constructors import is_literal
from ..graph.definition import Definition
from ..graph.edge import Edge
from ..graph.layout import layered_positions
from ..graph.names import NameKind, make_valid_name, name_problem
from ..graph.node import Node
from ..graph.project import Project
from .code_fallback import fallback_source
from .constructor_record import ConstructorRecord
from .errors import ImportFailed, Unsupported
from .module_blocks import block_for_module
from .function_calls import ShapeOf
from .op_block import OpBlock
from .ops import op_block
from .modes import eval_mode
from .item_chains import join_item_chains, only_runs_its_children
from .tracing import trace_one_level
from .training_calls import add_training_calls, holds_tensors
from .value_variants import merge_value_variants
from .values import Port, nest, ports_in

MAX_VALUES = 4096   # a non-persistent buffer is stored in the project as numbers up to this size


@dataclass(frozen=True)
class Fallback:
    """A module that became a code block, and why."""

    path: str
    class_name: str
    reason: str

    def line(self) -> str:
        return f"{self.path or '(the model)'} ({self.class_name}): {self.reason}"


@dataclass
class _Child:
    """A node standing for a child module, with what a call needs to know about it."""

    node: Node
    inputs: tuple[str, ...]
    optional: frozenset[str]
    outputs: dict[tuple[int, ...], str]
    signature: tuple[str, ...] = ()                 # forward's positional arguments, when not ``inputs``
    forward: frozenset[str] = frozenset()           # forward's arguments that are hyperparameters
    packed: dict[str, tuple[str, ...]] = field(default_factory=dict)   # LSTM's hx -> (h0, c0); a list -> its ports


class ModelConverter:
    def __init__(self, name: str = "imported", record: ConstructorRecord | None = None):
        self.project = Project(name=name, seed=0, root="main")
        self.record = record
        self.fallbacks: list[Fallback] = []
        self.notes: list[str] = []
        self.prefix = ""    # what the project's tensor names add to the model's (a model that is one block)
        self._node_ids, self._edge_ids = count(1), count(1)
        self._shared: dict[str, str] = {}       # canonical JSON -> definition name
        self._classes: set[str] = set()
        self._numbers: set[Port] = set()        # ports that carry Python numbers (sizes), not tensors
        self._built_with: dict[str, dict[str, Any] | None] = {}   # container node id -> its module's __init__ args

    # -- the root --------------------------------------------------------------------
    def convert(self, module: nn.Module, example_inputs: tuple[torch.Tensor, ...]) -> Project:
        """The project for ``module``, traced in eval mode: the mode its outputs are checked in, where a
        forward that returns more in training (GoogLeNet's auxiliary outputs) returns what it does in use."""
        with eval_mode(module):
            return self._convert(module, example_inputs)

    def _convert(self, module: nn.Module, example_inputs: tuple[torch.Tensor, ...]) -> Project:
        positional = len(example_inputs)
        form = (None,) * positional
        try:
            root = self._definition(module, "", form)
        except Unsupported as err:
            root = self._wrap(self._code_child(module, "", str(err)), positional)
        if root is None:   # the model is itself one catalog block
            root = self._wrap(self._child(module, "", form), positional)
        d = self.project.definitions.pop(root)
        d.name = "main"
        self.project.definitions = {"main": d, **self.project.definitions}
        inputs = d.inputs
        if len(inputs) != positional:
            raise ImportFailed(f"The model's forward takes {len(inputs)} inputs, but {positional} "
                               f"example input{'s' if positional != 1 else ''} {'were' if positional != 1 else 'was'} given.")
        for node, example in zip(inputs, example_inputs):
            dtype = next((k for k, v in DTYPES.items() if v == example.dtype), None)
            if dtype is None:
                raise ImportFailed(f"NetStudio cannot hold inputs of dtype {example.dtype}.")
            node.params = {"shape": list(example.shape), "dtype": dtype}
        merge_value_variants(self.project, self._built_with)
        self.project.trusted = True
        return self.project

    def _wrap(self, child: _Child, positional: int) -> str:
        """A graph definition holding one node: the model is one block (or one code block)."""
        d = Definition(name="main", kind="graph", class_name="Model")
        ports = [self._add(d, Node(self._nid(), "Input", make_valid_name(p, NameKind.PORT, fallback="x")))
                 for p in child.inputs[:positional]]
        shown = child.node.params.get("class_name") if child.node.type == "Code" else child.node.type
        child.node.name = child.node.name or make_valid_name(str(shown).lower(), NameKind.CHILD,
                                                             {n.name for n in ports}, fallback="model")
        d.nodes[child.node.id] = child.node
        self.prefix = child.node.name + "."
        self.notes.append(f"The model is one {'code ' if child.node.type == 'Code' else ''}block, so its tensor "
                          f"names start with '{self.prefix}' in the project.")
        for port_node, port in zip(ports, child.inputs):
            self._edge(d, Port(port_node.id, "out"), child.node.id, port)
        self._outputs(d, nest({path: Port(child.node.id, p) for path, p in child.outputs.items()}))
        return self._register(d, "Model")

    # -- one module --------------------------------------------------------------------
    def _definition(self, module: nn.Module, path: str, form: tuple[int | None, ...]) -> str | None:
        """The definition for a module that is not a catalog block (None when it is one), called as
        ``form`` says (:func:`.tracing.trace_one_level`)."""
        if block_for_module(module) is not None:
            return None
        if getattr(nn, type(module).__name__, None) is type(module) and not module._modules \
                and not isinstance(module, nn.Sequential):
            raise Unsupported(f"no block expresses this nn.{type(module).__name__}")
        if type(module) is nn.Sequential or (isinstance(module, nn.Sequential)
                                             and type(module).forward is nn.Sequential.forward):
            try:
                return self._sequential(module, path)
            except Unsupported:
                pass   # a Sequential whose children are not a simple chain: trace it instead
        return self._graph(module, path, form)

    def _child(self, module: nn.Module, path: str, form: tuple[int | None, ...]) -> _Child:
        found = block_for_module(module)
        if found is not None:
            spec, params = found
            ports = spec.input_ports(params)
            outputs = dict(zip(spec.output_paths, spec.outputs)) if getattr(spec, "output_paths", ()) \
                else {(): spec.outputs[0]}
            return _Child(Node(self._nid(), spec.type_name, "", params), ports, frozenset(spec.optional_inputs),
                          outputs, _call_names(spec, type(module), ports), frozenset(spec.forward_params),
                          dict(spec.packed_inputs))
        try:
            name = self._definition(module, path, form)
        except Unsupported as err:
            return self._code_child(module, path, str(err))
        d = self.project.definitions[name]
        kind = "Sequential" if d.kind == "sequential" else "Block"
        inputs = tuple(n.name for n in d.inputs)
        signature, packed = _listed_inputs(module, form, inputs) if any(form) else ((), {})
        node = Node(self._nid(), kind, "", {"definition": name})
        self._built_with[node.id] = self.record.arguments(module) if self.record is not None else None
        return _Child(node, inputs, frozenset(),
                      {(i,) if len(d.outputs) > 1 else (): n.name for i, n in enumerate(d.outputs)},
                      signature, packed=packed)

    # -- Sequential ----------------------------------------------------------------------
    def _sequential(self, module: nn.Sequential, path: str) -> str:
        plain = type(module) in (nn.Sequential, nn.ModuleList, nn.ModuleDict)   # the last two: run as a chain
        d = Definition(name="tmp", kind="sequential", class_name="Sequential" if plain else type(module).__name__)
        previous = Port(self._add(d, Node(self._nid(), "Input", "input")).id, "out")
        made: dict[int, tuple[Node, tuple[str, ...], str]] = {}
        for index, (name, child) in enumerate(module._modules.items()):
            if child is None:
                raise Unsupported(f"its child {name!r} is None")
            label = "" if name == str(index) else name
            if name_problem(label, NameKind.SEQUENTIAL_CHILD):
                raise Unsupported(f"its child name {name!r} cannot name a block")
            if id(child) in made:   # the same module twice: shared parameters (a tie)
                owner, ports, out = made[id(child)]
                node = Node(self._nid(), owner.type, label, copy.deepcopy(owner.params), tied_to=owner.id)
            else:
                c = self._child(child, _join(path, name), (None,))
                node, ports, out = c.node, c.inputs, c.outputs.get(())
                node.name = label
                if len(ports) - len(c.optional) != 1 or out is None:
                    raise Unsupported(f"its child {name!r} does not take one tensor and give one")
                made[id(child)] = (node, ports, out)
            d.nodes[node.id] = node
            self._edge(d, previous, node.id, ports[0])
            previous = Port(node.id, out)
        self._outputs(d, previous)
        return self._register(d, d.class_name if d.class_name != "Sequential" else _seq_name(path))

    def _chain(self, module: nn.Module, path: str) -> _Child:
        """A container whose items the forward runs one after another (:mod:`.item_chains`): a Sequential."""
        try:
            d = self.project.definitions[self._sequential(module, path)]
        except Unsupported as err:
            raise Unsupported(f"its forward runs the items of {path.rpartition('.')[2]!r} in order, but {err}") from None
        return _Child(Node(self._nid(), "Sequential", "", {"definition": d.name}), tuple(n.name for n in d.inputs),
                      frozenset(), {(): d.outputs[0].name})

    # -- a traced module -------------------------------------------------------------------
    def _graph(self, module: nn.Module, path: str, form: tuple[int | None, ...]) -> str:
        graph = trace_one_level(module, form)
        trained = add_training_calls(module, graph, form)
        chains = join_item_chains(module, graph)
        class_name = type(module).__name__
        d = Definition(name="tmp", kind="graph", class_name=class_name)
        taken: set[str] = set()
        own = self._own_tensors(module, d, taken)
        calls = [n for n in graph.nodes if n.op == "call_module"]
        arity = {}
        for call in calls:
            owner = call.target.partition(".")[0]
            if owner not in module._modules:
                raise Unsupported(f"its forward calls {call.target!r}, which is not one of its children")
            if owner != call.target:
                raise Unsupported(f"its forward calls {call.target!r}, a module inside its child {owner!r}, and a "
                                  "node's name cannot hold '.' (only a loop running all of a child's items in order, "
                                  "each on the previous result, becomes one node)")
            arity.setdefault(call.target, tuple(map(_list_size, call.args)) + (None,) * len(call.kwargs))
        read = {str(n.target).partition(".")[0] for n in graph.nodes if n.op == "get_attr"}
        for name, child in module._modules.items():   # a child whose tensors it reads fails below, saying so
            if name not in arity and name not in read and holds_tensors(child):
                raise Unsupported(f"it registers {name!r}, which holds tensors, but its forward never calls it, "
                                  "and a graph block holds only the modules it calls")
        problem = next(filter(None, (name_problem(name, NameKind.CHILD) for name in arity)), None)
        if problem and only_runs_its_children(module, graph):
            return self._sequential(module, path)   # its children's names may be labels there
        if problem:
            raise Unsupported(f"a child's name cannot name a node of a graph block ({problem})")
        children: dict[str, _Child] = {}
        for name, child in module._modules.items():
            if name not in arity:
                continue
            c = self._chain(child, _join(path, name)) if name in chains else \
                self._child(child, _join(path, name), arity[name])
            c.node.name = name
            taken.add(name)
            d.nodes[c.node.id] = c.node
            children[name] = c
        env: dict[fx.Node, Any] = {}
        called: set[str] = set()
        for n in graph.nodes:
            if n.op == "placeholder":
                port = make_valid_name(str(n.target).lstrip("*"), NameKind.PORT, taken, fallback="x")
                taken.add(port)
                env[n] = Port(self._add(d, Node(self._nid(), "Input", port)).id, "out")
            elif n.op == "get_attr":
                if n.target not in own:
                    raise Unsupported(f"its forward reads {n.target!r}, a tensor inside a child")
                env[n] = Port(own[n.target], "out")
            elif n.op == "call_module":
                env[n] = self._call(d, children[n.target], n, env, called, taken)
            elif n.op in ("call_function", "call_method"):
                env[n] = self._op(d, n, env, taken)
            elif n.op == "output":
                self._outputs(d, _resolve(n.args[0], env), taken)
        if trained:
            names = " and ".join(repr(name) for name in trained)
            them, their = ("them", "their") if len(trained) > 1 else ("it", "its")
            self.notes.append(f"{path or 'The model'} ({class_name}) calls {names} only in training; the project "
                              f"calls {them} always and leaves {their} output unused, so training the project does "
                              f"not train {them}.")
        return self._register(d, class_name)

    def _own_tensors(self, module: nn.Module, d: Definition, taken: set[str]) -> dict[str, str]:
        """Nodes for the module's own parameters and buffers; returns name -> node id."""
        own: dict[str, str] = {}
        for name, p in module._parameters.items():
            if p is None:
                continue
            if get_block("Parameter") is None:
                raise Unsupported(f"it holds its own parameter {name!r}")
            node = Node(self._nid(), "Parameter", name, {"shape": list(p.shape), "requires_grad": p.requires_grad})
            own[name] = self._add(d, node).id
            taken.add(name)
        for name, b in module._buffers.items():
            if b is None:
                continue
            persistent = name not in module._non_persistent_buffers_set
            dtype = next((k for k, v in DTYPES.items() if v == b.dtype), None)
            if dtype is None:
                raise Unsupported(f"its buffer {name!r} is {b.dtype}, which a Constant cannot hold")
            params: dict[str, Any] = {"shape": list(b.shape), "fill": "zeros", "persistent": persistent}
            if dtype != "float32":
                params["dtype"] = dtype
            if not persistent:
                if b.numel() > MAX_VALUES:
                    raise Unsupported(f"its buffer {name!r} is not saved in state_dict and too large to copy")
                params.update(fill="values", values=b.detach().cpu().tolist())
            own[name] = self._add(d, Node(self._nid(), "Constant", name, params)).id
            taken.add(name)
        return own

    def _call(self, d: Definition, child: _Child, n: fx.Node, env, called: set[str], taken: set[str]) -> Any:
        node = child.node
        if n.target in called:   # a second call of the same module: the same parameters (a tie)
            name = make_valid_name(n.name, NameKind.CHILD, taken)
            taken.add(name)
            node = self._add(d, Node(self._nid(), child.node.type, name, copy.deepcopy(child.node.params),
                                     tied_to=child.node.id))
        called.add(n.target)
        given = list(zip(child.signature or child.inputs, n.args)) + list(n.kwargs.items())
        for name, arg in given:
            value = _resolve(arg, env)
            if name in child.forward:   # need_weights=False: a hyperparameter of this use
                if isinstance(value, Port) or not is_literal(value):
                    raise Unsupported(f"its forward passes a computed {name!r} to {child.node.name}")
                node.params[name] = value
            elif name in child.packed:   # hx=(h0, c0): one port per tensor
                if value is None:
                    continue
                ports = child.packed[name]
                if not isinstance(value, (tuple, list)) or len(value) != len(ports) \
                        or not all(isinstance(v, Port) for v in value):
                    raise Unsupported(f"its forward passes {name!r} to {child.node.name} in a form no block takes")
                for port, v in zip(ports, value):
                    self._edge(d, v, node.id, port)
            elif name not in child.inputs:
                raise Unsupported(f"its forward passes {name!r}, which {child.node.name} does not take")
            elif value is None and name in child.optional:
                continue
            elif not isinstance(value, Port):
                what = "a list of tensors" if isinstance(value, (tuple, list)) and ports_in(value) else "a constant"
                raise Unsupported(f"its forward passes {what} to {child.node.name}")
            else:
                self._edge(d, value, node.id, name)
        passed = {p for name, _ in given for p in child.packed.get(name, (name,))}
        missing = [p for p in child.inputs if p not in child.optional and p not in passed]
        if missing:
            raise Unsupported(f"its forward calls {child.node.name} without {missing[0]!r}")
        return nest({path: Port(node.id, port) for path, port in child.outputs.items()})

    def _op(self, d: Definition, n: fx.Node, env, taken: set[str]) -> Any:
        if n.target in _CHECKS_ONLY and not n.users:
            return None   # torch._assert: a check of the input, with nothing to compute
        args, kwargs = _resolve(tuple(n.args), env), _resolve(dict(n.kwargs), env)
        if isinstance(kwargs.get("inplace"), bool):   # the graph owns its values: in place or not, the same
            del kwargs["inplace"]
        if n.target is _getitem and not isinstance(args[0], (Port, ShapeOf)):
            if isinstance(args[0], (tuple, list)) and isinstance(args[1], int):
                return args[0][args[1]]
            raise Unsupported("its forward indexes something that is not a tensor")
        numeric = any(isinstance(a, Port) and a in self._numbers for a in (*args, *kwargs.values()))
        block = op_block(n.op, n.target, args, kwargs, numeric)
        if isinstance(block, ShapeOf):   # ``x.shape``: its items become size calls where they are used
            return block
        node = self._place(d, block, n.name, taken)
        result = nest({path: Port(node.id, port) for path, port in block.outputs.items()})
        if isinstance(result, Port) and (block.params.get("function") in _NUMBER_FUNCTIONS or
                                         (numeric and str(block.params.get("function")).startswith("operator."))):
            self._numbers.add(result)   # a Python number (x.size(0) // 2), not a tensor
        return result

    def _place(self, d: Definition, block: OpBlock, name: str, taken: set[str]) -> Node:
        """The node for ``block``, named ``name``, and first the nodes of the blocks that feed it."""
        name = make_valid_name(name, NameKind.CHILD, taken)
        taken.add(name)
        inputs = [(port, Port(self._place(d, value, f"{name}_part", taken).id, "out")
                   if isinstance(value, OpBlock) else value) for port, value in block.inputs]
        node = self._add(d, Node(self._nid(), block.type, name, block.params))
        for port, value in inputs:
            self._edge(d, value, node.id, port)
        return node

    # -- shared parts ------------------------------------------------------------------------
    def _outputs(self, d: Definition, value: Any, taken: set[str] = frozenset()) -> None:
        values = [value] if isinstance(value, Port) else list(value) if isinstance(value, (tuple, list)) else None
        if not values or not all(isinstance(v, Port) for v in values):
            raise Unsupported("its forward returns something other than tensors")
        for i, v in enumerate(values):
            name = make_valid_name("out" if len(values) == 1 else f"out{i}", NameKind.PORT, taken)
            out = self._add(d, Node(self._nid(), "Output", name))
            self._edge(d, v, out.id, "in")

    def _code_child(self, module: nn.Module, path: str, reason: str) -> _Child:
        """A code block carrying the module's class source (it runs only in trusted projects)."""
        class_name = type(module).__name__
        source, args = fallback_source(module, path, reason, self.record)
        if self.project.code.get(class_name, source) != source:
            raise ImportFailed(f"Two different classes are named {class_name}; rename one to import the model.")
        try:
            ports, optional = forward_ports(source, class_name), optional_ports(source, class_name)
            outputs = code_output_ports(source, class_name)
        except CodeSyntaxError as err:
            raise ImportFailed(f"{path or 'The model'} ({class_name}) cannot run as code: {err}.") from None
        self.project.code[class_name] = source
        self.fallbacks.append(Fallback(path, class_name, reason))
        return _Child(Node(self._nid(), "Code", "", {"class_name": class_name, "args": args}), ports, optional,
                      {(i,) if len(outputs) > 1 else (): port for i, port in enumerate(outputs)})

    def _register(self, d: Definition, preferred: str) -> str:
        """Add ``d`` to the project, or reuse an identical definition; lays it out."""
        key = _canonical(d)
        if key in self._shared:
            return self._shared[key]
        name = make_valid_name(preferred, NameKind.DEFINITION, set(self.project.definitions) | {"main"},
                               fallback="Block")
        d.name = name
        if d.kind == "graph" or d.class_name != "Sequential":
            d.class_name = make_valid_name(d.class_name, NameKind.CLASS, self._classes | set(self.project.code),
                                           fallback="Block")
            self._classes.add(d.class_name)
        positions = layered_positions(d)
        for node_id, xy in positions.items():
            d.nodes[node_id].position = xy
        self.project.definitions[name] = d
        self._shared[key] = name
        return name

    def _add(self, d: Definition, node: Node) -> Node:
        d.nodes[node.id] = node
        return node

    def _edge(self, d: Definition, src: Port, dst: str, port: str) -> None:
        e = Edge(f"e{next(self._edge_ids)}", src.node, src.port, dst, port)
        d.edges[e.id] = e

    def _nid(self) -> str:
        return f"n{next(self._node_ids)}"


_getitem = __import__("operator").getitem
_NUMBER_FUNCTIONS = ("Tensor.size", "Tensor.dim")
_CHECKS_ONLY = (torch._assert, getattr(torch, "_assert_async", torch._assert))


def _list_size(arg: Any) -> int | None:
    """How many tensors a call passes as one list argument (None: not a list of traced values)."""
    if isinstance(arg, (tuple, list)) and arg and all(isinstance(a, fx.Node) for a in arg):
        return len(arg)
    return None


def _listed_inputs(module: nn.Module, form: tuple[int | None, ...],
                   inputs: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """For a definition traced with lists (``form``): what each positional argument of the module's forward
    is (an input port, or a list's name), and each list's input ports, in order."""
    names = [p.name for p in inspect.signature(module.forward).parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    signature, packed, at = [], {}, 0
    for name, size in zip(names, form):
        if size is None:
            signature.append(inputs[at])
            at += 1
        else:
            signature.append(name)
            packed[name] = inputs[at:at + size]
            at += size
    return tuple(signature), packed


def _resolve(arg: Any, env: dict) -> Any:
    if isinstance(arg, fx.Node):
        return env[arg]
    if isinstance(arg, (tuple, list)):
        return type(arg)(_resolve(a, env) for a in arg) if isinstance(arg, tuple) else [_resolve(a, env) for a in arg]
    if isinstance(arg, dict):
        return {k: _resolve(v, env) for k, v in arg.items()}
    return arg


def _call_names(spec, cls: type, ports: tuple[str, ...]) -> tuple[str, ...]:
    """What each positional argument of ``cls.forward`` is for the block: a port (forward's ``input`` is
    the block's ``in``), a forward hyperparameter or a packed tuple, in forward's order."""
    try:
        params = list(inspect.signature(cls.forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return ports
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    special = set(spec.optional_inputs) | set(spec.forward_params) | {k for k, _ in spec.packed_inputs}
    required = [p for p in ports if p not in spec.optional_inputs]
    plain = [n for n in names if n not in special][:len(required)]
    rename = dict(zip(plain, required))
    return tuple(rename.get(n, n) for n in names)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _seq_name(path: str) -> str:
    return path.replace(".", "_") or "Sequential"


def _canonical(d: Definition) -> str:
    """The definition without ids and positions: equal text means interchangeable definitions."""
    ids = {node_id: f"#{i}" for i, node_id in enumerate(d.nodes)}
    nodes = [[ids[n.id], n.type, n.name, n.params, n.init, ids.get(n.tied_to)] for n in d.nodes.values()]
    edges = sorted([ids[e.src], e.src_port, ids[e.dst], e.dst_port] for e in d.edges.values())
    return json.dumps([d.kind, d.class_name, nodes, edges], sort_keys=True, default=str)
