"""The runs of a live network: its sample input, a forward pass, a backward pass, a few training steps.

A mixin of :class:`netstudio.session.NetworkSession`, which owns the network, its lock and its
events; each run holds the lock, so a save takes its weights between two steps.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .catalog import DTYPES
from .errors import NetStudioError
from .run import CancelToken, Objective, TrainResult, backward, forward, make_input, train
from .run.modes import RunMode, changes_state_in_train_mode, running_in
from .run.synthetic import SyntheticTask


class SessionRuns:
    def example_shape(self) -> tuple[list[int], torch.dtype] | None:
        inputs = self.document.project.root_definition.inputs
        if not inputs or not isinstance(inputs[0].params.get("shape"), list):
            return None
        return inputs[0].params["shape"], DTYPES.get(inputs[0].params.get("dtype", "float32"), torch.float32)

    def set_input(self, kind: str = "uniform", shape: list[int] | None = None, path: str | None = None,
                  seed: int | None = None) -> torch.Tensor:
        example = self.example_shape()
        dtype = example[1] if example else torch.float32
        shape = shape if shape is not None else (example[0] if example else None)
        generator = torch.Generator().manual_seed(seed if seed is not None else (self.document.project.seed or 0))
        self.input = make_input(shape if kind != "file" else None, kind, dtype, self.device, generator, path)
        return self.input

    def _require(self, with_input: bool = False) -> nn.Module:
        """The built network (and a sample input if asked), or a one-sentence error why there is none."""
        module = self.ensure_built()
        if module is None:
            raise NetStudioError(self.error or "The network cannot be built.")
        if with_input and self.input is None:
            self.set_input()
        return module

    def run_forward(self, mode: RunMode = "eval") -> torch.Tensor:
        """One forward pass without gradients; eval mode (the default) changes nothing in the network,
        train mode updates BatchNorm's running statistics, which then count as changed weights."""
        with self.lock:
            module = self._require(with_input=True)
            was_lazy = not self.materialized
            with torch.no_grad(), running_in(module, mode):
                self.output = forward(self._runner(module), self.input)
            self.last_mode = mode
            changed = was_lazy or self._note_train_mode_changes(module, mode)
        if changed:
            self.events.weights_changed.emit(None)
        self.events.ran.emit("forward")
        return self.output

    def run_backward(self, objective: Objective, mode: RunMode = "eval") -> dict[str, torch.Tensor]:
        """Forward, the objective and backward: the gradient of every parameter, in ``mode``."""
        with self.lock:
            module = self._require(with_input=True)
            module.zero_grad(set_to_none=True)
            with running_in(module, mode):
                out = forward(self._runner(module), self.input)
            self.output = out.detach()
            self.gradients = backward(module, objective(out))
            self.last_mode = mode
            changed = self._note_train_mode_changes(module, mode)
        if changed:
            self.events.weights_changed.emit(None)
        self.events.ran.emit("backward")
        return self.gradients

    def _note_train_mode_changes(self, module: nn.Module, mode: RunMode) -> bool:
        """A run in train mode moved running statistics: they are unsaved work now."""
        if mode == "train" and changes_state_in_train_mode(module):
            self.weights_modified = True
            return True
        return False

    def run_training(self, task: SyntheticTask, optimizer: str = "sgd", lr: float = 0.01, steps: int = 20,
                     batch_size: int = 32, progress: Callable[[int, float], None] | None = None,
                     cancel: CancelToken | None = None) -> TrainResult:
        with self.lock:
            module = self._require(with_input=True)
            if not self.materialized:
                with torch.no_grad():
                    forward(module, self.input)
            self.weights_modified = True

            def step_done(step: int, loss: float) -> None:
                self._serve_snapshots()
                if progress is not None:
                    progress(step, loss)
            try:
                result = train(self._runner(module), task, optimizer, lr, steps, batch_size,
                               seed=self.document.project.seed or 0, progress=step_done, cancel=cancel)
            finally:
                self._serve_snapshots()
            self.losses.extend(result.losses)
            self.last_mode = "train"
        self.events.weights_changed.emit(None)
        self.events.ran.emit("train")
        return result
