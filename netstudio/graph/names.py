"""The one name rule: which strings may name nodes, ports, definitions, classes and arguments.

Names end up in Python source: torch.fx writes a forward whose arguments are
the Input names and whose lines read ``self.<child>(...)``, and the exporter
writes ``class <Class>(nn.Module)`` with ``self.<child> = ...``.  A name from a
file is data, so before any of that happens it must pass this rule:

* it is a Python identifier, in NFKC normal form (Python normalises
  identifiers in source, so ``ﬁ`` would silently become ``fi``), not a keyword,
  not starting with two underscores (private names are mangled inside a class),
  and at most :data:`MAX_NAME_LENGTH` characters long;
* a child module or buffer of a block is not an attribute ``nn.Module`` (or the
  fx ``GraphModule``) already has: ``training``, ``forward``, ``code``...;
* a port (the name of an Input or Output node) does not shadow what generated
  code refers to: ``self``, ``torch``, ``F``...;
* a class does not shadow what the exported ``model.py`` defines or imports.

Children of a Sequential are different: PyTorch names them by position
(``0``, ``1``...), which an empty name means here, and code reaches them only
through quoted strings (``add_module("block 0", ...)`` in the seed's rgnet,
``block1-0`` in torchvision's RegNet), so a child of a Sequential may also be a
label of ASCII words separated by single spaces or hyphens.  Such labels are
only ever written into source through ``repr``.

Every part of NetStudio asks this module: the document, the checker, the
compiler, the exporter, the properties panel and the canvas's rename editor.
"""

from __future__ import annotations

import enum
import keyword
import re
import unicodedata

from torch import nn
from torch.fx import Graph, GraphModule

from ..catalog.block_spec import Role
from .naming import fresh_name

MAX_NAME_LENGTH = 200


class NameKind(enum.Enum):
    """What a name names; each kind adds its own reserved words to the identifier rule."""

    CHILD = "child"                   # a module or buffer of a graph block: ``self.<name>``
    SEQUENTIAL_CHILD = "sequential"   # a child of a Sequential: a string key, may be empty
    PORT = "port"                     # an Input or Output node: an argument of ``forward``
    DEFINITION = "definition"         # a block definition of the project
    CLASS = "class"                   # a definition's or a code block's class
    ARGUMENT = "argument"             # a keyword argument of a code block's constructor


# Names the generated forward (torch.fx) and the exported model.py read as globals.
GENERATED_GLOBALS = frozenset({
    "torch", "nn", "F", "math", "operator", "inf", "nan", "NoneType", "device", "fx_pytree", "pytree",
    "OrderedDict", "os", "build_model", "load_constant", "CONSTANTS_FILE",
})


def _module_attributes() -> frozenset[str]:
    """Attributes of a compiled block, the class's and those set in ``__init__`` (``training``)."""
    graph = Graph()
    graph.output(graph.placeholder("x"))
    return frozenset(dir(GraphModule(nn.Module(), graph))) | frozenset(dir(nn.Sequential()))


MODULE_ATTRIBUTES = _module_attributes()
_RESERVED = {
    NameKind.CHILD: MODULE_ATTRIBUTES | {"self"},
    NameKind.SEQUENTIAL_CHILD: MODULE_ATTRIBUTES | {"self"},
    NameKind.PORT: GENERATED_GLOBALS | {"self"},
    NameKind.DEFINITION: frozenset(),
    NameKind.CLASS: GENERATED_GLOBALS,
    NameKind.ARGUMENT: frozenset({"self"}),
}
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[ -][A-Za-z0-9_]+)+\Z")
_DIGITS = re.compile(r"[0-9]+\Z")


def name_problem(name: object, kind: NameKind) -> str | None:
    """Why ``name`` cannot name a ``kind``, as a sentence fragment; None when it can."""
    if not isinstance(name, str):
        return f"a name must be text, not {type(name).__name__}"
    if kind is NameKind.SEQUENTIAL_CHILD:
        if name == "":
            return None   # named by its position
        if _DIGITS.match(name):
            return f"{name!r} looks like a position; leave the name empty to be named by the position"
        if len(name) <= MAX_NAME_LENGTH and _LABEL.match(name):
            return None
    if (len(name) <= MAX_NAME_LENGTH and name.isascii() and name.isidentifier() and not name.startswith("__")
            and not keyword.iskeyword(name) and name not in _RESERVED[kind]):
        return None   # the common case, without building any message (ASCII is always NFKC-normal)
    if name == "":
        return "a name cannot be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"a name can have at most {MAX_NAME_LENGTH} characters, not {len(name)}"
    shown = _shown(name)
    if "." in name:
        return f"{shown} contains '.', which PyTorch uses to separate module names"
    if not name.isidentifier():
        return (f"{shown} is not a valid name: use letters, digits and underscores, "
                "not starting with a digit")
    if unicodedata.normalize("NFKC", name) != name:
        return f"{shown} is not in Unicode normal form; Python would read it as " \
               f"{_shown(unicodedata.normalize('NFKC', name))}"
    if keyword.iskeyword(name):
        return f"{shown} is a Python keyword"
    if name.startswith("__"):
        return f"{shown} starts with two underscores, which Python keeps for its own names"
    if name in _RESERVED[kind]:
        what = {NameKind.PORT: "generated code already uses it",
                NameKind.CLASS: "the exported model.py already uses it",
                NameKind.ARGUMENT: "it is the module itself"}.get(
            kind, "it is the module itself" if name == "self" else "torch.nn.Module already has an attribute of that name")
        return f"{shown} is reserved: {what}"
    return None


def is_valid_name(name: object, kind: NameKind) -> bool:
    return name_problem(name, kind) is None


def reserved_names(kind: NameKind) -> frozenset[str]:
    return _RESERVED[kind]


def make_valid_name(text: str, kind: NameKind, taken=(), fallback: str = "node") -> str:
    """A name that passes the rule and is not in ``taken``, as close to ``text`` as it can be:
    ``"my input"`` → ``my_input``, ``"1x"`` → ``node_1x``, ``"code"`` → ``code_2`` in a block."""
    if name_problem(text, kind) is None and text and text not in taken:
        return text
    text = unicodedata.normalize("NFKC", str(text))
    kept = "".join(ch if ("a" + ch).isidentifier() else "_" for ch in text)
    base = re.sub(r"_+", "_", kept).strip("_")[:MAX_NAME_LENGTH - 8] or fallback
    if base[0].isdigit():
        base = f"{fallback}_{base}"
    if keyword.iskeyword(base):
        base += "_"
    name = fresh_name(base, set(taken) | _RESERVED[kind])
    return name if name_problem(name, kind) is None else fresh_name(fallback, set(taken) | _RESERVED[kind])


def node_name_kind(definition_kind: str, role: Role | None) -> NameKind:
    """The kind of name a node carries: Inputs and Outputs name ports, others name children."""
    if role in (Role.INPUT, Role.OUTPUT):
        return NameKind.PORT
    return NameKind.SEQUENTIAL_CHILD if definition_kind == "sequential" else NameKind.CHILD


def display_name(text: str, limit: int = 60) -> str:
    """A name as it may be shown or printed: shortened, control and invisible characters escaped,
    so a name from a file cannot rewrite a terminal line or hide what it is."""
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    if all(ch.isprintable() for ch in text):
        return text
    return ascii(text)[1:-1]


def _shown(name: str) -> str:
    """The name quoted for a message, shortened and with control characters escaped."""
    return repr(display_name(name, 40)) if all(ch.isprintable() for ch in name) else f"'{display_name(name, 40)}'"
