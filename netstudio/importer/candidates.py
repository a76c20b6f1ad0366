"""The models a Python file offers, read from its syntax tree without running it.

The import dialog lists them so the user picks a name instead of typing one;
running the file waits until the user asks for the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

MAX_SOURCE = 4 << 20   # a model file larger than 4 MB is not listed (it can still be named by hand)
_MODULE_BASES = ("Module", "Sequential", "ModuleList", "ModuleDict")


def model_names(path: str | Path) -> list[str]:
    """Classes that derive from an nn.Module class, and functions callable without arguments."""
    try:
        file = Path(path)
        if file.stat().st_size > MAX_SOURCE:
            return []
        tree = ast.parse(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, SyntaxError, UnicodeDecodeError):
        return []
    modules = {n.name for n in tree.body if isinstance(n, ast.ClassDef) and any(_is_module(b) for b in n.bases)}
    changed = True
    while changed:   # subclasses of the file's own modules
        changed = False
        for n in tree.body:
            if isinstance(n, ast.ClassDef) and n.name not in modules and \
                    any(isinstance(b, ast.Name) and b.id in modules for b in n.bases):
                modules.add(n.name)
                changed = True
    names = [n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.name in modules
             and all(_no_arguments_needed(f, 1) for f in n.body
                     if isinstance(f, ast.FunctionDef) and f.name == "__init__")]
    names += [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")
              and _no_arguments_needed(n, 0)]
    return names


def _no_arguments_needed(f: ast.FunctionDef, bound: int) -> bool:
    """Whether ``f`` can be called with no arguments (``bound``: self)."""
    positional = len(f.args.posonlyargs) + len(f.args.args) - bound
    required_kw = sum(d is None for d in f.args.kw_defaults)
    return positional <= len(f.args.defaults) and required_kw == 0


def _is_module(base: ast.expr) -> bool:
    name = base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else ""
    return name in _MODULE_BASES
