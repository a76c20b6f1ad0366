"""The heatmap: one tensor as a picture, with its histogram and statistics.

It shows whatever ``controller.tensor_selected`` carries (a parameter of the
live network, or a tensor in a checkpoint), as its values, its gradient, or its
change since the previous step.

What a picture shows is the engine's: a *frame*
(:mod:`netstudio.tensors.heatmap_frames`) made from a private snapshot of the
tensor (:mod:`netstudio.tensors.frame_capture`), drawn by ``HeatmapPlot``
(:mod:`.image`).  This panel decides when frames are taken.  A click
shows the picture before this returns; for a live tensor of over a million
elements the picture comes first, reduced straight from the tensor under the
lock, and the snapshot follows ``FOLLOW_MS`` later.  The GUI thread never
waits for a run: when one holds the network, the frame is retried a little
later.  Runs emit ``weights_changed`` from their own thread, often while
holding the lock; the panel then takes the snapshot right there, in that
thread (at most every ``FRAME_MS``), and posts the finished frame to the GUI,
so the picture follows training live without ever blocking the UI.
Statistics of tensors over a million elements are computed in a worker
thread after the picture is up.
"""

from __future__ import annotations

import numpy as np
import qtawesome as qta
import shiboken6
import torch
from PySide6.QtCore import QCoreApplication, QObject, QPointF, QRunnable, Qt, QThread, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDockWidget, QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QSplitter,
                               QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from netstudio.errors import NetStudioError
from netstudio.tensors.frame_capture import LARGE_NUMEL, FrameCapturer
from netstudio.tensors.heatmap_frames import Frame, hover_text
from netstudio.tensors.heatmap_picture import symmetric_limit
from netstudio.tensors.stats import TensorStats, tensor_stats
from netstudio.tensors.view2d import slice_dims

from ...document.controller import DocumentController
from ..panel import Panel, header_over, install_panel
from ..param_tree_model import shape_text
from ..tensor_ref import TensorRef
from .image import HeatmapPlot
from .stats import StatsPane

MODES = {"weights": "Values", "gradient": "Gradient", "change": "Change since last step"}
FRAME_MS = 150                   # live updates at most this often
FOLLOW_MS = 30                   # work that follows a picture (snapshot, statistics) waits for it to paint
SESSION_EVENTS = ("rebuilt", "weights_changed", "device_changed", "ran")


class _Posts(QObject):
    frame = Signal(object)           # Frame, from any thread
    stats = Signal(int, object)      # generation, TensorStats


class _StatsJob(QRunnable):
    def __init__(self, generation: int, tensor: torch.Tensor, posts: _Posts):
        super().__init__()
        self.generation, self.tensor, self.posts = generation, tensor, posts

    def run(self) -> None:
        try:
            stats = tensor_stats(self.tensor)
        except Exception:  # statistics are a courtesy; a failure leaves the pane empty
            stats = None
        if shiboken6.isValid(self.posts):
            self.posts.stats.emit(self.generation, stats)


class HeatmapPanel(Panel):
    """Picture, colour bar, histogram and statistics of the selected tensor."""

    OBJECT_NAME = "heatmap"

    def __init__(self, controller: DocumentController, parent: QWidget | None = None):
        super().__init__(controller, parent)
        self._pool = QThreadPool(self)          # made before _posts, so it is deleted (and joined) first
        self._pool.setMaxThreadCount(1)
        self._posts = _Posts(self)
        self._posts.frame.connect(self._show_frame)
        self._posts.stats.connect(self._show_stats)
        self._capturer = FrameCapturer(self.session.lock)
        self._frame: Frame | None = None
        self._stats: TensorStats | None = None
        self._auto_levels = True
        self._hover = ""
        self._limit = 1.0
        self._pending_job: _StatsJob | None = None
        self._build()
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._tick)
        signals = [getattr(self.session.events, name) for name in SESSION_EVENTS]
        for name, signal in zip(SESSION_EVENTS, signals):
            # First in the emitting thread (a run copies the live tensor while it holds the lock), then here.
            self.follow([signal], lambda *args, name=name: self._on_session_event(name, args), direct=True)
        self.follow(signals, self._schedule)
        controller.tensor_selected.connect(self.show_ref)
        controller.project_opened.connect(self.clear)   # the old project's tensor is gone
        self.show_ref(None)

    # -- building ----------------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel(self)
        self.title.setObjectName("heatmapTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.mode_box = QComboBox(self)
        self.mode_box.setObjectName("heatmapMode")
        for key, text in MODES.items():
            self.mode_box.addItem(text, key)
        self.mode_box.setToolTip("Show the values, their gradient, or how much they changed in the last step")
        self.mode_box.currentIndexChanged.connect(lambda _: self.set_mode(self.mode_box.currentData()))
        self.symmetric_button = QToolButton(self)
        self.symmetric_button.setObjectName("heatmapSymmetric")
        self.symmetric_button.setIcon(qta.icon("mdi6.plus-minus-variant"))
        self.symmetric_button.setText("Symmetric")
        self.symmetric_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.symmetric_button.setToolTip("Colour range ±max|value|, centred on zero (drag the colour bar's "
                                         "handles to adjust it)")
        self.symmetric_button.clicked.connect(self.symmetric_levels)
        self.fill_button = QToolButton(self)
        self.fill_button.setObjectName("heatmapFill")
        self.fill_button.setIcon(qta.icon("mdi6.arrow-expand-all"))
        self.fill_button.setText("Fill")
        self.fill_button.setCheckable(True)
        self.fill_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.fill_button.setToolTip("Stretch the picture to fill the view (cells are no longer square): "
                                    "a small matrix becomes big enough to read")
        self.fill_button.toggled.connect(self.set_fill)
        self.slice_bar = QWidget(self)
        self.slice_layout = QHBoxLayout(self.slice_bar)
        self.slice_layout.setContentsMargins(0, 0, 0, 0)
        self.slice_spins: list[QSpinBox] = []
        self.slice_bar.hide()

        self.drawing = HeatmapPlot(self)
        self.plot_widget, self.plot, self.bar = self.drawing.widget, self.drawing.plot, self.drawing.bar
        self.image_item, self.overlay_item = self.drawing.image_item, self.drawing.overlay_item
        self.grid_item = self.drawing.grid_item
        self.bar.sigLevelsChangeFinished.connect(self._on_levels_dragged)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("heatmapMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setMargin(16)
        self.message_label.setStyleSheet("color: #666; background: white;")
        self.picture = QStackedWidget(self)
        self.picture.addWidget(self.plot_widget)
        self.picture.addWidget(self.message_label)
        self.plot.scene().sigMouseMoved.connect(self.hover_at_scene)
        self.readout = QLabel(" ", self)
        self.readout.setObjectName("heatmapReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.stats_pane = StatsPane(self)

        left = QWidget(self)
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.setSpacing(2)
        left_column.addWidget(self.picture, 1)
        left_column.addWidget(self.readout)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.stats_pane)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([520, 230])
        header_over(self, [self.title, self.slice_bar, self.mode_box, self.fill_button, self.symmetric_button],
                    self.splitter,
                    grow=self.title, bottom=4)

    # -- what tests (and other panels) read ------------------------------------------------
    def displayed(self) -> np.ndarray | None:
        """The 2-D float32 values on show (NaN and infinities included, before the overlay hides them)."""
        frame = self._frame
        return frame.view.values if frame is not None and frame.view is not None else None

    def levels(self) -> tuple[float, float]:
        return self.drawing.levels()

    def stats_text(self) -> str:
        return self.stats_pane.text()

    def overlay(self) -> np.ndarray | None:
        """The RGBA overlay marking NaN / +Inf / -Inf pixels, or None when everything is finite."""
        return self.drawing.overlay()

    def message(self) -> str:
        """What the panel says instead of a picture ("" while it shows one)."""
        return self.message_label.text() if self.picture.currentWidget() is self.message_label else ""

    def hover_text(self) -> str:
        return self._hover

    @property
    def ref(self) -> TensorRef | None:
        return self._capturer.ref

    @property
    def mode(self) -> str:
        return self._capturer.mode

    # -- choosing what to show -------------------------------------------------------------------
    def show_ref(self, ref: TensorRef | None) -> None:
        """Show ``ref`` (None clears the panel); the picture is up when this returns, unless a run holds
        the network, in which case it appears as soon as the run lets go."""
        self._capturer.select(ref, self.mode_box.currentData())
        self._auto_levels = True
        self._stats = None
        if ref is None:
            self._frame = None
            self._clear("Select a parameter in the Parameters panel, or a tensor in a checkpoint.")
            self.title.setText("<span style='color:#777'>No tensor selected</span>")
            return
        self.title.setText(f"<b>{ref.name}</b> <span style='color:#777'>· {ref.source}</span>")
        self._refresh(new=True)

    def clear(self) -> None:
        self.show_ref(None)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown heatmap mode {mode!r}")
        if self.mode_box.currentData() != mode:
            self.mode_box.setCurrentIndex(list(MODES).index(mode))  # comes back here
            return
        self._capturer.set_mode(mode)
        self._auto_levels = True
        if self.ref is not None:
            self._refresh(new=True)

    def set_slice(self, slice_index: tuple[int, ...] | None) -> None:
        """Which leading indices a 3-d or 5-d+ tensor shows (its last two dimensions are drawn)."""
        generation = self._capturer.set_slice(slice_index)
        frame = self._frame
        if frame is not None and frame.tensor is not None:
            try:
                resliced = frame.resliced(generation, slice_index)
            except NetStudioError:
                return
            self._show_frame(resliced, keep_stats=True)

    def set_fill(self, fill: bool) -> None:
        """Square cells (the default, for shapes up to 8:1), or the picture stretched to the whole view."""
        self.drawing.fill = fill
        if self._frame is not None and self._frame.view is not None:
            self.drawing.draw(self._frame.view, True)

    def symmetric_levels(self) -> None:
        """Back to automatic colour limits: ±max|finite value|, centred on zero."""
        self._auto_levels = True
        self._apply_levels()

    def refresh(self) -> None:
        """Read the tensor again now (e.g. after an edit that sent no event)."""
        self._capturer.mark(step=False)
        self._tick()

    # -- frames --------------------------------------------------------------------------------
    def _refresh(self, new: bool) -> None:
        """Picture first (reduced straight from the live tensor), then the snapshot that hover,
        statistics and "change" read, taken once the picture is up."""
        frame = self._capturer.capture(quick=True)
        if frame is None:
            if self.ref is not None:
                self._capturer.mark(step=False)
                self._clear("Waiting for the run to finish…")
                self._timer.start(FRAME_MS)
            return
        self._show_frame(frame, reset_view=new)
        if frame.tensor is None and frame.view is not None:
            self._capturer.mark(step=False)
            self.stats_pane.show_pending()
            self._timer.start(FOLLOW_MS)

    def _complete_now(self) -> None:
        """Take the pending snapshot at once (tests and scripts that read hover or stats right away)."""
        if self._frame is not None and self._frame.tensor is None and self._frame.view is not None:
            self._tick()

    def _show_frame(self, frame: Frame, reset_view: bool | None = None, keep_stats: bool = False) -> None:
        if frame.generation != self._capturer.current_generation():
            return
        previous = self._frame
        if reset_view is None:  # a live update keeps the user's zoom unless the shape changed
            reset_view = (previous is None or previous.view is None or frame.view is None
                          or previous.view.values.shape != frame.view.values.shape)
        self._frame = frame
        if frame.view is None:
            self._clear(frame.message)
            return
        self.picture.setCurrentWidget(self.plot_widget)
        self.stats_pane.show()
        self.drawing.draw(frame.view, reset_view)
        self._limit = symmetric_limit(frame.view.values)
        self._apply_levels()
        self._update_title(frame)
        self._update_slice_bar(frame)
        if not keep_stats and frame.tensor is not None:
            self._start_stats(frame)
        self.hover_at_scene(None)

    def _clear(self, message: str) -> None:
        self.drawing.clear()
        self.message_label.setText(message)
        self.picture.setCurrentWidget(self.message_label)
        self.stats_pane.show_stats(None)
        self.stats_pane.hide()
        self.slice_bar.hide()
        self._hover = ""
        self.readout.setText(" ")

    def _apply_levels(self) -> None:
        if self._auto_levels and self._frame is not None and self._frame.view is not None:
            self.drawing.set_levels(self._limit)

    def _on_levels_dragged(self, *_) -> None:
        self._auto_levels = False  # the user's range stays through live updates until "Symmetric"

    def _update_title(self, frame: Frame) -> None:
        view = frame.view
        parts = [f"<b>{frame.ref.name}</b>", f"<span style='color:#777'>· {frame.ref.source}</span>",
                 f"{shape_text(frame.shape)} {frame.dtype.removeprefix('torch.')}"]
        if frame.mode != "weights":
            parts.append(f"<i>{MODES[frame.mode].lower()}</i>")
        if view.block != (1, 1):
            rows, cols = view.values.shape
            parts.append(f"<span style='color:#777'>shown {rows}×{cols}, each pixel the largest |value| of "
                         f"{view.block[0]}×{view.block[1]}</span>")
        if view.tile is not None:
            parts.append(f"<span style='color:#777'>kernels {view.tile[0]}×{view.tile[1]}</span>")
        self.title.setText(" ".join(parts))
        self.title.setToolTip(self.title.text())

    def _update_slice_bar(self, frame: Frame) -> None:
        lead = slice_dims(frame.shape)
        if not lead:
            self.slice_bar.hide()
            return
        if [s.maximum() + 1 for s in self.slice_spins] != list(lead):
            for spin in self.slice_spins:
                spin.deleteLater()
            self.slice_spins = []
            while self.slice_layout.count():
                self.slice_layout.takeAt(0)
            self.slice_layout.addWidget(QLabel("slice", self.slice_bar))
            for size in lead:
                spin = QSpinBox(self.slice_bar)
                spin.setRange(0, size - 1)
                spin.setToolTip(f"Index along a dimension of size {size}")
                spin.valueChanged.connect(self._on_slice_spin)
                self.slice_layout.addWidget(spin)
                self.slice_spins.append(spin)
        for spin, index in zip(self.slice_spins, frame.view.slice_index):
            spin.blockSignals(True)
            spin.setValue(index)
            spin.blockSignals(False)
        self.slice_bar.show()

    def _on_slice_spin(self, *_) -> None:
        self.set_slice(tuple(s.value() for s in self.slice_spins))

    # -- statistics ------------------------------------------------------------------------------
    def _start_stats(self, frame: Frame) -> None:
        if frame.tensor.numel() <= LARGE_NUMEL:
            self._show_stats(frame.generation, tensor_stats(frame.tensor))
            return
        self.stats_pane.show_pending()
        # after the picture has painted: on a machine with few cores the job would slow the paint
        job = _StatsJob(frame.generation, frame.tensor, self._posts)
        self._pending_job = job
        QTimer.singleShot(FOLLOW_MS, self, self._start_pending_job)

    def _start_pending_job(self) -> None:
        job, self._pending_job = self._pending_job, None
        if job is not None and self._frame is not None and job.generation == self._frame.generation:
            self._pool.start(job)

    def _show_stats(self, generation: int, stats: TensorStats | None) -> None:
        frame = self._frame
        if frame is None or frame.generation != generation:
            return
        self._stats = stats
        self.stats_pane.show_stats(stats)

    def wait_for_stats(self, timeout_ms: int = 5000) -> str:
        """Block until pending statistics are shown (tests and benchmarks); returns ``stats_text()``."""
        self._complete_now()
        self._start_pending_job()
        self._pool.waitForDone(timeout_ms)
        QCoreApplication.processEvents()
        return self.stats_text()

    # -- hover -----------------------------------------------------------------------------------
    def hover_at_scene(self, scene_pos: QPointF | None) -> str:
        """Show (and return) the tensor index and exact value under ``scene_pos`` (None clears)."""
        point = self.drawing.image_point(scene_pos) if scene_pos is not None else None
        text = hover_text(self._frame, *point) if point is not None else ""
        self._hover = text
        self.readout.setText(text or " ")
        return text

    def scene_pos_of_pixel(self, row: int, col: int) -> QPointF:
        """The scene position of the centre of displayed pixel ``(row, col)`` (tests)."""
        return self.drawing.scene_pos_of_pixel(row, col)

    # -- following the session -------------------------------------------------------------------
    def _on_session_event(self, name: str, args: tuple) -> None:
        """Called in the emitting thread; marks the picture stale, and captures at once off the GUI thread."""
        ref = self._capturer.ref
        if ref is None or not ref.live:
            return
        if name == "weights_changed":
            names = args[0] if args else None
            if names is not None and ref.name not in names:
                return
            self._capturer.mark(step=True)
        elif name == "ran":
            if args and args[0] == "forward" and self._capturer.mode == "weights":
                return
            self._capturer.mark(step=False)
        else:
            self._capturer.mark(step=False)
        if QThread.currentThread() is not _gui_thread() and self._capturer.wait_ms(FRAME_MS) == 0:
            frame = self._capturer.capture()
            posts = self._posts
            if frame is not None and shiboken6.isValid(posts):
                posts.frame.emit(frame)

    def _schedule(self, *_) -> None:
        """GUI thread: refresh soon, at most every FRAME_MS."""
        if self._capturer.dirty and not self._timer.isActive():
            self._timer.start(self._capturer.wait_ms(FRAME_MS))

    def _tick(self) -> None:
        if not self._capturer.dirty or self.ref is None:
            return
        frame = self._capturer.capture()
        if frame is None:
            self._timer.start(FRAME_MS)  # a run holds the network: skip this frame, look again later
            return
        self._show_frame(frame)


def _gui_thread() -> QThread | None:
    app = QCoreApplication.instance()
    return app.thread() if app is not None else None


def install(window) -> QDockWidget:
    """Dock a heatmap in ``window`` (bottom area) and return the dock."""
    return install_panel(window, HeatmapPanel, Qt.DockWidgetArea.BottomDockWidgetArea, "Heatmap", "heatmapDock")
