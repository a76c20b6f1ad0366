"""The run panel: give the network an input, run it forward and backward, and
train it for a few steps, on a small synthetic task or on a dataset file of
any rank, with a live loss curve.

Every run happens on a worker thread (``Runner``), with a progress bar and a
Cancel button, so the window keeps responding.  A failure shows as one
sentence right under the button that was pressed, never as a traceback.
The mode of the last run is said in words next to its result.  Opening
another project (``controller.project_opened``) clears what the panel showed.

A dataset file is checked as soon as it is chosen (and again when the
network changes): read as ``netstudio train`` reads it, scanned for NaN, and
run through the network on two samples; what it holds, or why it cannot be
trained on, is said under the choice.

The controls are three groups (``input_box``, ``run_box``, ``train_box``) in
one column and the results (``results``) in another: side by side in a wide
(bottom) dock, one above the other in a narrow one.  In a dock wider still
(``THREE_COLUMNS``), Train gets a column of its own beside Input and Run, so
the Train perspective's short bottom dock shows every control without
scrolling.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QBoxLayout, QDockWidget, QFileDialog, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from netstudio.errors import NetStudioError, RunError
from netstudio.run import TrainResult
from netstudio.run.dataset import DatasetTask, check_fit, describe
from netstudio.run.shapes_dataset import BUNDLED_SHAPES, SIZE

from ..form_pieces import say, scroll_page, tighten
from ..panel import Panel, install_panel
from ..run_worker import Runner, dataset_training_job, one_sentence, open_dataset, training_job
from ..tensor_ref import TensorRef
from .input_box import InputBox
from .results import RunResults
from .run_box import RunBox, make_objective
from .train_box import SYNTHETIC, TrainBox, remembered

TENSOR_FILTER = "Tensor files (*.pt *.pth *.safetensors *.bin);;All files (*)"
DATASET_FILTER = "Datasets (*.safetensors *.pt *.pth);;All files (*)"
SHAPES_SAMPLE = [1, SIZE, SIZE]   # a network whose example input has samples of this shape starts on Shapes
REDRAW_MS = 50
WIDE_LAYOUT = 560  # pixels: from this width on, controls and results sit side by side
THREE_COLUMNS = 760  # pixels: from this width on, Train gets a column of its own, so a short dock needs no scrolling
LIVE_INTERVAL = 0.1  # seconds between weights_changed events during training


def choose_tensor_file(parent: QWidget, title: str) -> str | None:
    """Ask for a tensor file (tests replace this, or type the path)."""
    path, _ = QFileDialog.getOpenFileName(parent, title, "", TENSOR_FILTER)
    return path or None


def choose_dataset_file(parent: QWidget, start: str) -> str | None:
    """Ask for a dataset file, starting where the last one was (tests replace this, or type the path)."""
    path, _ = QFileDialog.getOpenFileName(parent, "Dataset", start, DATASET_FILTER)
    return path or None


class RunPanel(Panel):
    """Input, Forward, Backward, Train N steps, a live loss curve, progress and Cancel."""

    OBJECT_NAME = "runPanel"

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(controller, parent)
        self.last_result: object = None
        self.last_error: str | None = None
        self._dataset: tuple[tuple, DatasetTask] | None = None   # the file last read, by (path, loss, size, mtime)
        self._path_seen = ""   # the dataset path whose loss was last picked from its targets
        self.steps_requested = 0
        self._pressed = "forward"   # the run button pressed last: its failure is said right under it
        self.runner = Runner(self, controller)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self._build()
        self._redraw = QTimer(self, interval=REDRAW_MS)   # the loss curve, redrawn at most this often
        self._redraw.timeout.connect(self.results.draw_losses)
        self.follow([self.session.events.rebuilt], self.inputs.follow_example_shape)
        self.follow([self.session.events.rebuilt], self.check_dataset)
        # Not document.events.reset: undoing a composite edit resets the document too, and must keep the curve.
        controller.project_opened.connect(self._on_project_opened)
        self._on_project_opened()

    def _build(self) -> None:
        self._page, page_layout = scroll_page(self)
        self._page.installEventFilter(self)   # its height follows the rows shown and the columns (see _refit)
        self._refit_soon = QTimer(self, singleShot=True, interval=0)
        self._refit_soon.timeout.connect(self._refit)
        self.columns = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.columns.setSpacing(10)
        page_layout.addLayout(self.columns, 1)
        self.controls, results = QBoxLayout(QBoxLayout.Direction.TopToBottom), QVBoxLayout()
        self.controls.setSpacing(10)
        self.columns.addLayout(self.controls, 0)
        self.columns.addLayout(results, 1)
        self.inputs, self.runs, self.training = InputBox(self.session, self._browse), RunBox(self._browse), \
            TrainBox(self._browse_dataset)
        running, training = QVBoxLayout(), QVBoxLayout()   # Input and Run, then Train: two columns when wide
        for column, groups in ((running, (self.inputs, self.runs)), (training, (self.training,))):
            column.setSpacing(10)
            for group in groups:
                column.addWidget(group)
            column.addStretch(1)
            self.controls.addLayout(column)
        self.controls.setStretch(1, 1)
        self.results = RunResults(results, self.font().pointSizeF())
        self.runs.forward_button.clicked.connect(self.run_forward)
        self.runs.backward_button.clicked.connect(self.run_backward)
        self.training.train_button.clicked.connect(self.train)
        self.results.cancel_button.clicked.connect(self.cancel)
        self.results.show_output_button.clicked.connect(self.select_output)
        self.expose(self.inputs, "shape_edit", "kind_combo", "input_file_row", "input_path")
        self.expose(self.runs, "forward_button", "backward_button", "run_error", "mode_combo", "objective_combo",
                    "target_file_row", "target_path")
        self.expose(self.training, "task_combo", "loss_combo", "data_file_row", "data_path", "data_note",
                    "optimizer_combo", "lr_spin", "steps_spin", "batch_spin", "train_button", "train_error")
        self.training.task_combo.currentIndexChanged.connect(self._on_source_chosen)
        self.training.loss_combo.currentIndexChanged.connect(self.check_dataset)
        self.training.data_path.editingFinished.connect(self._on_path_typed)
        self.expose(self.results, "progress", "cancel_button", "status", "loss_plot", "loss_curve", "loss_raw", "losses",
                    "log_scale", "smooth", "output_label", "show_output_button", "mode_label", "output_text")
        tighten(self)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        across, down = QBoxLayout.Direction.LeftToRight, QBoxLayout.Direction.TopToBottom
        wide, widest = self.width() >= WIDE_LAYOUT, self.width() >= THREE_COLUMNS
        if self.columns.direction() != (across if wide else down):
            self.columns.setDirection(across if wide else down)
            self.columns.setStretch(1, 3 if wide else 1)
        if self.controls.direction() != (across if widest else down):
            self.controls.setDirection(across if widest else down)
            self.controls.setStretch(0, 1 if widest else 0)   # down: only Train's column takes spare height
        self.columns.setStretch(0, (4 if widest else 2) if wide else 0)

    def eventFilter(self, watched, event) -> bool:
        if watched is self._page and event.type() == QEvent.Type.LayoutRequest:
            self._refit_soon.start()
        return super().eventFilter(watched, event)

    def _refit(self) -> None:
        """The page as tall as its layout needs at its width now.

        The scroll page measures itself only when its width changes; a row shown or hidden, or the
        columns rearranged at the same width, would leave it at the height of its former layout (too
        short, and rows overlap; too tall, and a dock that fits everything scrolls)."""
        layout = self._page.layout()
        if layout is not None and layout.hasHeightForWidth():
            need = layout.heightForWidth(self._page.width())
            if need > 0 and need != self._page.minimumHeight():
                self._page.setMinimumHeight(need)

    def _browse(self, edit: QLineEdit, title: str) -> None:
        path = choose_tensor_file(self, title)
        if path:
            edit.setText(path)

    def _browse_dataset(self, edit: QLineEdit, title: str) -> None:
        path = choose_dataset_file(self, edit.text().strip() or remembered["path"])
        if path:
            edit.setText(path)
            self._on_path_typed()

    def _on_project_opened(self) -> None:
        """Another project: its input shape, nothing left of the old one's runs, and the bundled shapes
        chosen for a network made for them (the dataset file chosen stays)."""
        self.inputs.show_example_shape()
        self.results.clear()
        self.last_result = self.last_error = None
        self._ok("")
        example = self.session.example_shape()
        fits_shapes = example is not None and list(example[0][1:]) == SHAPES_SAMPLE
        combo = self.training.task_combo
        if fits_shapes or self.training.source == "shapes":
            combo.setCurrentIndex(combo.findData("shapes" if fits_shapes else "regression"))
        self.check_dataset()

    # -- the dataset ---------------------------------------------------------------------------------------
    def _on_source_chosen(self, *_) -> None:
        if self.training.source == "shapes":
            self._choose_loss("cross_entropy")
        self.check_dataset()

    def _on_path_typed(self) -> None:
        """A dataset file was chosen: remembered, its loss picked from its targets' type, and checked
        (the loss the person chose stays while the path stays the same)."""
        path = self.training.data_path.text().strip()
        if path:
            remembered["path"] = path
        self._dataset = None   # read it again: the file may have been written since
        if path == self._path_seen:
            self.check_dataset()
            return
        self._path_seen = path
        task = self._read_dataset()
        if task is not None:
            self._choose_loss("mse" if task.samples.y.dtype.is_floating_point else "cross_entropy")
        self.check_dataset()

    def _choose_loss(self, loss: str) -> None:
        combo = self.training.loss_combo
        combo.blockSignals(True)
        combo.setCurrentIndex(combo.findData(loss))
        combo.blockSignals(False)

    def _read_dataset(self) -> DatasetTask | None:
        """The chosen dataset file, read (once per version of the file); None, and the reason said beside
        the choice, when it cannot be read."""
        path, loss = self.training.dataset_path(), self.training.loss
        if path is None:
            self.training.show_note("Choose a .safetensors or .pt file holding 'x' and 'y'."
                                    if self.training.source == "file" else "")
            return None
        try:
            stat = Path(path).stat()
            key = (path, loss, stat.st_size, stat.st_mtime_ns)
        except OSError:
            key = (path, loss, None, None)
        if self._dataset is not None and self._dataset[0] == key:
            return self._dataset[1]
        try:
            if path == str(BUNDLED_SHAPES) and not BUNDLED_SHAPES.is_file():
                raise RunError(f"The bundled dataset {BUNDLED_SHAPES.name} is missing; make it with "
                               "python resources/datasets/make_shapes.py.")
            task = open_dataset(path, loss)
        except Exception as err:  # every failure is one sentence beside the choice, never a traceback
            self._dataset = None
            self.training.show_note(one_sentence(err, "Reading the dataset"), error=True)
            return None
        self._dataset = (key, task)
        return task

    def check_dataset(self, *_) -> bool:
        """Check the chosen dataset against the network now; say what it holds, or why it does not fit.

        The network is checked only when it is idle and built with all its sizes (a lazy one takes them
        from the data when the run starts, which checks it then)."""
        if self.training.source in SYNTHETIC:
            self.training.show_note("")
            return True
        task = self._read_dataset()
        if task is None:
            return False
        note = describe(task)
        session = self.session
        if not self.busy and session.lock.acquire(blocking=False):
            try:
                module = session.ensure_built() if session.materialized else None
                if module is not None:
                    check_fit(module, task)
                    if task.classes is not None:
                        note += f", {task.classes} classes"
            except Exception as err:  # noqa: BLE001 - said beside the choice
                self.training.show_note(one_sentence(err, "Checking the dataset"), error=True)
                return False
            finally:
                session.lock.release()
        self.training.show_note(note + ".")
        return True

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

    def _start(self, name: str, job, doing: str, steps: int = 0, own_input: bool = False) -> bool:
        """Run ``job`` on the worker, on the input of the Input group (unless the job brings its own)."""
        session = self.session
        self._pressed = name
        try:
            kind, shape, path = self.input_spec() if not own_input else (None, None, None)
        except NetStudioError as err:
            return self._fail(str(err))

        def run(progress, token):
            with session.lock:
                if own_input:
                    return job(progress, token)
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
        task_kind, optimizer = training.source, training.optimizer_combo.currentData()
        lr, steps = float(training.lr_spin.value()), int(training.steps_spin.value())
        batch = int(training.batch_spin.value())
        seed = self.controller.document.project.seed or 0
        if task_kind not in SYNTHETIC:
            path = training.dataset_path()
            if path is None:
                self._pressed = "train"
                return self._fail("Choose a dataset file to train on.")
            if self._read_dataset() is None:
                self._pressed = "train"
                return self._fail(self.training.data_note.text())
            job = dataset_training_job(session, path, training.loss, optimizer, lr, steps, batch, LIVE_INTERVAL)
        else:
            job = training_job(session, task_kind, optimizer, lr, steps, batch, seed, LIVE_INTERVAL)
        self.losses.clear()
        self.results.draw_losses()
        return self._start("train", job, f"Training for {steps} steps", steps=steps,
                           own_input=task_kind not in SYNTHETIC)

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
