"""Element-wise activations and softmax: stateless, so functions inside graph blocks."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .block_spec import BlockSpec
from .params import ParamSpec
from .shape_rules import axis, need_float
from .tensor_spec import TensorSpec

ACTIVATIONS = "Activations"


def _same(name: str):
    def infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
        need_float(name, ins[0])
        return ins[0]
    return infer


RELU = BlockSpec("ReLU", ACTIVATIONS, "max(x, 0), element-wise.",
                 make_module=lambda p: nn.ReLU(), function=lambda p: (torch.relu, (), {}, False),
                 infer=_same("ReLU"), icon="mdi6.chart-line-variant", module_class=nn.ReLU)
SIGMOID = BlockSpec("Sigmoid", ACTIVATIONS, "1 / (1 + exp(-x)), element-wise.",
                    make_module=lambda p: nn.Sigmoid(), function=lambda p: (torch.sigmoid, (), {}, False),
                    infer=_same("Sigmoid"), icon="mdi6.sine-wave", module_class=nn.Sigmoid)
TANH = BlockSpec("Tanh", ACTIVATIONS, "Hyperbolic tangent, element-wise.",
                 make_module=lambda p: nn.Tanh(), function=lambda p: (torch.tanh, (), {}, False),
                 infer=_same("Tanh"), icon="mdi6.sine-wave", module_class=nn.Tanh)
GELU = BlockSpec(
    "GELU", ACTIVATIONS, "Gaussian error linear unit, element-wise.",
    params=(ParamSpec("approximate", "choice", "none", "exact, or the tanh approximation", choices=("none", "tanh")),),
    make_module=lambda p: nn.GELU(approximate=p["approximate"]),
    function=lambda p: (F.gelu, (), {"approximate": p["approximate"]} if p["approximate"] != "none" else {}, False),
    infer=_same("GELU"), icon="mdi6.chart-bell-curve-cumulative", module_class=nn.GELU)


def _softmax_infer(p: dict, ins: list[TensorSpec]) -> TensorSpec:
    need_float("Softmax", ins[0])
    axis(p["dim"], len(ins[0].shape), "Softmax")
    return ins[0]


SOFTMAX = BlockSpec(
    "Softmax", ACTIVATIONS, "Turns scores into probabilities that sum to 1 along dim.",
    params=(ParamSpec("dim", "int", -1, "the dimension that sums to 1", key=True),),
    make_module=lambda p: nn.Softmax(dim=p["dim"]),
    function=lambda p: (torch.softmax, (), {"dim": p["dim"]}, False),
    infer=_softmax_infer, icon="mdi6.percent", module_class=nn.Softmax)

BLOCKS = (RELU, SIGMOID, TANH, GELU, SOFTMAX)
