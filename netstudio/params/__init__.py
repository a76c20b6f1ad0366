"""Parameters of a network: the tree view, direct edits, and tied-parameter gradients."""

from netstudio.params.direct_edits import DirectEdit, apply_edits, find_tensor
from netstudio.params.tied_gradients import WHY_SUM_EXPLANATION, Use, UseGradients, per_use_gradients
from netstudio.params.tree import ModuleEntry, ParamTree, TensorEntry, build_param_tree

__all__ = [
    "WHY_SUM_EXPLANATION",
    "DirectEdit",
    "ModuleEntry",
    "ParamTree",
    "TensorEntry",
    "Use",
    "UseGradients",
    "apply_edits",
    "build_param_tree",
    "find_tensor",
    "per_use_gradients",
]
