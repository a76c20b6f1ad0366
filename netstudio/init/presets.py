"""The seed's four initialization examples, one click each in the Initialize panel.

normal(0, 0.01) weights with zero biases, constant 1 with zero biases,
Xavier on the first layer with 42 on the last, and the custom U(-10, 10) that
zeroes |w| < 5.  Each builds the ``InitAssignment``s for a given network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from netstudio.errors import NetStudioError
from netstudio.init import InitAssignment, Scope
from netstudio.init.scopes import type_name


def linear_paths(module: nn.Module) -> list[str]:
    """Module paths of every ``Linear`` (lazy ones included), in module order."""
    return [name for name, sub in module.named_modules() if name and type_name(sub) == "Linear"]


def _linear(leaf: str) -> Scope:
    return Scope(module_type="Linear", leaf=leaf)


def _normal_zero(module: nn.Module) -> list[InitAssignment]:
    return [InitAssignment(_linear("weight"), "normal", {"mean": 0.0, "std": 0.01}),
            InitAssignment(_linear("bias"), "zeros")]


def _constant_zero(module: nn.Module) -> list[InitAssignment]:
    return [InitAssignment(_linear("weight"), "constant", {"value": 1.0}),
            InitAssignment(_linear("bias"), "zeros")]


def _xavier_42(module: nn.Module) -> list[InitAssignment]:
    paths = linear_paths(module)
    if len(paths) < 2:
        raise NetStudioError("This preset needs at least two Linear layers: a first one and a last one.")
    return [InitAssignment(Scope.parameter(f"{paths[0]}.weight"), "xavier_uniform"),
            InitAssignment(Scope.parameter(f"{paths[-1]}.weight"), "constant", {"value": 42.0})]


def _custom(module: nn.Module) -> list[InitAssignment]:
    return [InitAssignment(_linear("weight"), "seed_custom")]


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    tooltip: str
    build: Callable[[nn.Module], list[InitAssignment]]


PRESETS = (
    Preset("normal", "Normal(0, 0.01) + zero bias",
           "Every Linear: weights from N(0, 0.01²), biases 0 (net.apply(init_normal)).", _normal_zero),
    Preset("constant", "Constant 1 + zero bias",
           "Every Linear: weights 1, biases 0 (net.apply(init_constant)).", _constant_zero),
    Preset("xavier_42", "Xavier on first layer, 42 on last",
           "The first Linear's weight gets Xavier uniform, the last Linear's weight the constant 42.", _xavier_42),
    Preset("custom", "Custom U(-10,10), |w|<5 → 0",
           "Every Linear weight from U(-10, 10), then values with |w| < 5 set to 0 (the book's my_init).", _custom),
)
