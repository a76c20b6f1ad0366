"""The Python code block: a user-written ``nn.Module`` subclass stored in the project.

Its source lives in the project's ``code`` table under the class name, so two
nodes can use one class with different constructor arguments (the seed's
``MyLinear(64, 8)`` and ``MyLinear(8, 1)``).  The ports come from the class's
``forward`` signature, read from the syntax tree without running anything.
"""

from __future__ import annotations

import ast
import functools

from .block_spec import BlockSpec, Role
from .params import ParamSpec

CODE = BlockSpec(
    "Code", "Custom code", "Your own nn.Module subclass, written in Python (runs only in trusted projects).",
    params=(ParamSpec("class_name", "str", "CustomLayer", "the class in the project's code", key=True),
            ParamSpec("args", "json", {}, "keyword arguments for the constructor")),
    role=Role.CODE, icon="mdi6.language-python")

BLOCKS = (CODE,)

TEMPLATE = '''class {name}(nn.Module):
    """A custom layer without parameters: subtracts the mean."""

    def __init__(self):
        super().__init__()

    def forward(self, X):
        return X - X.mean()
'''


class CodeSyntaxError(Exception):
    """The source does not parse, or does not define the class; message is one sentence."""


def find_class(source: str, class_name: str) -> ast.ClassDef:
    """The class definition named ``class_name`` in ``source``, by parsing only."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise CodeSyntaxError(f"line {err.lineno}: {err.msg}") from None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return node
    raise CodeSyntaxError(f"the code defines no class named {class_name!r}")


@functools.lru_cache(maxsize=256)
def _forward(source: str, class_name: str) -> ast.FunctionDef:
    """The class's ``forward``, parsed once per source: every check asks for a code block's ports."""
    cls = find_class(source, class_name)
    for item in cls.body:
        if isinstance(item, ast.FunctionDef) and item.name == "forward":
            return item
    raise CodeSyntaxError(f"{class_name} has no forward method")


def forward_ports(source: str, class_name: str) -> tuple[str, ...]:
    """Input port names: the positional arguments of ``forward`` after ``self``."""
    forward = _forward(source, class_name)
    args = [a.arg for a in forward.args.posonlyargs + forward.args.args][1:]
    if not args:
        raise CodeSyntaxError(f"{class_name}.forward takes no input")
    return tuple(args)


def optional_ports(source: str, class_name: str) -> frozenset[str]:
    """Arguments of ``forward`` whose default is None (``state=None``): ports that may stay unconnected,
    passed by keyword when connected."""
    forward = _forward(source, class_name)
    args = (forward.args.posonlyargs + forward.args.args)[1:]
    defaults = forward.args.defaults
    with_default = args[len(args) - len(defaults):] if defaults else []
    return frozenset(a.arg for a, d in zip(with_default, defaults)
                     if isinstance(d, ast.Constant) and d.value is None)


def output_ports(source: str, class_name: str) -> tuple[str, ...]:
    """``out``; or, when every ``return`` of forward gives a tuple of the same length (``return y, state``),
    one port per element, named after the returned variables when they are distinct names."""
    forward = _forward(source, class_name)
    returns = [n.value for n in ast.walk(forward) if isinstance(n, ast.Return)]
    if not returns or not all(isinstance(r, ast.Tuple) for r in returns):
        return ("out",)
    sizes = {len(r.elts) for r in returns}
    if len(sizes) != 1 or sizes == {0} or sizes == {1}:
        return ("out",)
    (size,) = sizes
    names = [e.id if isinstance(e, ast.Name) else None for e in returns[-1].elts]
    if None not in names and len(set(names)) == size and "self" not in names:
        return tuple(names)
    return tuple(f"out{i}" for i in range(size))
