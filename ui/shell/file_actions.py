"""The File menu of a window: which project it shows, and where that project lives.

Opening never makes a new controller: the window's ``DocumentController``
stays, its document swaps in the new project (``Document.replace``, which
views follow through ``reset``) and its undo stack starts empty.  So every
panel bound to the controller follows without being rebuilt.
"""

from __future__ import annotations

import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from netstudio.gc_pause import gc_paused
from netstudio.app_data import trust_store_path
from netstudio.errors import NetStudioError
from netstudio.graph import Project, new_project
from netstudio.importer import import_source
from netstudio.serialization import SUFFIX, save_project
from netstudio.serialization.project_file import load_project_file
from netstudio.trust import TrustStore

from ..canvas.editing import lay_out_before_showing
from ..document.controller import DocumentController
from ..document.relay import listen
from ..widgets.error_dialog import file_error_details, show_error
from . import import_dialog, prompts
from .autosave import Autosaver, Recovery
from .examples import bundled_examples, is_bundled
from .recent_files import RecentFiles
from .trust import needs_trust
from .waiting import wait_for


class FileActions(QObject):
    """New, Open, Open Recent, Open Example, Save, Save As, Revert, Trust, for one window."""

    shown = Signal()  # another project, or the same one under another name: titles follow

    def __init__(self, window: QMainWindow, controller: DocumentController):
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.example: Path | None = None  # the bundled example on show, until saved elsewhere
        self.recent = RecentFiles(self)
        self.trust_store = TrustStore(trust_store_path())
        self.autosaver = Autosaver(controller, self.display_name, self, on_trusted_code=self.trust_store.remember)
        self.actions: dict[str, QAction] = {}
        for name, text, icon, keys, slot in (
                ("new", "&New", "mdi6.file-outline", QKeySequence.StandardKey.New, self.new),
                ("open", "&Open…", "mdi6.folder-open-outline", QKeySequence.StandardKey.Open, self.open),
                ("save", "&Save", "mdi6.content-save-outline", QKeySequence.StandardKey.Save, self.save),
                ("save_as", "Save &As…", "mdi6.content-save-edit-outline", QKeySequence.StandardKey.SaveAs,
                 self.save_as),
                ("revert", "&Revert", "mdi6.restore", None, self.revert),
                ("import_model", "&Import PyTorch Model…", "mdi6.import", None, self.import_model),
                ("trust", "&Trust this project", "mdi6.shield-check-outline", None, self.trust),
                ("quit", "&Quit", "mdi6.exit-to-app", QKeySequence.StandardKey.Quit, window.close)):
            action = QAction(qta.icon(icon), text, self)
            if keys is not None:
                action.setShortcut(keys)
            action.triggered.connect(lambda _=False, slot=slot: slot())
            self.actions[name] = action
        self.actions["trust"].setStatusTip("Run this project's code blocks")
        self.recent_menu = QMenu("Open &Recent", window)
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.examples_menu = QMenu("Open &Example", window)
        self.examples_menu.setObjectName("examplesMenu")
        self.examples_menu.setToolTipsVisible(True)
        for example in bundled_examples():
            action = self.examples_menu.addAction(example.path.name)
            action.setToolTip(example.description)
            action.setStatusTip(example.description)
            action.triggered.connect(lambda _=False, p=example.path: self.open_path(p))
        self._fill_recent()
        self.recent.changed.connect(self._fill_recent)
        controller.modified_changed.connect(self._update_actions)
        events = controller.document.events
        for signal in (events.settings_changed, events.code_changed, events.reset):
            listen(self, signal, self._update_actions)
        self._update_actions()

    # -- what is on show -------------------------------------------------------------------
    def display_name(self) -> str:
        if self.controller.path is not None:
            return self.controller.path.name
        if self.example is not None:
            return f"{self.example.name} (example)"
        return "Untitled"

    def source(self) -> Path | None:
        """The file that Revert reloads: the project's file, or the example it came from."""
        return self.controller.path or self.example

    # -- opening ---------------------------------------------------------------------------
    def new(self) -> None:
        if self.maybe_save():
            self._show(new_project(), None, None)

    def open(self) -> None:
        current = self.controller.path or next(iter(self.recent.paths()), None)
        path = prompts.choose_open_path(self.window, str(current.parent) if current else str(Path.home()))
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Open ``path`` in this window, after offering to save the current changes."""
        return self.maybe_save() and self.load(path)

    def load(self, path: str | Path) -> bool:
        """Show the project at ``path``; on failure show why and keep the current one, all of it.

        Bundled examples are trusted; other projects with code are trusted if the user
        trusted exactly this code before (:mod:`netstudio.trust`), else the user is asked.
        """
        path = Path(path)
        bundled = is_bundled(path)
        try:
            with gc_paused():   # tens of thousands of objects for a big project, none of them garbage
                loaded = load_project_file(path, trusted=bundled)
        except NetStudioError as err:
            show_error(self.window, str(err), file_error_details(err), "Cannot open project")
            return False
        except Exception as err:  # noqa: BLE001 - a file the validator let through: one sentence, details on demand
            show_error(self.window, f"{path.name} cannot be opened: {type(err).__name__}: {err}.",
                       traceback.format_exc(), "Cannot open project")
            return False
        project = loaded.project
        if project.code and not bundled:
            project.trusted = self.trust_store.trusts(project) or \
                prompts.ask_trust(self.window, sorted(project.code))
            if project.trusted:
                self.trust_store.remember(project)
        shown = self._show(project, None if bundled else path.resolve(), path if bundled else None,
                           weights=loaded.weights, unplaced=loaded.unplaced)
        if shown and not bundled:
            self.recent.add(path)
        return shown

    def import_model(self) -> bool:
        """File → Import PyTorch Model…: an existing model, shown as a new unsaved project with its weights.

        Importing runs the user's file (their act), so the code blocks it makes are trusted and remembered.
        """
        if not self.maybe_save():
            return False
        choice = import_dialog.ask_import(self.window, str(self.controller.path.parent) if self.controller.path else "")
        if choice is None:
            return False
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(import_source, choice.source, choice.shapes, choice.dtype)
            try:
                result = wait_for(future, self.window, f"Importing {choice.source}…")
            except NetStudioError as err:
                show_error(self.window, str(err), "", "Cannot import the model")
                return False
            except Exception as err:  # noqa: BLE001 - the user's model code: one sentence, details on demand
                show_error(self.window, f"Importing {choice.source} failed: {type(err).__name__}: {err}.",
                           traceback.format_exc(), "Cannot import the model")
                return False
        if not self._show(result.project, None, None, modified=True, weights=result.weights):
            return False
        self.trust_store.remember(result.project)
        if result.fallbacks or result.problems:
            count = len(result.fallbacks)
            parts = [f"{count} part became a code block." if count == 1 else f"{count} parts became code blocks."] \
                if count else []
            lines = [f"Code block: {f.line()}" for f in result.fallbacks] + result.problems
            prompts.inform(self.window, "Imported with notes", " ".join(parts + result.problems[:1]), "\n".join(lines))
        return True

    def recover(self, recovery: Recovery) -> bool:
        """Show an autosaved project left by a crash, as modified; the recovery file goes."""
        try:
            project = recovery.project()
        except NetStudioError as err:
            recovery.discard()
            show_error(self.window, str(err), file_error_details(err), "Cannot recover project")
            return False
        # The record says whether the project was trusted; its code must also be code the user trusted
        # (autosave remembers what they wrote), so a recovery file cannot make foreign code run.
        project.trusted = recovery.trusted and self.trust_store.trusts(project)
        if not self._show(project, recovery.original, None, modified=True, weights=recovery.weights(),
                          unplaced=recovery.unplaced()):
            return False
        recovery.discard()
        self.autosaver.save_now()
        return True

    def _show(self, project: Project, path: Path | None, example: Path | None, modified: bool = False,
              weights: dict | None = None, unplaced: dict | None = None) -> bool:
        """Show ``project`` in this window: all of it, or (if a view fails on it) nothing at all,
        so the window never shows one project under another's path."""
        controller, document = self.controller, self.controller.document
        previous, session_state = document.project, controller.session.state()
        try:
            with gc_paused():   # every view builds its items for the project: a big one makes no garbage
                lay_out_before_showing(project.root_definition)
                controller.session.start_over(weights, unplaced)
                document.replace(project)
        except Exception as err:  # noqa: BLE001 - a view failed on the new project: put the old one back
            details = traceback.format_exc()
            try:
                controller.session.restore_state(session_state)
                document.replace(previous)
            except Exception:  # noqa: BLE001
                logging.getLogger(__name__).exception("could not show the previous project again")
            show_error(self.window, f"{self.display_name_of(path or example)} cannot be shown: "
                                    f"{type(err).__name__}: {err}.", details, "Cannot open project")
            return False
        controller.undo_stack.clear()
        controller.forget_unsaved_weights()
        self.example = example
        controller.set_path(path)
        controller.select(project.root, [])
        if modified:
            controller.undo_stack.resetClean()
        controller.project_opened.emit()
        self.shown.emit()
        return True

    @staticmethod
    def display_name_of(path: Path | None) -> str:
        return path.name if path is not None else "The project"

    # -- saving ------------------------------------------------------------------------------
    def save(self) -> bool:
        if self.controller.path is None:
            return self.save_as()
        return self.write(self.controller.path)

    def save_as(self) -> bool:
        current = self.source()
        folder = self.controller.path.parent if self.controller.path else Path.home()
        name = current.name if current else f"{self.controller.document.project.name or 'untitled'}{SUFFIX}"
        chosen = prompts.choose_save_path(self.window, str(folder / name))
        if not chosen:
            return False
        path = Path(chosen)
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        document = self.controller.document
        if document.project.name != path.stem:   # the project is called what its file is called
            document.set_setting("name", path.stem)
        return self.write(path)

    def write(self, path: Path) -> bool:
        """Save atomically to ``path`` (the old version stays as a backup).

        The weights are copied between two training steps (a save during training waits for
        the running step, with the window responsive), so the file never holds a torn mix.
        """
        controller = self.controller
        try:
            snapshot = wait_for(controller.session.request_snapshot(), self.window,
                                "Saving: waiting for the current training step to finish…")
            save_project(controller.document.project, path, weights=snapshot.weights, unplaced=snapshot.unplaced)
        except NetStudioError as err:
            show_error(self.window, str(err), title="Cannot save project")
            return False
        if controller.document.project.trusted:
            self.trust_store.remember(controller.document.project)   # the code the user wrote or trusted
        self.controller.mark_saved()
        self.example = None
        self.controller.set_path(path.resolve())
        self.recent.add(path)
        self.shown.emit()
        return True

    def maybe_save(self) -> bool:
        """True when the current project may be replaced or closed: no run holds the network any more
        (the user agreed to stop it), and its changes are saved or discarded."""
        if self.controller.busy:
            if not prompts.ask_stop_run(self.window, "close this project"):
                return False
            try:
                wait_for(self.controller.stop_runs(), self.window, "Stopping the run after its current step…",
                         timeout_ms=60_000)
            except TimeoutError:
                show_error(self.window, "The run did not stop within a minute; try again once it has ended.",
                           title="The run is still going")
                return False
        if not self.controller.modified:
            return True
        answer = prompts.ask_save_changes(self.window, self.display_name())
        if answer == prompts.SAVE:
            return self.save()
        return answer == prompts.DISCARD

    def revert(self) -> None:
        """Read the file again; its code is trusted only if it is exactly the code trusted before."""
        source = self.source()
        if source is None or not prompts.confirm_revert(self.window, self.display_name()):
            return
        self.load(source)

    def trust(self) -> None:
        self.controller.document.set_setting("trusted", True)
        self.trust_store.remember(self.controller.document.project)

    # -- menus and enabled states ----------------------------------------------------------------
    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        paths = self.recent.paths()
        for i, path in enumerate(paths, 1):
            action = self.recent_menu.addAction(f"&{i % 10} {path.name}")
            action.setToolTip(str(path))
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if not paths:
            self.recent_menu.addAction("No recent projects").setEnabled(False)
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear Recent Projects", self.recent.clear)
        clear.setEnabled(bool(paths))

    def _update_actions(self, *_) -> None:
        self.actions["revert"].setEnabled(self.controller.modified and self.source() is not None)
        self.actions["trust"].setEnabled(needs_trust(self.controller.document.project))
