"""Export a compiled network as plain PyTorch: ``model.py`` + ``model.safetensors``.

``model.py`` imports only torch (and ``math``, ``operator``,
``collections.OrderedDict`` where used), never this package.  It holds:

* one class per definition used: a graph definition becomes an ``nn.Module``
  subclass named by its class name, whose ``__init__`` creates the children in
  declaration order and whose ``forward`` is the code torch.fx generated for
  the compiled block; a sequential definition becomes an ``nn.Sequential``
  subclass (or, when its class name is plain ``Sequential``, a ``make_...``
  function) filling an ``OrderedDict`` in chain order with PyTorch's own
  names (``"0"``, ``"block 0"``);
* the source of the code blocks used, copied verbatim, and of the op modules
  (``AddScalar``...) used inside Sequentials;
* ``build_model()``, the entry point, documented at the top of the file.

Constructor calls are derived from the *materialized* modules (see
:mod:`.constructors`); a network with lazy parameters left is first run once
on zeros of the root Inputs' example shapes and dtypes, in eval mode, without
gradients and without touching the global RNG (running statistics stay as
they were).  A module used at two places (tied nodes) is built once and used
at both (``shared = nn.Linear(...)``).  When one definition is used at places
that need different code (say, deferred sizes that came out differently),
each variant gets its own class, ``Name_2``...

Constants (buffers from Constant nodes) are reproduced exactly: up to 4096
elements as literal values in model.py, larger non-persistent ones in
``constants.safetensors`` beside it, read by ``load_constant`` when the model
is built.  ``model.safetensors`` holds exactly ``module.state_dict()``; tied
tensors are stored under each of their names, so a plain
``model.load_state_dict(safetensors.torch.load_file(...))`` works, on this
model.py as on any hand-written module of the same structure.

Before model.py is written it is run once: its ``build_model()`` must rebuild
the same module tree (names, classes, sharing, state_dict keys, shapes and
dtypes), otherwise the export fails with a one-sentence error.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import keyword
import math
import operator
import re
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parameter import is_lazy

from ..catalog import get_block
from ..graph.naming import fresh_name
from ..catalog.code_loader import CodeError, load_code_class
from ..catalog.op_modules import OP_MODULES
from ..catalog.tensor_spec import DTYPES
from ..errors import NetStudioError
from ..files.atomic import atomic_write_bytes
from ..graph.definition import Definition
from ..graph.node import Node
from ..graph.project import Project
from .constructors import NotExpressible, base_namespace, build, constructor_call, rebuilds
from .literals import MAX_LITERAL_ELEMENTS, can_be_literal, dtype_source, tensor_literal

MODEL_PY = "model.py"
WEIGHTS = "model.safetensors"
CONSTANTS = "constants.safetensors"
ENTRY_POINT = "build_model"

# Names model.py defines or imports itself; generated classes and functions avoid them.
_RESERVED = {"torch", "nn", "F", "math", "operator", "OrderedDict", "os", ENTRY_POINT, "load_constant",
             "CONSTANTS_FILE", "inf", "nan", "NoneType", "device"}
# Free names fx may leave in generated code, and how model.py defines them.
_FORWARD_ALIASES = {"inf": "inf = math.inf", "nan": "nan = math.nan", "NoneType": "NoneType = type(None)",
                    "device": "device = torch.device"}
_FORWARD_MODULES = {"torch", "nn", "F", "math", "operator"}
_DELETIONS = re.compile(r";\s+(?:[A-Za-z_]\w*\s*=\s*)+None\s*$")


class ExportError(NetStudioError):
    """The network cannot be written as plain PyTorch; the message says which part and why."""


@dataclass(frozen=True)
class ExportResult:
    """The files written, model.py first."""

    paths: tuple[Path, ...]

    @property
    def model_py(self) -> Path:
        return self.paths[0]

    @property
    def weights(self) -> Path:
        return self.paths[1]


# ---------------------------------------------------------------- entry points


def export_plain_pytorch(project: Project, module: nn.Module, outdir: str | Path) -> ExportResult:
    """Write ``OUTDIR/model.py`` and ``OUTDIR/model.safetensors`` (and ``constants.safetensors`` if needed)."""
    outdir = Path(outdir)
    materialize(project, module)
    renderer = _Renderer(project)
    text = renderer.render(module)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"Could not create the folder '{outdir}': {_os_reason(err)}.") from None
    if not outdir.is_dir():
        raise ExportError(f"'{outdir}' is not a folder.")
    paths = [outdir / MODEL_PY, outdir / WEIGHTS]
    if renderer.side_constants:  # first: checking model.py reads it
        paths.append(outdir / CONSTANTS)
        _save_safetensors(renderer.side_constants, paths[2])
    else:
        _remove_stale(outdir / CONSTANTS)  # from an earlier export; this model.py would not read it
    _verify(text, module, renderer.renamed, paths[0])
    _save_safetensors(state_dict_for_saving(module), paths[1])
    atomic_write_bytes(paths[0], text.encode("utf-8"))
    return ExportResult(tuple(paths))


def render_model_py(project: Project, module: nn.Module) -> str:
    """The text of model.py for ``module`` (materialized first); large constants are not saved."""
    materialize(project, module)
    return _Renderer(project).render(module)


def has_lazy_state(module: nn.Module) -> bool:
    return any(is_lazy(t) for t in (*module.parameters(), *module.buffers()))


def example_inputs(project: Project, module: nn.Module | None = None,
                   device: torch.device | str | None = None) -> tuple[torch.Tensor, ...]:
    """Zeros of the root Inputs' example shapes and dtypes, in the order ``module.forward`` takes them."""
    d = project.root_definition
    inputs = list(d.inputs)
    if module is not None and d.kind == "graph":
        try:
            names = list(inspect.signature(module.forward).parameters)
        except (TypeError, ValueError):
            names = []
        by_name = {n.name: n for n in inputs}
        if sorted(names) == sorted(by_name):
            inputs = [by_name[name] for name in names]
    if device is None:
        device = _device_of(module) if module is not None else torch.device("cpu")
    out = []
    for node in inputs:
        params = get_block("Input").resolve(node.params)
        if params["shape"] is None:
            raise ExportError(f"The input {node.name!r} declares no example shape, so the network cannot be "
                              "run once to size its deferred layers.")
        out.append(torch.zeros(tuple(params["shape"]), dtype=DTYPES[params["dtype"]], device=device))
    return tuple(out)


def materialize(project: Project, module: nn.Module) -> None:
    """Give lazy parameters their shapes by one forward on zeros of the example inputs (nothing else changes)."""
    if not has_lazy_state(module):
        return
    inputs = example_inputs(project, module)
    modes = [(m, m.training) for m in module.modules()]
    try:
        module.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            module(*inputs)
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ExportError(f"The network failed on its example input while sizing its deferred layers: "
                          f"{type(err).__name__}{': ' + reason if reason else ''}.") from None
    finally:
        for m, mode in modes:
            m.training = mode
    if has_lazy_state(module):
        raise ExportError("Some deferred layers were not reached by the example input, so their sizes are unknown.")


def state_dict_for_saving(module: nn.Module) -> dict[str, torch.Tensor]:
    """``module.state_dict()`` on the CPU, each entry its own contiguous tensor (safetensors refuses sharing)."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, value in module.state_dict().items():
        t = value.detach().cpu()
        ptr = t.untyped_storage().data_ptr()
        if ptr in seen or not t.is_contiguous() or t.storage_offset() or t.untyped_storage().nbytes() != t.nbytes:
            t = t.clone(memory_format=torch.contiguous_format)
        seen.add(t.untyped_storage().data_ptr())
        out[key] = t
    return out


# ---------------------------------------------------------------- rendering


@dataclass
class _Unit:
    name: str
    source: str


class _Renderer:
    """Walks the project's definitions alongside the compiled modules and writes model.py."""

    def __init__(self, project: Project):
        self.project = project
        self.namespace = base_namespace()
        self.units: list[_Unit] = []
        self.by_source: dict[tuple[str, str], str] = {}   # (base name, source template) -> unit name
        self.taken: set[str] = set(_RESERVED) | {cls.__name__ for cls in OP_MODULES}
        self.op_classes: list[type] = []
        self.code_classes: list[str] = []
        self.side_constants: dict[str, torch.Tensor] = {}
        self.renamed: dict[str, str] = {}                   # module path -> class name when not the compiled one
        self.aliases: set[str] = set()
        self.persistent_placeholders = False
        self.literal_constants = False
        for d in project.definitions.values():
            for node in d.nodes.values():
                spec = get_block(node.type)
                if spec is not None and spec.role == "code":
                    self.taken.add(spec.resolve(node.params)["class_name"])

    # -- the file ----------------------------------------------------------------------
    def render(self, module: nn.Module) -> str:
        root = self.project.root_definition
        root_is_builder = root.kind == "sequential" and root.class_name == "Sequential"
        expr = self._definition(root, module, "", unit_base=ENTRY_POINT if root_is_builder else None)
        parts = [inspect.getsource(cls).rstrip() for cls in OP_MODULES if cls in self.op_classes]
        parts += [self.project.code[name].strip("\n").rstrip() for name in self.code_classes]
        parts += [unit.source for unit in self.units]
        if not root_is_builder:
            parts.append(f"def {ENTRY_POINT}():\n    \"\"\"The network: {_doc_safe(expr)}.\"\"\"\n    return {expr}")
        body = "\n\n\n".join(parts)
        preamble = ["\n".join(_FORWARD_ALIASES[a] for a in sorted(self.aliases))] if self.aliases else []
        if self.side_constants:
            preamble.append(_LOADER)
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
        title = _doc_safe(self.project.name or "model")
        what = "an nn.Sequential" if root.class_name == "Sequential" else f"an instance of {type(module).__name__}"
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
        lines = [f'"""{title}: the network as plain PyTorch (exported with torch {torch.__version__.split("+")[0]}).',
                 "",
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
    def _definition(self, d: Definition, module: nn.Module, path: str, unit_base: str | None = None) -> str:
        """The expression that builds this use of ``d`` (``NestMLP()``, ``make_block1()``)."""
        if d.kind == "sequential":
            if not isinstance(module, nn.Sequential):
                raise _mismatch(path, "an nn.Sequential")
            return self._sequential(d, module, path, unit_base)
        if not hasattr(module, "graph") or not hasattr(module, "code"):
            raise _mismatch(path, "a compiled graph block")
        return self._graph(d, module, path)

    def _sequential(self, d: Definition, module: nn.Sequential, path: str, unit_base: str | None) -> str:
        chain = d.chain()
        if chain is None:
            raise ExportError(f"The sequential block {d.name!r} is not a single chain.")
        index = {n.id: i for i, n in enumerate(chain)}
        owners = [d.nodes[n.tied_to] if n.tied_to else n for n in chain]
        uses = Counter(o.id for o in owners)
        shared_groups = [oid for oid, count in uses.items() if count > 1]
        names = [d.effective_name(n, index) for n in chain]
        if list(module._modules) != names:
            raise _mismatch(path, f"children named {', '.join(names) or 'nothing'}")
        class_mode = d.class_name != "Sequential"
        indent = "        " if class_mode else "    "
        shared: dict[str, tuple[str, nn.Module]] = {}
        pre, entries = [], []
        local_names: set[str] = set()
        for node, owner, name in zip(chain, owners, names):
            child = module._modules[name]
            child_path = _join(path, name)
            if owner.id in shared:
                var, first = shared[owner.id]
                if child is not first:
                    raise _mismatch(child_path, f"the same module as {var}")
                entries.append((name, var))
                continue
            expr = self._leaf_or_container(owner, child, child_path)
            if uses[owner.id] > 1:
                base = "shared" if len(shared_groups) == 1 else f"shared_{_identifier(name)}"
                var = fresh_name(base, local_names | self.taken)
                local_names.add(var)
                tied_at = [n for n, o in zip(names, owners) if o.id == owner.id]
                pre.append(f"{indent}{var} = {expr}  # used at {', '.join(json.dumps(t) for t in tied_at)}")
                shared[owner.id] = (var, child)
                entries.append((name, var))
            else:
                entries.append((name, expr))
        if entries:
            listing = "OrderedDict([\n" + "".join(f"{indent}    ({json.dumps(n)}, {e}),\n" for n, e in entries) \
                + f"{indent}])"
        else:
            listing = ""
        if class_mode:
            base = _identifier(d.class_name)
            template = ("class {name}(nn.Sequential):\n"
                        f"    \"\"\"{self._describe(d, 'sequential block')}\"\"\"\n\n"
                        "    def __init__(self):\n"
                        + "".join(line + "\n" for line in pre)
                        + f"        super().__init__({listing})")
            name = self._unit(base, template)
            if name != d.class_name:
                self.renamed[path] = name
            return f"{name}()"
        base = unit_base or "make_" + _identifier(d.name).lower()
        doc = self._describe(d, "sequential block")
        template = ("def {name}():\n"
                    f"    \"\"\"{doc}\"\"\"\n"
                    + "".join(line + "\n" for line in pre)
                    + f"    return nn.Sequential({listing})")
        return f"{self._unit(base, template, exact=unit_base == ENTRY_POINT)}()"

    def _graph(self, d: Definition, module: nn.Module, path: str) -> str:
        lines = []
        for node in d.nodes.values():  # declaration order = state_dict order
            spec = get_block(node.type)
            if node.tied_to or spec.role in ("input", "output") or spec.stateless:
                continue
            if spec.role == "constant":
                lines.append(self._constant(node, module, path))
                continue
            child = module._modules.get(node.name)
            if child is None:
                raise _mismatch(_join(path, node.name), "a module")
            expr = self._leaf_or_container(node, child, _join(path, node.name))
            if node.name.isidentifier() and not keyword.iskeyword(node.name):
                lines.append(f"        self.{node.name} = {expr}")
            else:
                lines.append(f"        self.add_module({json.dumps(node.name)}, {expr})")
        base = _identifier(d.class_name)
        init = "".join(line + "\n" for line in lines)
        template = ("class {name}(nn.Module):\n"
                    f"    \"\"\"{self._describe(d, 'block')}\"\"\"\n\n"
                    "    def __init__(self):\n"
                    "        super().__init__()\n"
                    + init + "\n"
                    + self._forward(module, path))
        name = self._unit(base, template)
        if name != type(module).__name__:
            self.renamed[path] = name
        return f"{name}()"

    def _describe(self, d: Definition, what: str) -> str:
        return "The network." if d.name == self.project.root else f"The {what} {_doc_safe(d.name)}."

    def _leaf_or_container(self, node: Node, module: nn.Module, path: str) -> str:
        spec = get_block(node.type)
        params = spec.resolve(node.params)
        if spec.role == "container":
            return self._definition(self.project.definitions[params["definition"]], module, path)
        if spec.role == "code":
            return self._code_call(params["class_name"], params["args"], module, path)
        try:
            call = constructor_call(module, self.namespace)
        except NotExpressible as err:
            raise ExportError(f"{_where(path)} cannot be written as a constructor call: {err}.") from None
        if type(module) in OP_MODULES and type(module) not in self.op_classes:
            self.op_classes.append(type(module))
        return call

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
        if all(isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k) for k in args):
            call = f"{class_name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
        else:
            call = f"{class_name}(**{args!r})"
        if not rebuilds(call, module, self.namespace, strict=False):
            raise ExportError(f"{_where(path)} no longer matches {call}, so it cannot be exported.")
        return call

    def _constant(self, node: Node, module: nn.Module, path: str) -> str:
        value = module._buffers.get(node.name)
        if value is None:
            raise _mismatch(_join(path, node.name), "a buffer")
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
            literal = f"load_constant({json.dumps(key)})"
        return f"        self.register_buffer({json.dumps(node.name)}, {literal}, persistent={persistent})"

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
                raise ExportError(f"The generated forward of {_where(path)} uses {name!r}, "
                                  "which a plain PyTorch file does not have.")
        return "\n".join(("    " + line) if line.strip() else "" for line in code.splitlines())

    def _unit(self, base: str, template: str, exact: bool = False) -> str:
        """Name (and record, once) a class or function; the same code under one base name is shared."""
        key = (base, template)
        if key in self.by_source:
            return self.by_source[key]
        name = base if exact else fresh_name(base, self.taken)
        self.taken.add(name)
        self.by_source[key] = name
        self.units.append(_Unit(name, template.replace("{name}", name, 1)))
        return name


_LOADER = '''CONSTANTS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "constants.safetensors")


def load_constant(name):
    """A large fixed tensor (a buffer not in state_dict), read from constants.safetensors."""
    from safetensors import safe_open

    with safe_open(CONSTANTS_FILE, framework="pt") as f:
        return f.get_tensor(name)'''


# ---------------------------------------------------------------- verification


def _verify(text: str, module: nn.Module, renamed: dict[str, str], model_py: Path) -> None:
    """Run the generated file and check that it rebuilds ``module``'s structure exactly."""
    namespace: dict[str, Any] = {"__name__": "exported_model", "__file__": str(model_py)}
    try:
        exec(compile(text, str(model_py), "exec"), namespace)  # noqa: S102 - the file we generated
        rebuilt = build(f"{ENTRY_POINT}()", namespace)
    except Exception as err:
        raise ExportError(f"The generated model.py failed to build the network: {type(err).__name__}: "
                          f"{_first_line(err)}.") from None
    problem = _difference(rebuilt, module, renamed)
    if problem:
        raise ExportError(f"The generated model.py does not rebuild the network: {problem}.")


def _difference(rebuilt: nn.Module, module: nn.Module, renamed: dict[str, str]) -> str | None:
    got = list(rebuilt.named_modules(remove_duplicate=False))
    want = list(module.named_modules(remove_duplicate=False))
    if [p for p, _ in got] != [p for p, _ in want]:
        return "its modules are named differently"
    first_got: dict[int, str] = {}
    first_want: dict[int, str] = {}
    for (path, a), (_, b) in zip(got, want):
        expected = renamed.get(path, type(b).__name__)
        if type(a).__name__ != expected:
            return f"{_where(path)} is a {type(a).__name__}, not a {expected}"
        if first_got.setdefault(id(a), path) != first_want.setdefault(id(b), path):
            return f"{_where(path)} is shared differently"
    a_state, b_state = rebuilt.state_dict(), module.state_dict()
    if list(a_state) != list(b_state):
        return "its state_dict has other keys"
    for key, value in b_state.items():
        if a_state[key].shape != value.shape or a_state[key].dtype != value.dtype:
            got = a_state[key]
            return f"{key} is {tuple(got.shape)} {got.dtype}, not {tuple(value.shape)} {value.dtype}"
    a_buffers, b_buffers = dict(rebuilt.named_buffers()), dict(module.named_buffers())
    if list(a_buffers) != list(b_buffers):
        return "its buffers have other names"
    return None


# ---------------------------------------------------------------- helpers


def _save_safetensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    try:
        data = safetensors.torch.save(tensors, metadata={"format": "pt"})
    except Exception as err:
        raise ExportError(f"Could not write '{path.name}': {_first_line(err)}.") from None
    atomic_write_bytes(path, data)


def _remove_stale(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as err:
        raise ExportError(f"Could not remove the old '{path.name}': {_os_reason(err)}.") from None


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


def _device_of(module: nn.Module) -> torch.device:
    for t in (*module.parameters(), *module.buffers()):
        return t.device
    return torch.device("cpu")


def _identifier(text: str) -> str:
    ident = re.sub(r"\W+", "_", text).strip("_") or "Block"
    if ident[0].isdigit() or keyword.iskeyword(ident):
        ident = "_" + ident
    return ident


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _where(path: str) -> str:
    return f"the module {path!r}" if path else "the network"


def _mismatch(path: str, expected: str) -> ExportError:
    return ExportError(f"The network does not match the project: {_where(path)} should be {expected}; "
                       "compile the project again.")


def _doc_safe(text: str) -> str:
    """Text that can sit inside a triple-quoted docstring on one line."""
    return " ".join(str(text).split()).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _os_reason(err: OSError) -> str:
    return (err.strerror or str(err)).rstrip(".")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0].rstrip(".") if text else type(err).__name__
