"""A user's class as code-block source: the class, and what it uses from its own file.

``inspect.getsource`` gives the class alone, but a class often calls a helper of
its file (d2l's ``DenseBlock`` builds its layers with ``conv_block``).  So the
file's top-level imports, functions, classes and simple constants that the
class needs, directly or through each other, come along, in file order; nothing
else of the file (no script code) is kept.
"""

from __future__ import annotations

import ast
import inspect
import textwrap


def class_source(cls: type) -> str:
    """The source to run as a code block; raises OSError or TypeError when there is none."""
    own = textwrap.dedent(inspect.getsource(cls))
    try:
        file_text = inspect.getsource(inspect.getmodule(cls))
        tree = ast.parse(file_text)
    except (OSError, TypeError, SyntaxError):
        return own
    defined: dict[str, ast.stmt] = {}
    for node in tree.body:
        for name in _defines(node):
            defined.setdefault(name, node)
    target = defined.get(cls.__name__)
    if not isinstance(target, ast.ClassDef):
        return own
    needed, todo = {id(target): target}, [target]
    while todo:
        for name in _names_used(todo.pop()):
            node = defined.get(name)
            if node is not None and id(node) not in needed:
                needed[id(node)] = node
                todo.append(node)
    kept = [node for node in tree.body if id(node) in needed]
    return "\n\n".join(ast.get_source_segment(file_text, node) or "" for node in kept) + "\n"


def _defines(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
    if isinstance(node, ast.Assign) and _constant(node.value):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    return []


def _constant(value: ast.expr) -> bool:
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _names_used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
        {n.value.id for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
