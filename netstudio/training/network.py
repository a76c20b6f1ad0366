"""The network a run trains: the project compiled, with the weights its file carries, and its optimizer.

The project's seed fixes the initial weights; a project without one is
compiled under ``--seed``, so every rank (and a resumed run) builds the same
network.  The project hash in ``run.json`` is the SHA-256 of the graph's
JSON, which saving trained weights into the project does not change.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass

import torch
from torch import nn

from netstudio.compiler import compile_project
from netstudio.export import materialize
from netstudio.export.stored_weights import load_stored_weights
from netstudio.graph.project import Project
from netstudio.serialization import load_project_file, project_to_json


@dataclass
class Network:
    project: Project
    module: nn.Module
    unplaced: dict[str, torch.Tensor]
    sha256: str


def load_network(path: str, trusted: bool, seed: int, warn: bool = True) -> Network:
    """Compile the project at ``path`` on the CPU; its stored tensors that do not fit are warnings on stderr."""
    loaded = load_project_file(path, trusted=trusted)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = compile_project(loaded.project)
        materialize(loaded.project, module)   # deferred layers draw their weights here: under the seed too
    for line in load_stored_weights(module, loaded.weights) if loaded.weights is not None else ():
        if warn:
            print(f"warning: {line.replace('exported', 'trained')}", file=sys.stderr)
    sha = hashlib.sha256(project_to_json(loaded.project).encode()).hexdigest()
    return Network(loaded.project, module, dict(loaded.unplaced or {}), sha)


def make_optimizer(name: str, params, lr: float, momentum: float | None,
                   weight_decay: float | None) -> torch.optim.Optimizer:
    """torch's own optimizer; unset ``--momentum``/``--weight-decay`` keep torch's defaults."""
    extra = {} if weight_decay is None else {"weight_decay": weight_decay}
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum or 0.0, **extra)
    return (torch.optim.Adam if name == "adam" else torch.optim.AdamW)(params, lr=lr, **extra)
