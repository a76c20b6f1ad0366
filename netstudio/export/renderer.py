"""The text of model.py: the project's definitions walked alongside the compiled modules.

One class per definition used: a graph definition becomes an ``nn.Module``
subclass whose ``__init__`` creates the children in declaration order and
whose ``forward`` is the code torch.fx generated; a sequential definition
becomes an ``nn.Sequential`` subclass (or, when its class name is plain
``Sequential``, a ``make_...`` function) filling an ``OrderedDict`` in chain
order with PyTorch's own names.  A module used at two places (tied nodes) is
built once (``shared = nn.Linear(...)``).  When one definition is used at
places that need different code, each variant gets its own class,
``Name_2``...  Generated names never shadow a builtin or what model.py
imports; strings from the project reach the text only as described in
:mod:`.source_text`.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import operator
import re
import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..catalog import get_block
from ..catalog.block_spec import TENSOR_ROLES, Role
from ..catalog.parameter_block import parameter_source
from ..catalog.code_loader import CodeError, load_code_class
from ..catalog.op_modules import OP_MODULES
from ..graph.arguments import bind_params, instance_values, uses_arguments
from ..graph.definition import Definition
from ..graph.names import GENERATED_GLOBALS
from ..graph.naming import fresh_name
from ..graph.node import Node
from ..graph.project import Project
from .argument_source import call_arguments, signature, templated_call
from .constructors import NotExpressible, base_namespace, constructor_call, rebuilds
from .errors import ExportError, mismatch, shown, where
from .literals import MAX_LITERAL_ELEMENTS, can_be_literal, dtype_source, tensor_literal
from .source_text import call_source, doc_paragraphs, doc_text, is_plain_identifier, require_valid_names

ENTRY_POINT = "build_model"

# Names model.py defines or imports, and builtins its code calls (super...): generated names avoid them all.
RESERVED = frozenset(GENERATED_GLOBALS | {ENTRY_POINT, "load_constant", "CONSTANTS_FILE"} | set(dir(builtins)))
# Free names fx may leave in generated code, and how model.py defines them.
_FORWARD_ALIASES = {"inf": "inf = math.inf", "nan": "nan = math.nan", "NoneType": "NoneType = type(None)",
                    "device": "device = torch.device"}
_FORWARD_MODULES = {"torch", "nn", "F", "math", "operator"}
_DELETIONS = re.compile(r";\s+(?:[A-Za-z_]\w*\s*=\s*)+None\s*$")

LOADER = '''CONSTANTS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "constants.safetensors")


def load_constant(name):
    """A large fixed tensor (a buffer not in state_dict), read from constants.safetensors."""
    from safetensors import safe_open

    with safe_open(CONSTANTS_FILE, framework="pt") as f:
        return f.get_tensor(name)'''


@dataclass
class _Unit:
    name: str
    source: str


class Renderer:
    """Writes model.py for one project; afterwards ``side_constants`` holds what constants.safetensors
    must hold and ``renamed`` the module paths whose class model.py names differently."""

    def __init__(self, project: Project):
        self.project = project
        self.namespace = base_namespace()
        self.units: list[_Unit] = []
        self.by_source: dict[tuple[str, str], str] = {}   # (base name, source template) -> unit name
        self.taken: set[str] = set(RESERVED) | {cls.__name__ for cls in OP_MODULES}
        self.op_classes: list[type] = []
        self.code_classes: list[str] = []
        self.side_constants: dict[str, torch.Tensor] = {}
        self.renamed: dict[str, str] = {}                   # module path -> class name when not the compiled one
        self.aliases: set[str] = set()
        self.persistent_placeholders = False
        self.literal_constants = False
        for d in project.definitions.values():
            self.taken.update(d.arguments)   # a class named like an argument would be hidden in __init__
            for node in d.nodes.values():
                spec = get_block(node.type)
                if spec is not None and spec.role is Role.CODE:
                    self.taken.add(str(spec.resolve(node.params)["class_name"]))

    # -- the file ----------------------------------------------------------------------
    def render(self, module: nn.Module) -> str:
        require_valid_names(self.project)
        root = self.project.root_definition
        root_is_builder = root.kind == "sequential" and root.class_name == "Sequential"
        expr = self._definition(root, module, "", unit_base=ENTRY_POINT if root_is_builder else None)
        parts = [inspect.getsource(cls).rstrip() for cls in OP_MODULES if cls in self.op_classes]
        parts += [self.project.code[name].strip("\n").rstrip() for name in self.code_classes]
        parts += [unit.source for unit in self.units]
        if not root_is_builder:
            parts.append(f"def {ENTRY_POINT}():\n    \"\"\"The network: {doc_text(expr)}.\"\"\"\n    return {expr}")
        body = "\n\n\n".join(parts)
        preamble = ["\n".join(_FORWARD_ALIASES[a] for a in sorted(self.aliases))] if self.aliases else []
        if self.side_constants:
            preamble.append(LOADER)
        if preamble:
            body = "\n\n\n".join(preamble) + "\n\n\n" + body
        return self._docstring(root, module) + "\n\n" + self._imports(body) + "\n\n\n" + body + "\n"

    def _imports(self, body: str) -> str:
        code = bool(self.code_classes)
        lines = []
        if code or re.search(r"\bmath\.", body):
            lines.append("import math")
        if re.search(r"\boperator\.", body):
            lines.append("import operator")
        if self.side_constants:
            lines.append("import os")
        if "OrderedDict(" in body:
            lines.append("from collections import OrderedDict")
        if lines:
            lines.append("")
        lines += ["import torch", "from torch import nn"]
        if code or re.search(r"\bF\.", body):
            lines.append("from torch.nn import functional as F")
        return "\n".join(lines)

    def _docstring(self, root: Definition, module: nn.Module) -> str:
        title = doc_text(self.project.name) or "model"
        what = "an nn.Sequential" if root.class_name == "Sequential" else \
            f"an instance of {self.renamed.get('', type(module).__name__)}"
        paragraphs = [
            f"build_model() returns the network, {what}.  model.safetensors holds its state_dict() under "
            "PyTorch's own names (a shared layer under each of its names), so it also loads into a "
            "hand-written module of the same structure."]
        if self.literal_constants:
            paragraphs.append("Fixed tensors (buffers of Constant blocks) are written below as literal values, "
                              "so the model reproduces them exactly without any file.")
        if self.side_constants:
            paragraphs.append(f"Fixed tensors of more than {MAX_LITERAL_ELEMENTS} elements that are not in "
                              "state_dict are read from constants.safetensors beside this file when the model "
                              "is built; that needs the safetensors package.")
        if self.persistent_placeholders:
            paragraphs.append("Large persistent buffers start as zeros here; load_state_dict fills them in.")
        lines = [f'"""{title}: the network as plain PyTorch (exported with torch {torch.__version__.split("+")[0]}).']
        description = doc_paragraphs(self.project.description)
        if description:
            lines += [""] + description
        lines += ["",
                  "This file needs only PyTorch.  Usage, from this folder:",
                  "",
                  "    import safetensors.torch",
                  "    from model import build_model",
                  "",
                  "    model = build_model()",
                  '    model.load_state_dict(safetensors.torch.load_file("model.safetensors"))',
                  "    model.eval()  # a new model starts in training mode"]
        for paragraph in paragraphs:
            lines += [""] + textwrap.wrap(paragraph, 88)
        return "\n".join(lines) + '\n"""'

    # -- definitions --------------------------------------------------------------------
    def _definition(self, d: Definition, module: nn.Module, path: str, unit_base: str | None = None,
                    values: dict[str, Any] | None = None, call: str = "") -> str:
        """The expression that builds this use of ``d`` (``NestMLP()``, ``make_block1()``,
        ``Inception(64, (96, 128), (16, 32), 32)``).  ``values`` are this use's argument values and
        ``call`` the arguments written at the place of use; a definition with arguments whose children
        cannot all be written with them (``argument_source``) is written without, as one class per
        configuration."""
        values = dict(d.arguments) if values is None else values
        if d.kind == "sequential":
            if not isinstance(module, nn.Sequential):
                raise mismatch(path, "an nn.Sequential")
            render = self._sequential
        else:
            if not hasattr(module, "graph") or not hasattr(module, "code"):
                raise mismatch(path, "a compiled graph block")
            render = self._graph
        if d.arguments:
            try:
                return render(d, module, path, unit_base, values, True).replace("()", f"({call})", 1)
            except NotExpressible:
                pass
        return render(d, module, path, unit_base, values, False)

    def _sequential(self, d: Definition, module: nn.Sequential, path: str, unit_base: str | None,
                    values: dict[str, Any], templated: bool) -> str:
        chain = d.chain()
        if chain is None:
            raise ExportError(f"The sequential block {shown(d.name)} is not a single chain.")
        index = {n.id: i for i, n in enumerate(chain)}
        owners = [d.nodes[n.tied_to] if n.tied_to else n for n in chain]
        uses = Counter(o.id for o in owners)
        names = [d.effective_name(n, index) for n in chain]
        if list(module._modules) != names:
            raise mismatch(path, f"children named {', '.join(map(repr, names)) or 'nothing'}")
        # Every child's expression first, so the classes they use are named before any local variable.
        first: dict[str, tuple[str, nn.Module]] = {}   # owner id -> (expression, module)
        for owner, name in zip(owners, names):
            child, child_path = module._modules[name], _join(path, name)
            if owner.id in first:
                if child is not first[owner.id][1]:
                    raise mismatch(child_path, f"the same module as {names[owners.index(owner)]!r}")
                continue
            first[owner.id] = (self._leaf_or_container(owner, child, child_path, values, templated), child)
        class_mode = d.class_name != "Sequential"
        indent = "        " if class_mode else "    "
        shared_groups = [oid for oid, count in uses.items() if count > 1]
        variables: dict[str, str] = {}
        pre, entries = [], []
        for owner, name in zip(owners, names):
            if uses[owner.id] > 1 and owner.id not in variables:
                base = "shared" if len(shared_groups) == 1 else f"shared_{_identifier(name)}"
                var = fresh_name(base if is_plain_identifier(base) else "shared",
                                 set(variables.values()) | self.taken | set(d.arguments))
                variables[owner.id] = var
                tied_at = [n for n, o in zip(names, owners) if o.id == owner.id]
                pre.append(f"{indent}{var} = {first[owner.id][0]}  # used at {', '.join(map(repr, tied_at))}")
            entries.append((name, variables.get(owner.id) or first[owner.id][0]))
        if entries:
            listing = "OrderedDict([\n" + "".join(f"{indent}    ({n!r}, {e}),\n" for n, e in entries) \
                + f"{indent}])"
        else:
            listing = ""
        params = signature(d.arguments) if templated else "self"
        if class_mode:
            template = ("class {name}(nn.Sequential):\n"
                        f"    \"\"\"{self._describe(d, 'sequential block')}\"\"\"\n\n"
                        f"    def __init__({params}):\n"
                        + "".join(line + "\n" for line in pre)
                        + f"        super().__init__({listing})")
            name = self._unit(d.class_name, template)
            if name != d.class_name:
                self.renamed[path] = name
            return f"{name}()"
        base = unit_base or "make_" + d.name.lower()
        template = (f"def {{name}}({params.removeprefix('self').removeprefix(', ')}):\n"
                    f"    \"\"\"{self._describe(d, 'sequential block')}\"\"\"\n"
                    + "".join(line + "\n" for line in pre)
                    + f"    return nn.Sequential({listing})")
        base = base if is_plain_identifier(base) else "make_block"
        return f"{self._unit(base, template, exact=unit_base == ENTRY_POINT)}()"

    def _graph(self, d: Definition, module: nn.Module, path: str, unit_base: str | None,
               values: dict[str, Any], templated: bool) -> str:
        lines = []
        for node in d.nodes.values():  # declaration order = state_dict order
            spec = get_block(node.type)
            if node.tied_to or spec.role in (Role.INPUT, Role.OUTPUT) or spec.stateless:
                continue
            if spec.role in TENSOR_ROLES and templated and uses_arguments(node.params):
                raise NotExpressible(f"a {node.type} block's value is written without arguments")
            if spec.role is Role.CONSTANT:
                lines.append(self._constant(node, module, path))
                continue
            if spec.role is Role.PARAMETER:
                if node.name not in module._parameters:
                    raise mismatch(_join(path, node.name), "a parameter")
                source = parameter_source(spec.resolve(bind_params(node.params, values)))
                lines.append(f"        self.{node.name} = {source}" if is_plain_identifier(node.name)
                             else f"        self.register_parameter({node.name!r}, {source})")
                continue
            child = module._modules.get(node.name)
            if child is None:
                raise mismatch(_join(path, node.name), "a module")
            expr = self._leaf_or_container(node, child, _join(path, node.name), values, templated)
            if is_plain_identifier(node.name):
                lines.append(f"        self.{node.name} = {expr}")
            else:
                lines.append(f"        self.add_module({node.name!r}, {expr})")
        init = "".join(line + "\n" for line in lines)
        template = ("class {name}(nn.Module):\n"
                    f"    \"\"\"{self._describe(d, 'block')}\"\"\"\n\n"
                    f"    def __init__({signature(d.arguments) if templated else 'self'}):\n"
                    "        super().__init__()\n"
                    + init + "\n"
                    + self._forward(module, path))
        name = self._unit(d.class_name, template)
        if name != type(module).__name__:
            self.renamed[path] = name
        return f"{name}()"

    def _describe(self, d: Definition, what: str) -> str:
        return "The network." if d.name == self.project.root else f"The {what} {doc_text(d.name)}."

    def _leaf_or_container(self, node: Node, module: nn.Module, path: str, values: dict[str, Any],
                           templated: bool) -> str:
        """The expression for one child.  ``templated``: the definition it sits in is written with its
        arguments, so references stay references; otherwise they are this instance's values."""
        spec = get_block(node.type)
        params = spec.resolve(bind_params(node.params, values))
        if spec.role is Role.CONTAINER:
            target = self.project.definitions[params["definition"]]
            given = node.params.get("args") if isinstance(node.params.get("args"), dict) else {}
            passed = {k: v for k, v in given.items() if k in target.arguments}
            child_values = instance_values(target.arguments, passed, values)
            call = call_arguments(target.arguments, passed if templated else
                                  {k: child_values[k] for k in passed})
            return self._definition(target, module, path, values=child_values, call=call)
        if spec.role is Role.CODE:
            if templated and uses_arguments(node.params):
                raise NotExpressible("a code block's arguments are written without arguments")
            return self._code_call(params["class_name"], params["args"], module, path)
        try:
            call = constructor_call(module, self.namespace)
        except NotExpressible as err:
            call = spec.source(params) if spec.source is not None else None   # what the block itself built
            if call is None or not rebuilds(call, module, self.namespace):
                raise ExportError(f"{_upper_first(where(path))} cannot be written as a constructor call: {err}.") from None
        if type(module) in OP_MODULES and type(module) not in self.op_classes:
            self.op_classes.append(type(module))
        return templated_call(call, module, node.params, values, self.namespace) if templated else call

    def _code_call(self, class_name: str, args: dict, module: nn.Module, path: str) -> str:
        source = self.project.code.get(class_name)
        if source is None:
            raise ExportError(f"The project has no code for {class_name}.")
        try:
            cls = load_code_class(source, class_name)
        except CodeError as err:
            raise ExportError(f"The code block {class_name} cannot be loaded: {err}.") from None
        if class_name not in self.code_classes:
            self.code_classes.append(class_name)
            self.namespace[class_name] = cls
        call = call_source(class_name, args)
        if not rebuilds(call, module, self.namespace, strict=False):
            raise ExportError(f"{_upper_first(where(path))} no longer matches {shown(call, 120)}, "
                              "so it cannot be exported.")
        return call

    def _constant(self, node: Node, module: nn.Module, path: str) -> str:
        value = module._buffers.get(node.name)
        if value is None:
            raise mismatch(_join(path, node.name), "a buffer")
        persistent = node.name not in module._non_persistent_buffers_set
        literal = None
        if can_be_literal(value):
            try:
                literal = tensor_literal(value, indent="        ")
                self.literal_constants = True
            except ValueError:
                literal = None
        if literal is None and persistent:
            literal = f"torch.zeros({tuple(value.shape)!r}, dtype={dtype_source(value.dtype)})"
            self.persistent_placeholders = True
        elif literal is None:
            key = _join(path, node.name)
            self.side_constants[key] = value.detach().cpu().contiguous().clone()
            literal = f"load_constant({key!r})"
        return f"        self.register_buffer({node.name!r}, {literal}, persistent={persistent})"

    def _forward(self, module: nn.Module, path: str) -> str:
        """The fx-generated forward, without its memory-freeing ``x = None`` statements, indented."""
        code = module.code.strip("\n").rstrip()
        for node in module.graph.nodes:
            if node.op == "call_function":
                qualified, nice = _fx_name(node.target), _nice_name(node.target)
                if nice and qualified and nice != qualified:
                    code = code.replace(qualified + "(", nice + "(")
        code = "\n".join(_DELETIONS.sub("", line).rstrip() for line in code.splitlines())
        for name in _free_names(code):
            if name in _FORWARD_ALIASES:
                self.aliases.add(name)
            elif name not in _FORWARD_MODULES:
                raise ExportError(f"The generated forward of {where(path)} uses {shown(name)}, "
                                  "which a plain PyTorch file does not have.")
        return "\n".join(("    " + line) if line.strip() else "" for line in code.splitlines())

    def _unit(self, base: str, template: str, exact: bool = False) -> str:
        """Name (and record, once) a class or function; the same code under one base name is shared."""
        key = (base, template)
        if key in self.by_source:
            return self.by_source[key]
        name = base if exact else fresh_name(base, self.taken)
        if not is_plain_identifier(name):  # the rule was checked; this guards the names made from it
            raise ExportError(f"The name {shown(name)} cannot be written into model.py.")
        self.taken.add(name)
        self.by_source[key] = name
        self.units.append(_Unit(name, template.replace("{name}", name, 1)))
        return name


def _fx_name(fn: Any) -> str | None:
    """The name torch.fx writes for a function (``torch._C._nn.gelu``), if it can be told."""
    try:
        from torch.fx.node import _get_qualified_name
        return _get_qualified_name(fn)
    except Exception:  # a private helper of torch.fx: without it, names stay as fx wrote them
        return None


def _nice_name(fn: Any) -> str | None:
    """``F.gelu`` rather than fx's ``torch._C._nn.gelu``: the public name of a function, if any."""
    name = getattr(fn, "__name__", None)
    if not name:
        return None
    for prefix, namespace in (("torch", torch), ("F", F), ("operator", operator), ("math", math)):
        if getattr(namespace, name, None) is fn:
            return f"{prefix}.{name}"
    return None


def _free_names(code: str) -> set[str]:
    """Names the code reads but neither defines nor gets from builtins."""
    tree = ast.parse(code)
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef):
            bound.add(node.name)
    return {n for n in read - bound if not hasattr(builtins, n)}


def _identifier(text: str) -> str:
    ident = re.sub(r"\W+", "_", text).strip("_") or "Block"
    if ident[0].isdigit() or not is_plain_identifier(ident):
        ident = "_" + ident
    return ident


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
