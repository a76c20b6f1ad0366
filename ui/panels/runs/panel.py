"""The Runs view: a run directory's curves and checkpoints, followed live while it is written.

A run is opened from its folder (the folder button, or File → Open Run…) or
started with Train…, which runs ``netstudio train`` on the saved project in a
child process.  While a run is open, ``POLL_MS`` timer ticks read what is new:
the lines appended to ``metrics.jsonl`` (``MetricsTail``) and the checkpoint
files that appeared (a directory listing).  The run folder and its
``checkpoints`` folder are also watched (``QFileSystemWatcher``), so a
checkpoint renamed into place is looked at within milliseconds, not at the
next tick; the ticks remain for file systems that report no changes.
Tensors are read only when shown,
one at a time, off the GUI thread (``Jobs``).  Whatever is wrong with a folder
or a file is one sentence in the panel.
"""

from __future__ import annotations

from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QTabWidget, QToolButton, QWidget

from netstudio.errors import NetStudioError
from netstudio.training.run_dir import CHECKPOINTS, METRICS

from ...document.controller import DocumentController
from ..panel import Panel, file_menu_action, header_over, install_panel
from . import train_dialog
from .checkpoint_page import CheckpointPage
from .curves import Curves
from .diff_page import DiffPage
from .jobs import Jobs, one_sentence
from .metrics_tail import MetricsTail
from .run_files import check_run_dir, is_run_dir, saved_checkpoints
from .train_process import TrainProcess

POLL_MS = 500


def choose_run_dir(parent: QWidget | None) -> str | None:
    return QFileDialog.getExistingDirectory(parent, "Open Run") or None


class RunsPanel(Panel):
    """``curves``, ``checkpoints`` (slider, tensor, heatmap) and ``diff`` pages of the open run.
    ``polled`` fires after each look at the run directory."""

    OBJECT_NAME = "runsPanel"
    polled = Signal()

    def __init__(self, controller: DocumentController, parent: QWidget | None = None):
        super().__init__(controller, parent)
        self.run_path: Path | None = None
        self.tail: MetricsTail | None = None
        self.jobs = Jobs(self)
        self.trainer = TrainProcess(self)
        self.trainer.ended.connect(self._train_ended)
        self.open_action = self._action("mdi6.folder-open-outline", "Open Run…", "Open a run directory "
                                        "(written by netstudio train) and follow it", self.choose_run)
        self.train_action = self._action("mdi6.play", "Train…", "Train the saved project with netstudio train "
                                         "in its own process, and follow the run here", self.train)
        self.cancel_action = self._action("mdi6.stop", "Cancel", "Stop the training run; its checkpoints are "
                                          "kept", self.trainer.cancel)
        self.cancel_action.setEnabled(False)
        buttons = []
        for action, name in ((self.open_action, "runsOpen"), (self.train_action, "runsTrain"),
                             (self.cancel_action, "runsCancel")):
            button = QToolButton(self)
            button.setObjectName(name)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            buttons.append(button)
        self.run_label = QLabel("<span style='color:#777'>No run open</span>", self)
        self.run_label.setObjectName("runsRunLabel")
        self.status = QLabel(self)
        self.status.setObjectName("runsStatus")
        self.status.setStyleSheet("color: #666;")
        self.curves = Curves(self)
        self.checkpoints = CheckpointPage(self.jobs, self)
        self.diff = DiffPage(self.jobs, self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("runsTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.curves, qta.icon("mdi6.chart-line"), "Curves")
        self.tabs.addTab(self.checkpoints, qta.icon("mdi6.grid"), "Checkpoints")
        self.tabs.addTab(self.diff, qta.icon("mdi6.compare-horizontal"), "Diff")
        header_over(self, [buttons[0], self.run_label, self.status, *buttons[1:]], self.tabs, grow=self.run_label)
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._changed)
        self._poll_soon = False

    def _action(self, icon: str, text: str, tip: str, slot) -> QAction:
        action = QAction(qta.icon(icon), text, self)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    # -- opening -------------------------------------------------------------------------------
    def choose_run(self) -> bool:
        path = choose_run_dir(self)
        return self.open_run(path) if path else False

    def open_run(self, path: str | Path, waiting: bool = False) -> bool:
        """Show and follow the run in ``path``; ``waiting``: a run about to start there (Train…).
        False, with one sentence in the panel, when ``path`` holds no readable run."""
        path = Path(path)
        if not waiting:
            try:
                check_run_dir(path)
                if not is_run_dir(path):
                    raise NetStudioError(f"'{path.name}' is not a run directory: it holds no run.json, "
                                         f"{METRICS} or checkpoints.")
            except Exception as err:   # a hostile run.json too: one sentence
                self.say(one_sentence(err))
                return False
        self.run_path, self.tail = path, MetricsTail(path / METRICS)
        if self._watcher.directories():
            self._watcher.removePaths(self._watcher.directories())
        self.run_label.setText(f"<b>{path.name}</b>")
        self.run_label.setToolTip(str(path))
        self.say("")
        self.curves.draw(None)
        self.poll()
        self._timer.start()
        return True

    def say(self, sentence: str) -> None:
        self.status.setText(sentence)
        self.status.setToolTip(sentence)

    # -- following -----------------------------------------------------------------------------
    def _changed(self, _folder: str) -> None:
        """A watched folder changed: look once the event loop is free (one look for a burst of changes)."""
        if not self._poll_soon:
            self._poll_soon = True
            QTimer.singleShot(0, self, self._poll_now)

    def _poll_now(self) -> None:
        self._poll_soon = False
        self.poll()

    def _watch(self) -> None:
        """Watch the run folder and its checkpoints folder, once each exists."""
        watched = self._watcher.directories()
        for folder in (self.run_path, self.run_path / CHECKPOINTS):
            if str(folder) not in watched and folder.is_dir():
                self._watcher.addPath(str(folder))

    def poll(self) -> None:
        """Read what the run wrote since the last look."""
        if self.run_path is None:
            return
        self._watch()
        try:
            if self.tail.poll():
                self.curves.draw(self.tail)
            saved = saved_checkpoints(self.run_path)
        except OSError as err:
            self.say(f"'{self.run_path.name}' cannot be read: {err.strerror or err}.")
            return
        self.checkpoints.set_saved(saved)
        self.diff.set_saved(saved)
        if self.tail.behind:   # a long file comes in pieces, the window answering between them
            QTimer.singleShot(0, self, self.poll)
        self.polled.emit()

    # -- training ------------------------------------------------------------------------------
    def train(self) -> bool:
        """Ask what to train on, then start ``netstudio train`` on the saved project and follow it."""
        project = self.controller.path
        if project is None or self.controller.modified:
            self.say("Save the project first: training reads it from its file.")
            return False
        request = train_dialog.ask_train_request(self, project)
        if request is None:
            return False
        self.trainer.start(request)
        self.train_action.setEnabled(False)
        self.cancel_action.setEnabled(True)
        self.open_run(request.run_dir, waiting=True)
        self.say("Training…")
        return True

    def _train_ended(self, sentence: str) -> None:
        self.train_action.setEnabled(True)
        self.cancel_action.setEnabled(False)
        self.poll()
        self.say(sentence)


def install(window) -> QDockWidget:
    """Dock the Runs view in ``window`` (in the Train perspective) and put "Open Run…" in the File menu,
    which shows it in that perspective."""
    dock = install_panel(window, RunsPanel, Qt.DockWidgetArea.BottomDockWidgetArea, "Runs", "runsDock")
    panel = dock.widget()

    dock.open_run_action = file_menu_action(
        window, dock, "mdi6.folder-open-outline", "Open &Run…", "openRunAction",
        "Open a training run's folder: its curves, checkpoints and how they differ", panel.choose_run, "train")
    return dock
