"""Constructor arguments of a block definition, and the hyperparameters that use them.

A definition may declare arguments with default values, as a person writes
``class Inception(nn.Module): def __init__(self, c1, c2, c3, c4)``.  A
hyperparameter of a node inside it then holds a *reference* instead of a
value: ``{"arg": "c1"}`` for ``c1``, ``{"arg": "c2", "item": 0}`` for
``c2[0]``, also inside a list (``[{"arg": "k"}, 1]`` for ``(k, 1)``).  Each use
of the definition (a Block or Sequential node) passes its own values in its
``args`` hyperparameter, which may themselves refer to the arguments of the
definition it sits in; what it leaves out takes the default.

References are plain JSON, so a project stays a JSON document; the one
reserved form is a dict whose keys are ``arg`` and optionally ``item``.  They
are *bound* (replaced by values) wherever a hyperparameter is used for one
instance: the checker with the defaults, shape inference and the compiler with
each instance's values.  Hyperparameters that decide a node's ports (a
Function's call) or what it is (a container's definition, a code block's
class) cannot be arguments, so ports never depend on an instance.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator, Mapping

from ..catalog.block_spec import BlockSpec, Role
from .names import NameKind, name_problem

ARG, ITEM = "arg", "item"
MAX_ARGUMENTS = 64
# Hyperparameters that say what a node is, never a value of one instance.
_STRUCTURAL_KEYS = frozenset({"definition", "class_name"})


class ArgumentError(ValueError):
    """A reference that cannot be bound; the message is a sentence fragment about the node."""


def reference(name: str, item: int | None = None) -> dict[str, Any]:
    return {ARG: name} if item is None else {ARG: name, ITEM: item}


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and ARG in value and set(value) <= {ARG, ITEM}


def expression(ref: Mapping[str, Any]) -> str:
    """How Python source writes the reference: ``c1``, ``c2[0]`` (names pass the argument rule first)."""
    return f"{ref[ARG]}[{ref[ITEM]}]" if ITEM in ref else str(ref[ARG])


def references(value: Any) -> Iterator[dict[str, Any]]:
    """Every reference inside a hyperparameter value, depth first."""
    if is_reference(value):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from references(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from references(v)


def replace_references(value: Any, name: str, replace) -> Any:
    """``value`` with each reference to ``name`` replaced by ``replace(ref)`` (renaming, inlining)."""
    if is_reference(value):
        return replace(value) if value[ARG] == name else value
    if isinstance(value, list):
        return [replace_references(v, name, replace) for v in value]
    if isinstance(value, dict):
        return {k: replace_references(v, name, replace) for k, v in value.items()}
    return value


def uses_arguments(params: Mapping[str, Any]) -> bool:
    return any(True for v in params.values() for _ in references(v))


def bind(value: Any, values: Mapping[str, Any]) -> Any:
    """``value`` with every reference replaced by its argument's value; raises ArgumentError."""
    if is_reference(value):
        return _value_of(value, values)
    if isinstance(value, list):
        return [bind(v, values) for v in value]
    if isinstance(value, dict):
        return {k: bind(v, values) for k, v in value.items()}
    return value


def bind_params(params: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A node's hyperparameters for one instance (the dict itself when nothing refers to an argument)."""
    if not uses_arguments(params):
        return params if isinstance(params, dict) else dict(params)
    return {k: bind(v, values) for k, v in params.items()}


def _value_of(ref: Mapping[str, Any], values: Mapping[str, Any]) -> Any:
    name, item = ref[ARG], ref.get(ITEM)
    if not isinstance(name, str) or name not in values:
        raise ArgumentError(f"uses the argument {name!r:.60}, which its block does not declare")
    value = values[name]
    if ITEM not in ref:
        return copy.deepcopy(value) if isinstance(value, (list, dict)) else value
    if isinstance(item, bool) or not isinstance(item, int):
        raise ArgumentError(f"uses {name}[{item!r:.20}], but an item must be a whole number")
    if not isinstance(value, list) or not -len(value) <= item < len(value):
        raise ArgumentError(f"uses {name}[{item}], but {name} is {value!r:.60}, which has no item {item}")
    found = value[item]
    return copy.deepcopy(found) if isinstance(found, (list, dict)) else found


def instance_values(declared: Mapping[str, Any], given: Any, outer: Mapping[str, Any]) -> dict[str, Any]:
    """The argument values of one use of a definition: its defaults, overridden by what the using node
    gives (bound with the values of the definition the node sits in).  Unknown names are the checker's."""
    values = copy.deepcopy(dict(declared))
    if isinstance(given, dict):
        for name, value in given.items():
            if name in values:
                values[name] = bind(value, outer)
    return values


def may_use_arguments(spec: BlockSpec, key: str) -> bool:
    """Whether a hyperparameter may refer to an argument: not one that decides what the node is or
    which ports it has, and not on an Input or Output."""
    if key in _STRUCTURAL_KEYS or spec.role in (Role.INPUT, Role.OUTPUT):
        return False
    return not (callable(spec.inputs) or callable(spec.outputs))


def argument_name_problem(name: Any) -> str | None:
    """An argument becomes a parameter of ``__init__`` in model.py, where it must not hide what the
    generated code reads (``nn``, ``torch``...): the rule for forward's arguments (ports) applies."""
    return name_problem(name, NameKind.PORT)


def arguments_problem(arguments: Any) -> str | None:
    """Why a definition's declared arguments cannot be used, or None."""
    if not isinstance(arguments, dict):
        return "its arguments must be a mapping of names to default values"
    if len(arguments) > MAX_ARGUMENTS:
        return f"it declares {len(arguments)} arguments; at most {MAX_ARGUMENTS} are allowed"
    for name, default in arguments.items():
        problem = argument_name_problem(name)
        if problem:
            return f"its argument {name!r:.60} is not a valid name: {problem}"
        if next(references(default), None) is not None:
            return f"the default of its argument {name} refers to an argument; a default must be a value"
    return None
