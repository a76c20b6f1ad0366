"""Renaming a code block's class: the project's code table, the ``class X(`` statement, every user.

The source of a code class is stored under its name, and each Code node names
the class it uses.  A rename moves the source to the new name, renames the
class statement in it (nothing else: comments, strings and other names stay as
written), and points every node that used the old name at the new one, all in
one ``doc.batch()``, so the checker and the views see one edit.

    renamed = rename_code_class(doc, "CustomLayer", "Centre")   # EditError when refused
    undo_rename(doc, renamed)                                   # exactly as before
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .document import Document, EditError
from .names import NameKind, name_problem


@dataclass(frozen=True)
class RenamedClass:
    """What a rename changed, so that it can be undone exactly."""

    old: str
    new: str
    old_source: str
    new_source: str
    users: tuple[tuple[str, str], ...]   # (definition, node id) of every Code node that used the class


def users_of(doc: Document, class_name: str) -> list[tuple[str, str]]:
    """(definition, node id) of every Code node using ``class_name``."""
    return [(d.name, n.id) for d in doc.project.definitions.values() for n in d.nodes.values()
            if n.type == "Code" and n.params.get("class_name") == class_name]


def class_name_problem(doc: Document, old: str, new: str) -> str | None:
    """Why the class ``old`` cannot be renamed to ``new``, as one sentence; None when it can."""
    project = doc.project
    if old not in project.code:
        return f"There is no code class named {old!r}."
    problem = name_problem(new, NameKind.CLASS)
    if problem:
        return problem[:1].upper() + problem[1:] + "."
    if new != old and (new in project.code or any(d.class_name == new for d in project.definitions.values())):
        return f"Another class in this project is already named {new!r}; choose a name of its own."
    return None


def rename_class_statement(source: str, old: str, new: str) -> str:
    """``source`` with its top-level ``class old`` statement renamed to ``new`` (found by parsing when
    the source parses, else the first such line); unchanged when there is none."""
    line = None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    if tree is not None:
        line = next((n.lineno for n in tree.body if isinstance(n, ast.ClassDef) and n.name == old), None)
        if line is None:
            return source
    pattern = re.compile(rf"^(\s*class\s+){re.escape(old)}\b", re.MULTILINE)
    lines = source.splitlines(keepends=True)
    if line is not None:
        lines[line - 1] = pattern.sub(lambda m: m.group(1) + new, lines[line - 1], count=1)
        return "".join(lines)
    return pattern.sub(lambda m: m.group(1) + new, source, count=1)


def rename_code_class(doc: Document, old: str, new: str) -> RenamedClass:
    """Rename the code class ``old`` to ``new`` everywhere; raises EditError (nothing changed) when refused."""
    problem = class_name_problem(doc, old, new)
    if problem:
        raise EditError(problem)
    old_source = doc.project.code[old]
    renamed = RenamedClass(old, new, old_source, rename_class_statement(old_source, old, new),
                           tuple(users_of(doc, old)))
    if new != old:
        _apply(doc, renamed.old, renamed.new, renamed.new_source, renamed.users)
    return renamed


def undo_rename(doc: Document, renamed: RenamedClass) -> None:
    """Put back what ``rename_code_class`` changed: the old name, its source as it was, its users."""
    if renamed.new != renamed.old:
        _apply(doc, renamed.new, renamed.old, renamed.old_source, renamed.users)


def _apply(doc: Document, old: str, new: str, source: str, users: tuple[tuple[str, str], ...]) -> None:
    with doc.batch():
        doc.set_code(new, source)
        for definition, node_id in users:
            doc.set_param(definition, node_id, "class_name", new)
        doc.remove_code(old)
