"""model.py for definitions with constructor arguments: ``def __init__(self, c1, c2)`` and
``nn.Conv2d(192, c1, kernel_size=1)``, as a person writes ``Inception``.

A child's call is first written from its built module (``constructors``), with
this instance's values; each hyperparameter that refers to an argument then has
its value in that call replaced by the argument's expression (``c1``,
``c2[0]``, ``(k, 1)``), found by the constructor parameter of the same name.
The templated call is accepted only if, evaluated with this instance's argument
values, it rebuilds the same module; otherwise the definition is written
without arguments, one class per distinct configuration, as before.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any, Mapping

from torch import nn

from ..graph.arguments import expression, is_reference, references
from .constructors import NotExpressible, rebuilds
from .source_text import literal


def value_source(value: Any) -> str:
    """Python source for a hyperparameter or argument value: references by name, lists as tuples."""
    if is_reference(value):
        return expression(value)
    if isinstance(value, list):
        return literal(tuple(_SourceText(value_source(v)) for v in value)) if value else "()"
    return literal(value)


class _SourceText(str):
    """Already Python source: ``literal`` of a tuple of these writes them as they are."""

    def __repr__(self) -> str:
        return str(self)


def python_value(value: Any) -> Any:
    """A JSON value as model.py passes it (lists as tuples), for evaluating calls the same way."""
    return tuple(python_value(v) for v in value) if isinstance(value, list) else value


def signature(arguments: Mapping[str, Any]) -> str:
    """``self, c1=64, c2=(96, 128)``: every argument with its default, so ``Name()`` still builds."""
    return ", ".join(["self"] + [f"{name}={value_source(default)}" for name, default in arguments.items()])


def call_arguments(declared: Mapping[str, Any], given: Mapping[str, Any]) -> str:
    """The arguments of one use: positional while every earlier one is given, then by keyword;
    those not given are left to their defaults."""
    parts, positional = [], True
    for name in declared:
        if name not in given:
            positional = False
            continue
        source = value_source(given[name])
        parts.append(source if positional else f"{name}={source}")
    return ", ".join(parts)


def templated_call(call: str, module: nn.Module, params: Mapping[str, Any], values: Mapping[str, Any],
                   namespace: dict[str, Any]) -> str:
    """``call`` with each hyperparameter that refers to an argument written as that reference;
    raises NotExpressible when that cannot be done faithfully."""
    tree = ast.parse(call, mode="eval").body
    if not isinstance(tree, ast.Call) or any(isinstance(a, ast.Starred) for a in tree.args) \
            or any(k.arg is None for k in tree.keywords):
        raise NotExpressible(f"{call} is not a plain call")
    names = _constructor_parameters(type(module))
    templated = False
    for key, value in params.items():
        if next(references(value), None) is None:
            continue
        if key not in names:
            raise NotExpressible(f"{type(module).__name__} has no constructor argument {key!r}")
        source = ast.parse(value_source(value), mode="eval").body
        index = names.index(key)
        keyword = next((k for k in tree.keywords if k.arg == key), None)
        if index < len(tree.args):
            tree.args[index] = source
        elif keyword is not None:
            keyword.value = source
        else:
            tree.keywords.append(ast.keyword(arg=key, value=source))
        templated = True
    if not templated:
        return call
    result = ast.unparse(tree)
    scope = {**namespace, **{name: python_value(v) for name, v in values.items()}}
    if not rebuilds(result, module, scope):
        raise NotExpressible(f"{result} does not rebuild {type(module).__name__}")
    return result


def _constructor_parameters(cls: type) -> list[str]:
    try:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
