"""The run panel: give the network an input, run it forward and backward, and
train it for a few steps on a small synthetic task with a live loss curve.

Every run happens on a worker thread (``Runner``), with a progress bar and a
Cancel button, so the window keeps responding.  A failure shows as one
sentence right under the button that was pressed, never as a traceback.

Forward and Backward run in eval mode unless the user picks train mode
(``session.run_forward(mode=...)``); Train always trains in train mode.  The
mode of the last run is said in words next to its result.  Opening another
project (``controller.project_opened``) clears what the panel showed.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import qtawesome as qta
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QBoxLayout, QDockWidget, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QSpinBox,
                               QVBoxLayout, QWidget)

from netstudio.errors import NetStudioError, RunError
from netstudio.run import Objective, TrainResult, load_one_tensor

from ..document.relay import listen
from .arg_form import (FloatSpin, describe_output, error_label, format_tensor, keyed_combo, parse_shape, path_row,
                       scroll_page)
from .run_worker import Runner, training_job
from .tensor_ref import TensorRef

OBJECT_NAME = "runPanel"
ERROR_STYLE = "color: #d93025;"
INPUT_KINDS = (("uniform", "Random uniform"), ("normal", "Random normal"), ("ones", "Ones"),
               ("file", "From a tensor file…"))
OBJECTIVES = (("sum", "sum(output)"), ("mean", "mean(output)"), ("mse_zeros", "MSE against zeros"),
              ("mse_file", "MSE against a target file…"))
TASKS = (("regression", "Regression"), ("classification", "Classification"))
OPTIMIZERS = (("sgd", "SGD"), ("adam", "Adam"))
RUN_MODES = (("eval", "eval (inspect)"), ("train", "train"))
MODE_WORDS = {
    "eval": "Ran in eval mode: Dropout off, BatchNorm uses its running statistics (nothing in the network "
            "changes, so two runs agree).",
    "train": "Ran in train mode: Dropout zeroes random values, BatchNorm normalises with this batch's "
             "statistics and updates its running ones.",
}
TENSOR_FILTER = "Tensor files (*.pt *.pth *.safetensors *.bin);;All files (*)"
REDRAW_MS = 50
WIDE_LAYOUT = 820  # pixels: from this width on, controls and results sit side by side
LIVE_INTERVAL = 0.1  # seconds between weights_changed events during training


def choose_tensor_file(parent: QWidget, title: str) -> str | None:
    """Ask for a tensor file (tests replace this, or type the path)."""
    path, _ = QFileDialog.getOpenFileName(parent, title, "", TENSOR_FILTER)
    return path or None


class RunPanel(QWidget):
    """Input, Forward, Backward, Train N steps, a live loss curve, progress and Cancel."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(OBJECT_NAME)
        self.controller = controller
        self.session = controller.session
        self.losses: list[float] = []
        self.last_result: object = None
        self.last_error: str | None = None
        self.steps_requested = 0
        self._pressed = "forward"   # the run button pressed last: its failure is said right under it
        self.runner = Runner(self, controller)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self._dirty = False
        self._redraw = QTimer(self, interval=REDRAW_MS)
        self._redraw.timeout.connect(self._draw_losses)
        self._example_text = ""
        self._build()
        listen(self, self.session.events.rebuilt, self._on_rebuilt)
        # Not document.events.reset: undoing a composite edit resets the document too, and must keep the curve.
        controller.project_opened.connect(self._on_project_opened)
        self._on_project_opened()

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        _, page_layout = scroll_page(self)
        # Controls and results side by side in a wide (bottom) dock, one above the other in a narrow one.
        self.columns = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.columns.setSpacing(10)
        page_layout.addLayout(self.columns, 1)
        layout = QVBoxLayout()
        results = QVBoxLayout()
        self.columns.addLayout(layout, 0)
        self.columns.addLayout(results, 1)

        inputs = QGroupBox("Input")
        form = QFormLayout(inputs)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.shape_edit = QLineEdit()
        self.shape_edit.setObjectName("shapeEdit")
        self.shape_edit.setPlaceholderText("e.g. 2, 20 (batch, features)")
        form.addRow("Shape", self.shape_edit)
        self.kind_combo = keyed_combo("inputKind", INPUT_KINDS)
        form.addRow("Values", self.kind_combo)
        self.input_file_row, self.input_path = path_row("inputPath", "a file holding one tensor",
                                                        lambda: self._browse(self.input_path, "Input tensor"))
        form.addRow(self.input_file_row)
        layout.addWidget(inputs)

        runs = QGroupBox("Run")
        run_form = QFormLayout(runs)
        run_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.forward_button = QPushButton(qta.icon("mdi6.play"), "Forward")
        self.forward_button.setObjectName("forwardButton")
        self.forward_button.setToolTip("Run the network on the input and show its output (net(X)).")
        self.forward_button.clicked.connect(self.run_forward)
        self.backward_button = QPushButton(qta.icon("mdi6.arrow-left-bold-outline"), "Backward")
        self.backward_button.setObjectName("backwardButton")
        self.backward_button.setToolTip("Forward, then back-propagate the objective into every parameter's .grad.")
        self.backward_button.clicked.connect(self.run_backward)
        self.objective_combo = keyed_combo("objectiveCombo", OBJECTIVES)
        row = QHBoxLayout()
        row.addWidget(self.forward_button)
        row.addWidget(self.backward_button)
        row.addStretch(1)
        run_form.addRow(row)
        self.run_error = error_label("runError")
        run_form.addRow(self.run_error)
        self.mode_combo = keyed_combo("modeCombo", RUN_MODES)
        self.mode_combo.setToolTip("Eval mode (for inspecting): Dropout off, BatchNorm uses its running "
                                   "statistics, nothing changes. Train mode: as during training.")
        run_form.addRow("Mode", self.mode_combo)
        run_form.addRow("Objective", self.objective_combo)
        self.target_file_row, self.target_path = path_row("targetPath", "a file holding the target tensor",
                                                          lambda: self._browse(self.target_path, "Target tensor"))
        run_form.addRow(self.target_file_row)
        layout.addWidget(runs)

        train = QGroupBox("Train on a synthetic task")
        train_form = QFormLayout(train)
        train_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.task_combo = keyed_combo("taskCombo", TASKS)
        self.task_combo.setToolTip("Regression: y = Xw + b + noise, mean squared error. Classification: one "
                                   "Gaussian blob per output, cross-entropy. Sized from the input's features "
                                   "and the network's outputs.")
        train_form.addRow("Task", self.task_combo)
        self.optimizer_combo = keyed_combo("optimizerCombo", OPTIMIZERS)
        train_form.addRow("Optimizer", self.optimizer_combo)
        self.lr_spin = FloatSpin()
        self.lr_spin.setObjectName("lrSpin")
        self.lr_spin.setRange(1e-8, 100.0)
        self.lr_spin.setSingleStep(0.01)
        self.lr_spin.setValue(0.01)
        train_form.addRow("Learning rate", self.lr_spin)
        self.steps_spin = QSpinBox()
        self.steps_spin.setObjectName("stepsSpin")
        self.steps_spin.setRange(1, 10_000_000)
        self.steps_spin.setValue(30)
        train_form.addRow("Steps", self.steps_spin)
        self.batch_spin = QSpinBox()
        self.batch_spin.setObjectName("batchSpin")
        self.batch_spin.setRange(1, 1_000_000)
        self.batch_spin.setValue(32)
        train_form.addRow("Batch size", self.batch_spin)
        self.train_button = QPushButton(qta.icon("mdi6.school-outline"), "Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.clicked.connect(self.train)
        row = QHBoxLayout()
        row.addWidget(self.train_button)
        row.addStretch(1)
        train_form.addRow(row)
        self.train_error = error_label("trainError")
        train_form.addRow(self.train_error)
        layout.addWidget(train)

        row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setObjectName("runProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m steps")
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton(qta.icon("mdi6.stop"), "Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        results.addLayout(row)
        self.status = QLabel()
        self.status.setObjectName("runStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        results.addWidget(self.status)

        self.loss_plot = pg.PlotWidget(background="w")
        self.loss_plot.setObjectName("lossPlot")
        self.loss_plot.setMinimumHeight(150)
        self.loss_plot.setMaximumHeight(240)
        self.loss_plot.setMenuEnabled(False)
        self.loss_plot.hideButtons()
        item = self.loss_plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setLabel("bottom", "step")
        item.setLabel("left", "loss")
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#2f6fed", width=2))
        results.addWidget(self.loss_plot)

        out_row = QHBoxLayout()
        self.output_label = QLabel("No output yet: press Forward.")
        self.output_label.setObjectName("outputShape")
        self.show_output_button = QPushButton(qta.icon("mdi6.grid"), "Inspect")
        self.show_output_button.setObjectName("showOutput")
        self.show_output_button.setToolTip("Show the output in the tensor views (heatmap, statistics).")
        self.show_output_button.setEnabled(False)
        self.show_output_button.clicked.connect(self.select_output)
        out_row.addWidget(self.output_label, 1)
        out_row.addWidget(self.show_output_button)
        results.addLayout(out_row)
        self.mode_label = QLabel()
        self.mode_label.setObjectName("runModeLabel")
        self.mode_label.setWordWrap(True)
        self.mode_label.setStyleSheet("color: #555;")
        results.addWidget(self.mode_label)
        self.output_text = QPlainTextEdit()
        self.output_text.setObjectName("outputText")
        self.output_text.setReadOnly(True)
        self.output_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(self.font().pointSizeF() - 1, 8))
        self.output_text.setFont(font)
        self.output_text.setMinimumHeight(110)
        results.addWidget(self.output_text, 1)

        layout.addStretch(1)
        self.kind_combo.currentIndexChanged.connect(self._update_rows)
        self.objective_combo.currentIndexChanged.connect(self._update_rows)
        self._update_rows()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        wide = self.width() >= WIDE_LAYOUT
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.columns.direction() != direction:
            self.columns.setDirection(direction)
            self.columns.setStretch(0, 2 if wide else 0)
            self.columns.setStretch(1, 3 if wide else 1)

    def _update_rows(self, *_) -> None:
        self.input_file_row.setVisible(self.kind_combo.currentData() == "file")
        self.target_file_row.setVisible(self.objective_combo.currentData() == "mse_file")

    def _browse(self, edit: QLineEdit, title: str) -> None:
        path = choose_tensor_file(self, title)
        if path:
            edit.setText(path)

    # -- following the document ------------------------------------------------------------------
    def _example_shape_text(self) -> str:
        example = self.session.example_shape()
        return ", ".join(map(str, example[0])) if example else ""

    def _on_project_opened(self) -> None:
        """Another project: its input shape, and nothing left of the old one's runs."""
        self._example_text = self._example_shape_text()
        self.shape_edit.setText(self._example_text)
        self.losses.clear()
        self._draw_losses()
        self.output_label.setText("No output yet: press Forward.")
        self.output_text.clear()
        self.show_output_button.setEnabled(False)
        self.last_result = self.last_error = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._ok("")
        self.mode_label.clear()

    def _on_rebuilt(self, *_) -> None:
        new = self._example_shape_text()
        if self.shape_edit.text().strip() in ("", self._example_text) and new != self._example_text:
            self.shape_edit.setText(new)
        self._example_text = new

    # -- the input -------------------------------------------------------------------------------------
    def input_spec(self) -> tuple[str, list[int] | None, str | None]:
        """(kind, shape, path) from the form; raises RunError for a bad shape or a missing file."""
        kind = self.kind_combo.currentData()
        path = self.input_path.text().strip() or None
        text = self.shape_edit.text().strip()
        if kind == "file":
            if path is None:
                raise RunError("Choose a file to read the input from.")
            return kind, (parse_shape(text) if text else None), path
        return kind, parse_shape(text), None

    # -- runs --------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.runner.busy

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
        for button in (self.forward_button, self.backward_button, self.train_button):
            button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.steps_requested = steps
        self.progress.setTextVisible(bool(steps))
        if steps:
            self.progress.setRange(0, steps)
            self.progress.setValue(0)
        else:
            self.progress.setRange(0, 0)  # busy
        self._ok(f"{doing}…")
        return True

    @property
    def mode(self) -> str:
        """The mode Forward and Backward run in: "eval" (the default) or "train"."""
        return self.mode_combo.currentData()

    def run_forward(self) -> bool:
        session, mode = self.session, self.mode
        return self._start("forward", lambda progress, token: session.run_forward(mode=mode).detach(),
                           "Running forward")

    @staticmethod
    def make_objective(kind: str, output_shape: torch.Size | None = None, path: str | None = None) -> Objective:
        """The objective for an OBJECTIVES key (MSE against zeros of ``output_shape``, or the tensor at ``path``)."""
        if kind in ("sum", "mean"):
            return Objective(kind)
        if kind == "mse_zeros":
            return Objective("mse", torch.zeros(output_shape or ()))
        if not path:
            raise RunError("Choose a file holding the target tensor for the MSE objective.")
        return Objective("mse", load_one_tensor(path))

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
            objective = self.make_objective(kind, shape, path)
            return objective.kind, session.run_backward(objective, mode=mode)

        return self._start("backward", job, "Running backward")

    def train(self) -> bool:
        session, task_kind = self.session, self.task_combo.currentData()
        optimizer, lr = self.optimizer_combo.currentData(), float(self.lr_spin.value())
        steps, batch = int(self.steps_spin.value()), int(self.batch_spin.value())
        seed = self.controller.document.project.seed or 0
        self.losses.clear()
        self._draw_losses()

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
        self._dirty = True
        if not self._redraw.isActive():
            self._redraw.start()

    def _draw_losses(self) -> None:
        self._dirty = False
        if not self.losses:
            self.loss_curve.setData([], [])
            return
        self.loss_curve.setData(np.arange(1, len(self.losses) + 1), np.asarray(self.losses))

    def _on_finished(self, name: str, result, error: str | None) -> None:
        self._redraw.stop()
        self._draw_losses()
        for button in (self.forward_button, self.backward_button, self.train_button):
            button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, max(self.steps_requested, 1))
        self.last_result = result
        if error:
            self.progress.setValue(0)
            self._fail(error)
            return
        self.progress.setValue(max(self.steps_requested, 1))
        self.mode_label.setText(MODE_WORDS.get(self.session.last_mode, ""))
        if name == "forward":
            self._show_output(result)
            self._ok("Forward pass done.")
        elif name == "backward":
            kind, gradients = result
            self._show_gradients(kind, gradients)
        elif name == "train":
            self._show_training(result)

    def _show_output(self, output: torch.Tensor) -> None:
        self.output_label.setText(describe_output(output))
        self.output_text.setPlainText(format_tensor(output))
        self.show_output_button.setEnabled(True)

    def _show_gradients(self, kind: str, gradients: dict[str, torch.Tensor]) -> None:
        if self.session.output is not None:
            self.output_label.setText(describe_output(self.session.output))
            self.show_output_button.setEnabled(True)
        label = dict(OBJECTIVES).get(self.objective_combo.currentData(), kind)
        lines = [f"Gradients of {label} ({len(gradients)} tensors):", ""]
        width = max((len(n) for n in gradients), default=4)
        for name, grad in gradients.items():
            lines.append(f"{name:<{width}}  shape {tuple(grad.shape)!s:<12}  ‖grad‖ = {grad.norm().item():.6g}")
        self.output_text.setPlainText("\n".join(lines))
        self._ok(f"Backward pass done: {len(gradients)} parameters have gradients (see their .grad).")

    def _show_training(self, result: TrainResult) -> None:
        if result.error:
            self._fail(result.error)
            return
        if not result.losses:
            text = "Cancelled before the first step." if result.cancelled else "No step was run."
            self._ok(text)
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
        self.status.setStyleSheet("")
        self.status.setText(message)
        for label in (self.run_error, self.train_error):
            label.clear()
            label.hide()

    def _fail(self, message: str) -> bool:
        """Say what went wrong in the status, and right under the button that was pressed, scrolled into view."""
        self._ok("")
        self.last_error = message
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(message)
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
    dock = QDockWidget("Run", window)
    dock.setObjectName("runPanelDock")
    dock.setWidget(RunPanel(window.controller))
    window.add_panel(dock, Qt.DockWidgetArea.BottomDockWidgetArea)
    return dock
