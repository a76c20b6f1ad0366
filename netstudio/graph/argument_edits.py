"""Edits of a definition's constructor arguments that reach beyond it: removing or renaming
one rewrites the references inside the definition and what every use of it passes.

Like ``grouping``, these are composite edits made of the document's primitive calls
(``set_param``, ``replace_arguments``), so every view hears each step; the document
wraps each in one batch.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from ..errors import EditError, as_sentence
from .arguments import ArgumentError, argument_name_problem, bind, reference, replace_references

if TYPE_CHECKING:
    from .document import Document


def remove_argument(doc: "Document", definition: str, name: str) -> None:
    d = doc.definition(definition)
    if name not in d.arguments:
        raise EditError(f"{definition} has no argument named {name!r}.")
    default = d.arguments[name]
    _rewrite_references(doc, definition, name, lambda ref: _inlined(ref, name, default))
    _rename_passed(doc, definition, name, None)
    doc.replace_arguments(definition, {k: v for k, v in d.arguments.items() if k != name})


def rename_argument(doc: "Document", definition: str, old: str, new: str) -> None:
    d = doc.definition(definition)
    if old not in d.arguments:
        raise EditError(f"{definition} has no argument named {old!r}.")
    if new == old:
        return
    problem = argument_name_problem(new)
    if problem:
        raise EditError(as_sentence(problem))
    if new in d.arguments:
        raise EditError(f"{definition} already has an argument named {new!r}.")
    _rewrite_references(doc, definition, old, lambda ref: {**ref, "arg": new})
    _rename_passed(doc, definition, old, new)
    doc.replace_arguments(definition, {(new if k == old else k): v for k, v in d.arguments.items()})


def use_argument(doc: "Document", definition: str, node_id: str, key: str, name: str, item: int | None) -> None:
    d = doc.definition(definition)
    if name not in d.arguments:
        raise EditError(f"{definition} has no argument named {name!r}.")
    ref = reference(name, item)
    try:
        bind(ref, d.arguments)
    except ArgumentError as err:
        raise EditError(as_sentence(str(err).replace("uses", "That would use", 1))) from None
    doc.set_param(definition, node_id, key, ref)


def _rewrite_references(doc: "Document", definition: str, name: str, replace) -> None:
    for node in list(doc.definition(definition).nodes.values()):
        for key, value in list(node.params.items()):
            new = replace_references(value, name, replace)
            if new != value:
                doc.set_param(definition, node.id, key, new)


def _rename_passed(doc: "Document", definition: str, old: str, new: str | None) -> None:
    """Every use of ``definition`` passes ``old`` as ``new`` (or not at all, when None)."""
    for parent, node_id in doc.uses_of(definition):
        given = doc.node(parent, node_id).params.get("args")
        if isinstance(given, dict) and old in given:
            renamed = {(new if k == old else k): v for k, v in given.items() if new is not None or k != old}
            doc.set_param(parent, node_id, "args", renamed)


def _inlined(ref: dict, name: str, default: Any) -> Any:
    """What a reference to a removed argument becomes: its default (the whole default when the item it
    named does not exist, which the checker had already reported)."""
    try:
        return bind(ref, {name: default})
    except ArgumentError:
        return copy.deepcopy(default)
