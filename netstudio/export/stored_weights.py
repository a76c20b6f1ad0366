"""The weights a project file carries, put into the compiled network before it is exported.

A ``.netstudio`` archive may hold trained weights; exporting the seed's
initial values instead would silently throw the training away.  Stored
tensors are matched by name (:func:`netstudio.files.weights_import.import_weights`);
what does not fit is not dropped silently but described, one sentence each,
for the caller to show as warnings.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..files.weights_import import import_weights
from .errors import shown


def load_stored_weights(module: nn.Module, weights: Mapping[str, torch.Tensor]) -> list[str]:
    """Copy the stored tensors that fit into ``module`` (materialized); one line per one that did not
    fit, was not in the network, or is missing from the file."""
    report = import_weights(module, weights, strict=False)
    lines = [f"stored tensor {shown(m.name)} {m.found} does not fit the network's {m.expected}; "
             "it is not exported" for m in report.mismatched]
    lines += [f"stored tensor {shown(name)} is not in the network; it is not exported" for name in report.unexpected]
    lines += [f"the network's tensor {shown(name)} is not among the stored weights; its initial value is exported"
              for name in report.missing]
    return lines
