"""Undo commands that change weights: initializers, direct edits, imported weights.

Each command does its work once, in ``execute()``, before it is pushed, so a
refusal (a scheme that cannot fill a bias, a corrupt file, a busy network)
raises ``NetStudioError`` with nothing changed and nothing on the undo stack::

    command = ApplyInitializers(controller, [assignment])
    error = push_weight_command(controller, command)   # None, or one sentence

Undo puts back the tensors it changed (``session.restore_tensors``) and the
project's ``initializers``/``edits`` list as it was (``document.set_setting``);
redo puts back the values it produced, so undo/redo never re-draws random
numbers.  Only tensors that actually changed are kept, to bound the memory an
undo step holds.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from PySide6.QtGui import QUndoCommand
from torch.nn.parameter import UninitializedParameter

from netstudio.errors import NetStudioError
from netstudio.files.weights_import import ImportReport
from netstudio.init import DeferredInit, InitAssignment, resolve
from netstudio.params.direct_edits import DirectEdit
from netstudio.session import NetworkSession

BUSY_MESSAGE = "The network is busy with a run; try again when it has finished."


@contextlib.contextmanager
def session_free(session: NetworkSession) -> Iterator[None]:
    """Hold the session's lock, or refuse at once (never freeze the window) while a run holds it."""
    if not session.lock.acquire(timeout=0.05):
        raise NetStudioError(BUSY_MESSAGE)
    try:
        yield
    finally:
        session.lock.release()


def _changed(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> list[str]:
    return [name for name, value in after.items()
            if name not in before or before[name].shape != value.shape or not torch.equal(before[name], value)]


class WeightCommand(QUndoCommand):
    """Base: subclasses implement ``_do()``; ``setting`` names the project list they extend."""

    setting: str | None = None

    def __init__(self, controller, text: str):
        super().__init__(text)
        self.controller = controller
        self.session: NetworkSession = controller.session
        self.document = controller.document
        self.before: dict[str, torch.Tensor] = {}
        self.after: dict[str, torch.Tensor] = {}
        self.before_setting: Any = None
        self.after_setting: Any = None
        self._executed = False
        self._skip_redo = False

    def execute(self) -> None:
        """Do the change now; raises NetStudioError (leaving everything as it was) on refusal."""
        with session_free(self.session):
            if self.setting:
                self.before_setting = copy.deepcopy(getattr(self.document.project, self.setting))
            before = self.session.snapshot_tensors()
            try:
                self._do()
            except BaseException:
                self.session.restore_tensors(before)
                if self.setting:
                    self.document.set_setting(self.setting, self.before_setting)
                raise
            after = self.session.snapshot_tensors()
            names = _changed(before, after)
            self.before = {n: before[n] for n in names if n in before}
            self.after = {n: after[n] for n in names}
            if self.setting:
                self.after_setting = copy.deepcopy(getattr(self.document.project, self.setting))
        self._executed = self._skip_redo = True

    def _do(self) -> None:
        raise NotImplementedError

    def redo(self) -> None:
        if not self._executed:
            self.execute()
            self._skip_redo = False
            return
        if self._skip_redo:  # the push right after execute(): the change is already made
            self._skip_redo = False
            return
        # Undo and redo must not fail (the stack has already moved), so they wait for a run to finish.
        with self.session.lock:
            if self.after:
                self.session.restore_tensors(self.after)
            if self.setting:
                self.document.set_setting(self.setting, self.after_setting)
            self._redo_extra()

    def undo(self) -> None:
        with self.session.lock:
            self._undo_extra()
            if self.before:
                self.session.restore_tensors(self.before)
            if self.setting:
                self.document.set_setting(self.setting, self.before_setting)

    def _redo_extra(self) -> None:
        pass

    def _undo_extra(self) -> None:
        pass


class ApplyInitializers(WeightCommand):
    """One or more initializer assignments as one undo step (the presets are several).

    Parameters not created yet (lazy modules) get theirs at the first forward
    pass, as the seed's deferred initialization does; ``deferred`` names them.
    """

    setting = "initializers"

    def __init__(self, controller, assignments: Sequence[InitAssignment], text: str | None = None):
        assignments = [a.checked() for a in assignments]
        super().__init__(controller, text or f"Initialize with {assignments[0].scheme}")
        self.assignments = assignments
        self.deferred: tuple[str, ...] = ()
        self.initialized: tuple[str, ...] = ()
        self._indices: list[int] = []              # each assignment's place in the replayed list
        self._pending: list[DeferredInit] = []     # lazy parameters still waiting for a shape

    def _do(self) -> None:
        module = self.session.ensure_built()
        if module is None:
            raise NetStudioError(self.session.error or "The network cannot be built.")
        targets = [resolve(module, a.scope) for a in self.assignments]  # raises for unknown names
        if not any(targets):
            raise NetStudioError("No parameter matches this scope, so nothing was initialized.")
        deferred, initialized = {}, {}
        for found in targets:
            for p in found:
                (deferred if isinstance(p.tensor, UninitializedParameter) else initialized)[p.name] = None
        self.deferred, self.initialized = tuple(deferred), tuple(initialized)
        try:
            for assignment in self.assignments:
                applied = self.session.apply_initializer(assignment)
                self._indices.append(applied.index)
                self._keep(applied.deferred)
        except BaseException:
            self._undo_extra()
            raise

    def _keep(self, pending: DeferredInit) -> None:
        if pending.pending:
            self._pending.append(pending)
        else:
            pending.remove()

    def _redo_extra(self) -> None:
        if self.deferred:
            for assignment, index in zip(self.assignments, self._indices):
                self._keep(self.session.defer_initializer(assignment, index))

    def _undo_extra(self) -> None:
        for pending in self._pending:
            pending.remove()
        self._pending.clear()


class ApplyEdit(WeightCommand):
    """A direct edit of parameter values (``net[2].weight.data[0, 0] = 100``)."""

    setting = "edits"

    def __init__(self, controller, edit: DirectEdit, text: str | None = None):
        index = "" if edit.index is None else "[" + ", ".join(map(str, edit.index)) + "]"
        super().__init__(controller, text or f"Set {edit.name}{index} = {edit.value:g}")
        self.edit = edit

    def _do(self) -> None:
        self.session.apply_edit(self.edit)


class ImportWeights(WeightCommand):
    """Weights from a file (or a dict) into the network; ``report`` says what lined up."""

    def __init__(self, controller, source: Any, strict: bool = False, text: str = "Import weights"):
        super().__init__(controller, text)
        self.source, self.strict = source, strict
        self.report: ImportReport | None = None

    def _do(self) -> None:
        self.report = self.session.import_weights(self.source, strict=self.strict)


def push_weight_command(controller, command: WeightCommand) -> str | None:
    """Execute ``command`` and push it; the one-sentence reason when it is refused (nothing pushed)."""
    try:
        command.execute()
    except NetStudioError as err:
        return str(err)
    controller.push(command)
    return None
