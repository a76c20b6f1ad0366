"""Importing weights from a file (or a dict) into an existing network.

Finding the state dict in what was loaded:

* While the object is a dict with no tensor directly in it, and it has a
  ``"state_dict"``, ``"model_state_dict"`` or ``"model"`` key (checked in that
  order) holding a dict, that dict is used instead; so training checkpoints
  like ``{"model": ..., "optimizer": ..., "epoch": 3}`` work.
* Nested dicts and lists are then flattened to dotted names; non-tensor
  values are ignored.
* If every name starts with ``"module."`` (saved from ``DataParallel``) and no
  name in the network does, that prefix is dropped.

Matching is by name against ``module.state_dict()``.  A tensor whose shape
differs is *mismatched* and not copied.  Tied parameters (one tensor under
several names) are copied once, and a tied name absent from the file counts
as matched when another of its names is present.  Copies happen in place
under ``torch.no_grad`` via ``load_state_dict``, so values are converted to
each parameter's dtype and stay on its device.  Uninitialized parameters of
lazy modules (``nn.LazyLinear``...) take the file's shape, exactly as
``load_state_dict`` materializes them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from netstudio.errors import FileFormatError, NetStudioError
from netstudio.files.checkpoint import flatten_leaves
from netstudio.files.tensor_io import load_tensors

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
DATA_PARALLEL_PREFIX = "module."


@dataclass(frozen=True)
class Mismatch:
    name: str
    expected: tuple[int, ...]  # the network's shape
    found: tuple[int, ...]  # the file's shape


@dataclass(frozen=True)
class ImportReport:
    """How the file's tensors lined up with the network's; names in network or file order."""

    matched: tuple[str, ...]
    missing: tuple[str, ...]  # in the network, not in the file
    unexpected: tuple[str, ...]  # in the file, not in the network
    mismatched: tuple[Mismatch, ...]

    @property
    def complete(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def summary(self) -> str:
        """One sentence for a status bar."""
        return (
            f"{len(self.matched)} tensors matched, {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected and {len(self.mismatched)} with the wrong shape."
        )


def import_weights(
    module: nn.Module, source: str | os.PathLike | Mapping[str, object], strict: bool = False
) -> ImportReport:
    """Copy matching tensors from ``source`` into ``module``; see the module docstring.

    With ``strict=True`` anything missing, unexpected or mismatched raises a
    :class:`NetStudioError` and the network is left unchanged.
    """
    state = _state_dict(source)
    expected = module.state_dict(keep_vars=True)
    state = _strip_data_parallel_prefix(state, expected)
    report, to_copy = _match(expected, state)
    if strict and not report.complete:
        raise NetStudioError(
            f"The weights do not match the network ({len(report.missing)} missing, "
            f"{len(report.unexpected)} unexpected, {len(report.mismatched)} with the wrong shape), "
            "so nothing was imported."
        )
    try:
        module.load_state_dict(to_copy, strict=False)
    except RuntimeError as err:
        reason = " ".join(str(err).split())
        raise NetStudioError(f"Could not copy the weights into the network: {reason.rstrip('.')}.") from None
    return report


def _state_dict(source: str | os.PathLike | Mapping[str, object]) -> dict[str, torch.Tensor]:
    obj = source if isinstance(source, Mapping) else load_tensors(source)
    while isinstance(obj, Mapping) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    where = "The weights" if isinstance(source, Mapping) else f"'{Path(source).name}'"
    if not isinstance(obj, Mapping):
        raise FileFormatError(f"{where} hold a {type(obj).__name__}, not a state dict of named tensors.")
    return {name: value for name, value in flatten_leaves(obj, source=where) if isinstance(value, torch.Tensor)}


def _strip_data_parallel_prefix(
    state: dict[str, torch.Tensor], expected: Mapping[str, object]
) -> dict[str, torch.Tensor]:
    prefixed = state and all(name.startswith(DATA_PARALLEL_PREFIX) for name in state)
    if not prefixed or any(name.startswith(DATA_PARALLEL_PREFIX) for name in expected):
        return state
    return {name.removeprefix(DATA_PARALLEL_PREFIX): value for name, value in state.items()}


def _match(
    expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]
) -> tuple[ImportReport, dict[str, torch.Tensor]]:
    """The report, and the file tensors to copy: one name per distinct network tensor."""

    def fits(name: str) -> bool:
        target = expected[name]
        return is_lazy(target) or tuple(state[name].shape) == tuple(target.shape)

    to_copy: dict[str, torch.Tensor] = {}
    filled: set[int] = set()  # id() of network tensors that will receive a value
    for name, target in expected.items():
        if name in state and fits(name) and id(target) not in filled:
            filled.add(id(target))
            to_copy[name] = state[name]
    matched, missing, mismatched = [], [], []
    for name, target in expected.items():
        if name in state and not fits(name):
            mismatched.append(Mismatch(name, tuple(target.shape), tuple(state[name].shape)))
        elif name in state or id(target) in filled:
            matched.append(name)
        else:
            missing.append(name)
    unexpected = tuple(name for name in state if name not in expected)
    return ImportReport(tuple(matched), tuple(missing), unexpected, tuple(mismatched)), to_copy
