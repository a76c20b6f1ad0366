"""How strings from a project get into model.py, which is Python source: as text, never as code.

Every string in a project is data.  Names that Python reads as code (classes,
children, definitions, code blocks) must pass the one name rule
(:mod:`netstudio.graph.names`) or the export is refused, whatever the checker
and compiler already did.  Everything else is escaped for where it goes:

* docstrings (:func:`doc_text`, :func:`doc_paragraphs`): backslashes and
  quotes are escaped, runs of whitespace (``\\r``, U+2028 and other line
  breaks included) become one space and any other character that is not
  printable (``\\x00``, a lone surrogate, a zero-width space) is written as an
  escape, so no value can end the docstring or the line, and the docstring
  still reads back to the text;
* string literals and comments: ``repr()``, which escapes line breaks and
  everything not printable (:func:`literal` for code-block arguments).
"""

from __future__ import annotations

import keyword
import math
import textwrap
import unicodedata

from ..catalog import get_block
from ..catalog.block_spec import Role
from ..graph.arguments import argument_name_problem
from ..graph.names import NameKind, name_problem, node_name_kind
from ..graph.project import Project
from .errors import ExportError, shown


def doc_text(text: object) -> str:
    """``text`` for one line of a triple-quoted (non-raw) docstring."""
    return "".join(_doc_char(ch) for ch in " ".join(str(text).split()))


def doc_paragraphs(text: object, width: int = 88) -> list[str]:
    """Lines of a docstring holding ``text``, paragraph breaks kept, wrapped at spaces only (so an
    escape is never split); empty lines at either end are dropped."""
    lines: list[str] = []
    for line in str(text).splitlines():
        escaped = doc_text(line)
        lines += textwrap.wrap(escaped, width, break_long_words=False, break_on_hyphens=False) or [""]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _doc_char(ch: str) -> str:
    if ch in '\\"':
        return "\\" + ch
    return ch if ch.isprintable() else ascii(ch)[1:-1]


def literal(value: object) -> str:
    """Python source for a JSON-like value (a code block's argument): None, bools, numbers, text,
    lists and dicts with text keys.  Text goes through ``repr``; nan and infinities use ``math``."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "math.nan"
        if math.isinf(value):
            return "math.inf" if value > 0 else "-math.inf"
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return "{" + ", ".join(f"{k!r}: {literal(v)}" for k, v in value.items()) + "}"
    raise ExportError(f"A value of type {type(value).__name__} cannot be written into model.py.")


def call_source(class_name: str, args: dict) -> str:
    """``Name(a=1, b='x')``, or ``Name(**{...})`` when a key could not be a keyword argument."""
    if not isinstance(args, dict):
        raise ExportError(f"The arguments of {class_name} are not a set of named values.")
    try:
        if all(name_problem(k, NameKind.ARGUMENT) is None for k in args):
            return f"{class_name}({', '.join(f'{k}={literal(v)}' for k, v in args.items())})"
        return f"{class_name}(**{literal(args)})"
    except RecursionError:
        raise ExportError(f"The arguments of {class_name} are nested too deeply to be written.") from None


def is_plain_identifier(name: str) -> bool:
    """Whether Python source can spell ``name`` as itself (an NFKC identifier, not a keyword)."""
    return name.isidentifier() and not keyword.iskeyword(name) and unicodedata.normalize("NFKC", name) == name


def require_valid_names(project: Project) -> None:
    """Refuse any name of the exported definitions that fails the name rule (defence in depth)."""
    for name in sorted(project.reachable_from(project.root), key=str):
        d = project.definitions[name]
        _require(name_problem(d.name, NameKind.DEFINITION), f"The block definition {shown(d.name)}")
        if not (d.kind == "sequential" and d.class_name == "Sequential"):
            _require(name_problem(d.class_name, NameKind.CLASS), f"The class of the definition {shown(d.name)}")
        for argument in d.arguments:
            _require(argument_name_problem(argument), f"An argument of {shown(d.name)}")
        for node in d.nodes.values():
            spec = get_block(node.type)
            role = spec.role if spec is not None else None
            _require(name_problem(node.name, node_name_kind(d.kind, role)),
                     f"The name of a block in {shown(d.name)}")
            if role is Role.CODE:
                class_name = spec.resolve(node.params)["class_name"]
                _require(name_problem(class_name, NameKind.CLASS), f"The code block class {shown(class_name)}")


def _require(problem: str | None, what: str) -> None:
    if problem:
        raise ExportError(f"{what} cannot be exported: {problem}.")
