"""The run panel: give the network an input, run it forward and backward, and
train it for a few steps on a small synthetic task with a live loss curve.

Every run happens on a worker thread (``Runner``), with a progress bar and a
Cancel button, so the window keeps responding.  A failure shows as one
sentence right under the button that was pressed, never as a traceback.
The mode of the last run is said in words next to its result.  Opening
another project (``controller.project_opened``) clears what the panel showed.

The controls are three groups (``input_box``, ``run_box``, ``train_box``) in
one column and the results (``results``) in another: side by side in a wide
(bottom) dock, one above the other in a narrow one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QBoxLayout, QDockWidget, QFileDialog, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from netstudio.errors import NetStudioError, RunError
from netstudio.run import TrainResult

from ..form_pieces import say, scroll_page, tighten
from ..panel import Panel, install_panel
from ..run_worker import Runner, training_job
from ..tensor_ref import TensorRef
from .input_box import InputBox
from .results import RunResults
from .run_box import RunBox, make_objective
from .train_box import TrainBox

TENSOR_FILTER = "Tensor files (*.pt *.pth *.safetensors *.bin);;All files (*)"
REDRAW_MS = 50
WIDE_LAYOUT = 560  # pixels: from this width on, controls and results sit side by side
LIVE_INTERVAL = 0.1  # seconds between weights_changed events during training


def choose_tensor_file(parent: QWidget, title: str) -> str | None:
    """Ask for a tensor file (tests replace this, or type the path)."""
    path, _ = QFileDialog.getOpenFileName(parent, title, "", TENSOR_FILTER)
    return path or None


class RunPanel(Panel):
    """Input, Forward, Backward, Train N steps, a live loss curve, progress and Cancel."""

    OBJECT_NAME = "runPanel"

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(controller, parent)
        self.last_result: object = None
        self.last_error: str | None = None
        self.steps_requested = 0
        self._pressed = "forward"   # the run button pressed last: its failure is said right under it
        self.runner = Runner(self, controller)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self._build()
        self._redraw = QTimer(self, interval=REDRAW_MS)   # the loss curve, redrawn at most this often
        self._redraw.timeout.connect(self.results.draw_losses)
        self.follow([self.session.events.rebuilt], self.inputs.follow_example_shape)
        # Not document.events.reset: undoing a composite edit resets the document too, and must keep the curve.
        controller.project_opened.connect(self._on_project_opened)
        self._on_project_opened()

    def _build(self) -> None:
        _, page_layout = scroll_page(self)
        self.columns = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.columns.setSpacing(10)
        page_layout.addLayout(self.columns, 1)
        controls, results = QVBoxLayout(), QVBoxLayout()
        self.columns.addLayout(controls, 0)
        self.columns.addLayout(results, 1)
        self.inputs, self.runs, self.training = InputBox(self.session, self._browse), RunBox(self._browse), TrainBox()
        for group in (self.inputs, self.runs, self.training):
            controls.addWidget(group)
        self.results = RunResults(results, self.font().pointSizeF())
        controls.addStretch(1)
        self.runs.forward_button.clicked.connect(self.run_forward)
        self.runs.backward_button.clicked.connect(self.run_backward)
        self.training.train_button.clicked.connect(self.train)
        self.results.cancel_button.clicked.connect(self.cancel)
        self.results.show_output_button.clicked.connect(self.select_output)
        self.expose(self.inputs, "shape_edit", "kind_combo", "input_file_row", "input_path")
        self.expose(self.runs, "forward_button", "backward_button", "run_error", "mode_combo", "objective_combo",
                    "target_file_row", "target_path")
        self.expose(self.training, "task_combo", "optimizer_combo", "lr_spin", "steps_spin", "batch_spin",
                    "train_button", "train_error")
        self.expose(self.results, "progress", "cancel_button", "status", "loss_plot", "loss_curve", "loss_raw", "losses",
                    "log_scale", "smooth", "output_label", "show_output_button", "mode_label", "output_text")
        tighten(self)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        wide = self.width() >= WIDE_LAYOUT
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.columns.direction() != direction:
            self.columns.setDirection(direction)
            self.columns.setStretch(0, 2 if wide else 0)
            self.columns.setStretch(1, 3 if wide else 1)

    def _browse(self, edit: QLineEdit, title: str) -> None:
        path = choose_tensor_file(self, title)
        if path:
            edit.setText(path)

    def _on_project_opened(self) -> None:
        """Another project: its input shape, and nothing left of the old one's runs."""
        self.inputs.show_example_shape()
        self.results.clear()
        self.last_result = self.last_error = None
        self._ok("")

    # -- runs --------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.runner.busy

    @property
    def mode(self) -> str:
        """The mode Forward and Backward run in: "eval" (the default) or "train"."""
        return self.runs.mode

    def input_spec(self) -> tuple[str, list[int] | None, str | None]:
        """(kind, shape, path) from the form; raises RunError for a bad shape or a missing file."""
        return self.inputs.input_spec()

    def _start(self, name: str, job, doing: str, steps: int = 0) -> bool:
        session = self.session
        self._pressed = name
        try:
            kind, shape, path = self.input_spec()
        except NetStudioError as err:
            return self._fail(str(err))

        def run(progress, token):
            with session.lock:
                session.set_input(kind, shape if kind != "file" else None, path)
                if kind == "file" and shape is not None and list(session.input.shape) != shape:
                    raise RunError(f"The tensor in the file has shape {tuple(session.input.shape)}, "
                                   f"not {tuple(shape)}.")
                return job(progress, token)

        if not self.runner.start(name, run, doing=doing):
            return self._fail("A run is already in progress; cancel it or wait for it to finish.")
        self._set_running(True)
        self.steps_requested = steps
        self.progress.setTextVisible(bool(steps))
        if steps:
            self.progress.setRange(0, steps)
            self.progress.setValue(0)
        else:
            self.progress.setRange(0, 0)  # busy
        self._ok(f"{doing}…")
        return True

    def _set_running(self, running: bool) -> None:
        for button in (self.forward_button, self.backward_button, self.train_button):
            button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def run_forward(self) -> bool:
        session, mode = self.session, self.mode
        return self._start("forward", lambda progress, token: session.run_forward(mode=mode).detach(),
                           "Running forward")

    def run_backward(self) -> bool:
        session = self.session
        kind = self.objective_combo.currentData()
        path = self.target_path.text().strip() or None
        mode = self.mode
        if kind == "mse_file" and path is None:
            self._pressed = "backward"
            return self._fail("Choose a file holding the target tensor for the MSE objective.")

        def job(progress, token):
            shape = session.run_forward().shape if kind == "mse_zeros" else None
            objective = make_objective(kind, shape, path)
            return objective.kind, session.run_backward(objective, mode=mode)

        return self._start("backward", job, "Running backward")

    def train(self) -> bool:
        session, training = self.session, self.training
        task_kind, optimizer = training.task_combo.currentData(), training.optimizer_combo.currentData()
        lr, steps = float(training.lr_spin.value()), int(training.steps_spin.value())
        batch = int(training.batch_spin.value())
        seed = self.controller.document.project.seed or 0
        self.losses.clear()
        self.results.draw_losses()
        job = training_job(session, task_kind, optimizer, lr, steps, batch, seed, LIVE_INTERVAL)
        return self._start("train", job, f"Training for {steps} steps", steps=steps)

    def cancel(self) -> None:
        if self.runner.busy:
            self.runner.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling…")

    def wait(self, ms: int = 30000) -> bool:
        """Block until the current run ends (for tests and scripts)."""
        return self.runner.wait(ms)

    # -- results ----------------------------------------------------------------------------------------
    def _on_progress(self, batch: list[tuple[int, float]]) -> None:
        self.losses.extend(loss for _, loss in batch)
        if self.steps_requested and batch:
            self.progress.setValue(batch[-1][0])
        if not self._redraw.isActive():
            self._redraw.start()

    def _on_finished(self, name: str, result, error: str | None) -> None:
        self._redraw.stop()
        self.results.draw_losses()
        self._set_running(False)
        self.progress.setRange(0, max(self.steps_requested, 1))
        self.last_result = result
        if error:
            self.progress.setValue(0)
            self._fail(error)
            return
        self.progress.setValue(max(self.steps_requested, 1))
        self.results.show_mode(self.session.last_mode)
        if name == "forward":
            self.results.show_output(result)
            self._ok("Forward pass done.")
        elif name == "backward":
            kind, gradients = result
            self.results.show_gradients(self.runs.objective_label(kind), gradients, self.session.output)
            self._ok(f"Backward pass done: {len(gradients)} parameters have gradients (see their .grad).")
        elif name == "train":
            self._show_training(result)

    def _show_training(self, result: TrainResult) -> None:
        if result.error:
            self._fail(result.error)
            return
        if not result.losses:
            self._ok("Cancelled before the first step." if result.cancelled else "No step was run.")
            return
        first, last = result.losses[0], result.losses[-1]
        if result.cancelled:
            self._ok(f"Cancelled after {result.steps_done} of {self.steps_requested} steps: "
                     f"loss {first:.4g} → {last:.4g}.")
        else:
            self._ok(f"Trained {result.steps_done} steps: loss {first:.4g} → {last:.4g}.")
        self.progress.setValue(result.steps_done)

    def select_output(self) -> None:
        session = self.session
        self.controller.tensor_selected.emit(TensorRef("output", "run", lambda: session.output))

    def _ok(self, message: str) -> None:
        self.last_error = None
        say(self.status, message, error=False)
        for label in (self.run_error, self.train_error):
            label.clear()
            label.hide()

    def _fail(self, message: str) -> bool:
        """Say what went wrong in the status, and right under the button that was pressed, scrolled into view."""
        self._ok("")
        say(self.status, message)
        self.last_error = message
        label = self.train_error if self._pressed == "train" else self.run_error
        label.setText(message)
        label.show()
        scroll = self.findChild(QScrollArea)
        if scroll is not None:
            self.layout().activate()
            scroll.widget().layout().activate()
            scroll.ensureWidgetVisible(label, 0, 8)
        return False


def install(window) -> QDockWidget:
    """Dock the run panel at the bottom of ``window`` (tabbed with the docks there)."""
    return install_panel(window, RunPanel, Qt.DockWidgetArea.BottomDockWidgetArea, "Run", "runPanelDock")
