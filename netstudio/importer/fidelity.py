"""The import's contract, checked on the spot: same state_dict keys, strict loading, same outputs.

The compiled project must hold the original's tensors under the original's
names, in the same order and shapes, and compute the same outputs in eval mode
on the example inputs.  A difference is never silent: it goes into the report.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .errors import ImportFailed
from .modes import eval_mode


def load_original_weights(original: nn.Module, compiled: nn.Module, prefix: str = "") -> dict[str, torch.Tensor]:
    """Load the original's state_dict into the compiled network strictly; returns the tensors saved.

    ``prefix`` is what the project adds to every name (a model that is one block is a node of its project).
    """
    state = {prefix + k: v for k, v in original.state_dict().items()}
    mine = compiled.state_dict()
    if list(mine) != list(state):
        extra = [k for k in mine if k not in state]
        missing = [k for k in state if k not in mine]
        what = (f"it lacks {missing[0]!r}" if missing else f"it has {extra[0]!r}, which the model lacks" if extra
                else "their order differs")
        raise ImportFailed(f"The imported network's tensors do not match the model's: {what}.")
    for key, value in state.items():
        if tuple(mine[key].shape) != tuple(value.shape) or mine[key].dtype != value.dtype:
            raise ImportFailed(f"The imported network's {key!r} is {tuple(mine[key].shape)} {mine[key].dtype}, "
                               f"the model's {tuple(value.shape)} {value.dtype}.")
    on_meta = any(t.is_meta for t in (*compiled.parameters(), *compiled.buffers()))
    try:   # on meta, the model's tensors are taken over (assign), not copied into fresh ones
        compiled.load_state_dict(state, strict=True, assign=on_meta)
    except RuntimeError as err:
        raise ImportFailed(f"The model's weights do not load: {str(err).splitlines()[0]}.") from None
    if on_meta:
        _fill_unsaved_buffers(original, compiled, prefix)
    return {k: v.detach() for k, v in compiled.state_dict().items()}


def _fill_unsaved_buffers(original: nn.Module, compiled: nn.Module, prefix: str) -> None:
    """Buffers outside the state_dict (``persistent=False``) are copied from the model by name."""
    theirs = {prefix + k: v for k, v in original.named_buffers()}
    for name, value in list(compiled.named_buffers()):
        if value.is_meta:
            if name not in theirs:
                raise ImportFailed(f"The imported network's buffer {name!r} has no counterpart in the model.")
            owner, _, leaf = name.rpartition(".")
            compiled.get_submodule(owner)._buffers[leaf] = theirs[name].detach().clone()


def untied_parameters(original: nn.Module, compiled: nn.Module, prefix: str = "") -> list[str]:
    """Tensors the model shares between names (``decoder.weight = embedding.weight``) that the project
    holds as separate copies: said, never dropped in silence."""
    theirs: dict[int, list[str]] = {}
    for name, tensor in original.named_parameters(remove_duplicate=False):
        theirs.setdefault(id(tensor), []).append(prefix + name)
    mine = {name: id(tensor) for name, tensor in compiled.named_parameters(remove_duplicate=False)}
    problems = []
    for names in theirs.values():
        if len(names) > 1 and len({mine.get(n) for n in names}) > 1:
            problems.append(f"The model shares one tensor as {' and '.join(repr(n) for n in names)}; the project "
                            "holds separate copies (a tie between blocks of different kinds is not supported yet), "
                            "so training would let them drift apart.")
    return problems


def output_difference(original: nn.Module, compiled: nn.Module, inputs: tuple[torch.Tensor, ...]) -> str | None:
    """None when both give identical outputs in eval mode, else what differs (one sentence fragment)."""
    try:
        with eval_mode(original, compiled), torch.no_grad():
            expected, got = _flat(original(*inputs)), _flat(compiled(*inputs))
    except Exception as err:
        return f"running them failed: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    if len(expected) != len(got):
        return f"the model returns {len(expected)} tensors, the import {len(got)}"
    for i, (a, b) in enumerate(zip(expected, got)):
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"output {i} is {tuple(b.shape)} {b.dtype}, expected {tuple(a.shape)} {a.dtype}"
        if not torch.equal(a, b):
            diff = (a.double() - b.double()).abs().nan_to_num(float("inf")).max().item() if a.is_floating_point() else None
            return f"output {i} differs" + (f" by up to {diff:.3g}" if diff is not None else "")
    return None


def _flat(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _flat(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _flat(v)]
    return []
