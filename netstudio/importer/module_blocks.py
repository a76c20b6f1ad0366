"""Which catalog block a torch.nn module is, with the hyperparameters that rebuild it.

The constructor arguments are recovered the way the exporter recovers them
(``netstudio.export.constructors``: the class name around ``extra_repr()``, or
attributes named like the constructor's parameters), then mapped onto the
block's hyperparameters.  A match is accepted only if the block, built from
those hyperparameters on the meta device, describes exactly like the original
(class, ``repr``, parameter and buffer names, shapes and dtypes): a block that
cannot say everything the module says is no match, and the importer falls back.
"""

from __future__ import annotations

import ast
import inspect
from functools import cache
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..catalog import CATALOG
from ..catalog.block_spec import BlockSpec
from ..export.constructors import NotExpressible, base_namespace, constructor_call, describe, is_literal

# Arguments that change how a module computes in place, not what: dropped, the graph owns its values.
_IGNORED = frozenset({"inplace"})


@cache
def _specs_by_class() -> dict[type, BlockSpec]:
    out: dict[type, BlockSpec] = {}
    for spec in CATALOG.values():
        cls = getattr(spec, "module_class", None)
        if isinstance(cls, type) and cls not in out:
            out[cls] = spec
    return out


def spec_for(module: nn.Module) -> BlockSpec | None:
    """The catalog block that builds this module's class, or None."""
    return _specs_by_class().get(type(module))


def constructor_arguments(module: nn.Module, order: list[str] | None = None) -> dict[str, Any] | None:
    """Keyword arguments that rebuild ``module``'s configuration (not its values), or None.

    ``order`` names the positional arguments where the constructor only says ``*args`` (``nn.GRU``).
    """
    try:
        source = constructor_call(module, base_namespace())
    except NotExpressible:
        return None
    call = ast.parse(source, mode="eval").body
    if not isinstance(call, ast.Call):
        return None
    try:
        names = [p.name for p in list(inspect.signature(type(module).__init__).parameters.values())[1:]
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)] or list(order or ())
        args = {names[i]: ast.literal_eval(a) for i, a in enumerate(call.args)}
        args.update({k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg})
    except (ValueError, TypeError, SyntaxError, IndexError):
        return None
    return {k: _plain(v) for k, v in args.items()}


def block_for_module(module: nn.Module) -> tuple[BlockSpec, dict[str, Any]] | None:
    """(block, hyperparameters) that rebuild ``module`` exactly, or None."""
    spec = spec_for(module)
    if spec is None or spec.make_module is None:
        return None
    special = _SPECIAL.get(type(module))
    args = special(module) if special else constructor_arguments(module, [p.name for p in spec.params])
    if args is None:
        return None
    defaults = _signature_defaults(type(module))
    params: dict[str, Any] = {}
    for name, value in args.items():
        if spec.param(name) is None:
            if name in _IGNORED or (name in defaults and _plain(defaults[name]) == value):
                continue   # the block leaves it at torch's default, which is what the module has
            return None
        params[name] = value
    for name, value in params.items():
        param = spec.param(name)
        if param.validate(value) is not None and param.kind == "ints" and type(value) is int:
            value = params[name] = [value] * (param.length[1] if param.length else 1)   # 2 is (2, 2)
        if param.validate(value) is not None:
            return None
    try:
        with torch.device("meta"):
            built = spec.make_module(spec.resolve(params))
    except Exception:
        return None
    if not same_configuration(built, module):
        return None
    defaults = spec.defaults()
    return spec, {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}


def _transformer_layer(module: nn.Module) -> dict[str, Any] | None:
    """TransformerEncoderLayer/DecoderLayer keep their arguments inside their children."""
    activation = "relu" if module.activation is F.relu else "gelu" if module.activation is F.gelu else None
    if activation is None:
        return None
    attention = module.self_attn
    return {"d_model": attention.embed_dim, "nhead": attention.num_heads,
            "dim_feedforward": module.linear1.out_features, "dropout": module.dropout.p,
            "activation": activation, "layer_norm_eps": module.norm1.eps, "batch_first": attention.batch_first,
            "norm_first": module.norm_first, "bias": module.linear1.bias is not None}


_SPECIAL = {nn.TransformerEncoderLayer: _transformer_layer, nn.TransformerDecoderLayer: _transformer_layer}


def _signature_defaults(cls: type) -> dict[str, Any]:
    try:
        return {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()
                if p.default is not p.empty}
    except (TypeError, ValueError):
        return {}


def same_configuration(a: nn.Module, b: nn.Module) -> bool:
    """Whether ``b`` computes like ``a``, built from a block: the same classes, tensor names, shapes and dtypes,
    and the same plain settings of ``a``'s, where ``2`` and ``(2, 2)`` are one kernel size (torch accepts both) and the
    in-place flag does not count (the graph owns its values)."""
    if describe(a, strict=False) != describe(b, strict=False):
        return False
    return all(_settings(x) == _settings(y, like=x) for x, y in zip(a.modules(), b.modules()))


def _settings(module: nn.Module, like: nn.Module | None = None) -> dict[str, Any]:
    """Plain settings; with ``like`` (the built one), only those it has (see ``constructors.describe``)."""
    return {k: _normal(v) for k, v in vars(module).items()
            if not k.startswith("_") and k not in ("training", "inplace") and is_literal(v)
            and (like is None or k in vars(like))}


def _normal(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        items = tuple(_normal(v) for v in value)
        return items[0] if items and all(type(v) is int and v == items[0] for v in items) else items
    return value


def _plain(value: Any) -> Any:
    """Tuples as lists, the way hyperparameters are stored."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
