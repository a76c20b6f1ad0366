"""The heatmap: one tensor as a picture, with its histogram and statistics.

It shows whatever ``controller.tensor_selected`` carries (a parameter of the
live network, or a tensor in a checkpoint), as its values, its gradient, or its
change since the previous step.

Reading tensors.  A frame starts from a private copy of the tensor (a
*snapshot*), taken while holding ``session.lock``; the picture, the hover
readout and the statistics all read that copy, so they agree with each other
and never race a run.  (For a click on a live tensor of over a million
elements the picture comes first, reduced straight from the tensor under the
lock, and the snapshot follows ``FOLLOW_MS`` later, so the click shows at
once.)  The GUI thread only ever *tries* the lock
(``acquire(blocking=False)``): when a run holds it, the frame is retried a
little later.  Runs emit ``weights_changed`` from their own thread, often while
holding the lock; the panel then takes the snapshot right there, in that
thread (at most every ``FRAME_MS``), and posts the finished frame to the GUI,
so the picture follows training live without ever blocking the UI.

Large tensors are reduced by ``heatmap_view`` (signed block max-abs, on the
tensor's device) to at most 1024x1024 pixels; the image is placed in tensor
coordinates, so axes and the hover readout speak in element indices.
Statistics of tensors over a million elements are computed in a worker
thread after the picture is up.  The screen usually has fewer pixels than the
view, so ``MaxAbsImageItem`` shrinks it once more by block max-abs when it
draws (pyqtgraph's own downsampling averages, which would hide the outlier
the engine kept).  NaN and infinities are drawn by an RGBA overlay (see
``colormaps``).  "Change" is the difference between the snapshot taken after
the latest step (a ``weights_changed`` event) and the one before it; frames
are throttled, so during fast training one "step" may span several optimizer
steps.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import qtawesome as qta
import shiboken6
import torch
from PySide6.QtCore import QObject, QPointF, QRectF, QRunnable, Qt, QThread, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDockWidget, QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QSplitter,
                               QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from netstudio.errors import NetStudioError
from netstudio.tensors.stats import TensorStats, tensor_stats
from netstudio.tensors.view2d import HeatmapView, heatmap_view, reduce_max_abs

from ..document.controller import DocumentController
from ..document.relay import listen
from .colormaps import GRID_RGBA, diverging_colormap, nonfinite_overlay
from .heatmap_stats import StatsPane, format_value, number
from .param_tree_model import shape_text
from .tensor_ref import TensorRef

MODES = {"weights": "Values", "gradient": "Gradient", "change": "Change since last step"}
MAX_SHAPE = (1024, 1024)
FRAME_MS = 150                   # live updates at most this often
SYNC_STATS_NUMEL = 1 << 20       # statistics of smaller tensors are computed at once
FOLLOW_MS = 30                   # work that follows a picture (snapshot, statistics) waits for it to paint
MAX_GRID_LINES = 256


# ---------------------------------------------------------------------------- frames (any thread)


@dataclass(frozen=True, eq=False)
class Frame:
    """What one picture shows: a private tensor (None with a ``message``) and its 2-D view."""

    generation: int
    ref: TensorRef
    mode: str
    tensor: torch.Tensor | None
    view: HeatmapView | None
    message: str = ""
    slice_index: tuple[int, ...] | None = None
    shape: tuple[int, ...] | None = None   # of the tensor shown, also when ``tensor`` is not copied yet
    dtype: str | None = None

    def __post_init__(self) -> None:
        if self.tensor is not None:
            object.__setattr__(self, "shape", tuple(self.tensor.shape))
            object.__setattr__(self, "dtype", str(self.tensor.dtype))


def element_at(view: HeatmapView, tensor: torch.Tensor, row: int, col: int) -> tuple[tuple[int, ...], torch.Tensor]:
    """The tensor index and value that pixel ``(row, col)`` shows.

    Unreduced, that is ``view.index_at``; for a reduced view it is the element of
    largest magnitude in the pixel's block (a NaN if there is one), i.e. the
    element whose value the pixel displays.
    """
    br, bc = view.block
    if (br, bc) == (1, 1) or tensor.ndim == 0:
        index = view.index_at(row, col)
        return index, tensor[index]
    r0, c0 = row * br, col * bc
    if tensor.ndim == 1:
        rows, cols = torch.zeros(1, dtype=torch.long), torch.arange(c0, min(c0 + bc, tensor.shape[0]))
    else:
        height = tensor.shape[0] * tensor.shape[2] if view.tile is not None else tensor.shape[-2]
        rows = torch.arange(r0, min(r0 + br, height))
        cols = torch.arange(c0, min(c0 + bc, tensor.shape[-1] * (tensor.shape[1] if view.tile else 1)))

    def index_of(r: torch.Tensor, c: torch.Tensor) -> tuple:
        if tensor.ndim == 1:
            return (c,)
        if view.tile is not None:
            kh, kw = view.tile
            return (r // kh, c // kw, r % kh, c % kw)
        return (*view.slice_index, r, c)

    device = tensor.device
    block = tensor.detach()[tuple(i.to(device) for i in index_of(rows[:, None], cols[None, :]))]
    mags = block.abs().float() if not block.is_complex() else block.abs()
    nan = torch.isnan(mags)
    flat = int(torch.nonzero(nan.reshape(-1))[0]) if bool(nan.any()) else int(torch.argmax(mags.reshape(-1)))
    r, c = rows[flat // len(cols)], cols[flat % len(cols)]
    index = tuple(int(i) for i in index_of(r, c))
    return index, tensor[index]


class _Capturer:
    """Snapshots of the selected tensor, safe to call from any thread (see the module docstring)."""

    def __init__(self, session):
        self.session = session
        self.lock = threading.Lock()   # guards every field below
        self.ref: TensorRef | None = None
        self.mode = "weights"
        self.slice_index: tuple[int, ...] | None = None
        self.generation = 0
        self.current: torch.Tensor | None = None   # the latest snapshot of the value
        self.previous: torch.Tensor | None = None  # the one before the latest step
        self.dirty = False
        self.step_pending = False
        self.last_capture = 0.0

    def select(self, ref: TensorRef | None, mode: str) -> int:
        with self.lock:
            self.generation += 1
            self.ref, self.mode, self.slice_index = ref, mode, None
            self.current = self.previous = None
            self.dirty = self.step_pending = False
            return self.generation

    def set_mode(self, mode: str) -> None:
        with self.lock:
            self.generation += 1
            self.mode = mode

    def set_slice(self, slice_index: tuple[int, ...] | None) -> None:
        with self.lock:
            self.generation += 1
            self.slice_index = slice_index

    def mark(self, step: bool) -> None:
        with self.lock:
            self.dirty = True
            self.step_pending |= step

    def due(self) -> bool:
        return time.monotonic() - self.last_capture >= FRAME_MS / 1000

    def capture(self, quick: bool = False) -> Frame | None:
        """Read the selected tensor now; None when a run holds the network (try again later) or nothing
        is selected.  Consumes a pending step: the old snapshot becomes ``previous``.

        ``quick``: for a live tensor's values, reduce the live tensor under the lock and take no
        snapshot; the frame has ``tensor`` None (no hover, no statistics) until a full capture follows.
        """
        with self.lock:
            ref, mode, generation, slice_index = self.ref, self.mode, self.generation, self.slice_index
            step = self.step_pending
        if ref is None:
            return None
        lock = self.session.lock if ref.live else None
        if lock is not None and not lock.acquire(blocking=False):
            return None
        message = ""
        value = grad = None
        try:
            if quick and ref.live and mode == "weights":
                raw = ref.value()
                if raw is not None and raw.numel() > SYNC_STATS_NUMEL:  # small ones: the copy costs nothing
                    frame = make_frame(generation, ref, mode, raw.detach(), None, None, slice_index)
                    return Frame(frame.generation, ref, mode, None, frame.view, frame.message, frame.slice_index,
                                 tuple(raw.shape), str(raw.dtype))
                value = _own(raw, ref.live)
            else:
                value = _own(ref.value(), ref.live)
            if mode == "gradient" and ref.grad is not None:
                grad = _own(ref.grad(), ref.live)
        except NetStudioError as err:
            message = str(err)
        except Exception as err:  # a tensor that cannot be read must not take the panel down
            message = f"'{ref.name}' cannot be read: {err}."
        finally:
            if lock is not None:
                lock.release()
        with self.lock:
            if generation != self.generation:
                return None  # the selection moved on meanwhile
            if step and self.current is not None and value is not None:
                self.previous = self.current
            if value is not None:
                self.current = value
            previous = self.previous
            self.dirty = self.step_pending = False
            self.last_capture = time.monotonic()
        return make_frame(generation, ref, mode, value, grad, previous, slice_index, message)


def _own(tensor: torch.Tensor | None, live: bool) -> torch.Tensor | None:
    """A copy nobody else writes to (live tensors change under training); files' tensors are ours already."""
    if tensor is None:
        return None
    tensor = tensor.detach()
    return tensor.clone() if live else tensor


def make_frame(generation: int, ref: TensorRef, mode: str, value, grad, previous, slice_index,
               message: str = "") -> Frame:
    shown = None
    if not message:
        if value is None:
            message = (f"'{ref.name}' is deferred: its shape is set by the first forward run." if ref.live
                       else f"'{ref.name}' has no value.")
        elif mode == "weights":
            shown = value
        elif mode == "gradient":
            if ref.grad is None:
                message = "Tensors in a file have no gradient; pick a network parameter."
            elif grad is None:
                message = "No gradient yet: run a backward pass or a training step."
            else:
                shown = grad
        elif mode == "change":
            if not ref.live:
                message = "Tensors in a file do not change; pick a network parameter."
            elif previous is None or previous.shape != value.shape:
                message = "No step yet: the change shows after the next run or training step."
            else:
                shown = value - previous if value.is_floating_point() else value.double() - previous.double()
    view = None
    if shown is not None:
        try:
            view = heatmap_view(shown, MAX_SHAPE, slice_index)
        except NetStudioError as err:
            try:
                view, slice_index = heatmap_view(shown, MAX_SHAPE), None
            except NetStudioError:
                shown, message = None, str(err)
    return Frame(generation, ref, mode, shown, view, message, slice_index)


def block_reduce(image: np.ndarray, by: int, bx: int) -> np.ndarray:
    """Shrink an image by (by, bx) blocks: a 2-D array keeps each block's value of largest magnitude
    (with its sign); an RGBA array keeps each channel's maximum, so a marked pixel stays marked."""
    rows, cols = image.shape[:2]
    if image.ndim == 2:  # the engine's reduction: strided folds, much faster than a numpy reshape-reduce
        if not image.flags.writeable:
            image = image.copy()
        return reduce_max_abs(torch.from_numpy(image), -(-rows // by), -(-cols // bx)).numpy()
    pad = ((0, -rows % by), (0, -cols % bx)) + ((0, 0),) * (image.ndim - 2)
    if any(p for p, _ in pad[:2]) or any(p for _, p in pad[:2]):
        image = np.pad(image, pad, mode="edge")
    blocks = image.reshape(image.shape[0] // by, by, image.shape[1] // bx, bx, *image.shape[2:])
    return blocks.max(axis=(1, 3))


class MaxAbsImageItem(pg.ImageItem):
    """An ``ImageItem`` that, when the screen has fewer pixels than the image, shrinks it with
    :func:`block_reduce` before drawing.  pyqtgraph's own automatic downsampling takes block means,
    and plain scaling skips pixels; either would hide a lone outlier (or NaN mark) on screen."""

    def __init__(self):
        super().__init__(axisOrder="row-major")
        self.setAutoDownsample(True)   # makes pyqtgraph re-render when zooming changes the factors
        self.screen_factors = (1, 1)   # (rows, cols) image pixels per screen pixel at the last render

    def _computeDownsampleFactors(self) -> tuple[int, int]:
        """(x, y) image pixels per screen pixel, rounded *up* (pyqtgraph rounds down, which leaves
        more image pixels than screen pixels, so scaling still skips some)."""
        o = self.mapToDevice(QPointF(0, 0))
        x = self.mapToDevice(QPointF(1, 0))
        y = self.mapToDevice(QPointF(0, 1))
        if o is None or x is None or y is None:
            return 1, 1
        w, h = np.hypot(*(x - o).toTuple()), np.hypot(*(y - o).toTuple())
        if w == 0 or h == 0:
            return 1, 1
        return max(1, int(np.ceil(1.0 / w - 1e-6))), max(1, int(np.ceil(1.0 / h - 1e-6)))

    def render(self) -> None:
        image = self.image
        factors = (1, 1)
        if image is not None and image.size:
            xds, yds = self._computeDownsampleFactors()
            factors = (yds, xds)
            self._lastDownsample = (xds, yds)
        self.screen_factors = factors
        self.autoDownsample = False
        try:
            if factors != (1, 1):
                self.image = block_reduce(image, *factors)
            super().render()
        finally:
            self.image = image
            self.autoDownsample = True


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


# ---------------------------------------------------------------------------- the panel (GUI thread)


class HeatmapPanel(QWidget):
    """Picture, colour bar, histogram and statistics of the selected tensor."""

    def __init__(self, controller: DocumentController, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("heatmap")
        self.controller = controller
        self.session = controller.session
        self._pool = QThreadPool(self)          # made before _posts, so it is deleted (and joined) first
        self._pool.setMaxThreadCount(1)
        self._posts = _Posts(self)
        self._posts.frame.connect(self._show_frame)
        self._posts.stats.connect(self._show_stats)
        self._capturer = _Capturer(self.session)
        self._frame: Frame | None = None
        self._stats: TensorStats | None = None
        self._auto_levels = True
        self._hover = ""
        self._limit = 0.0
        self._pending_job: _StatsJob | None = None
        self._build()
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._tick)
        for name in ("rebuilt", "weights_changed", "device_changed", "ran"):
            signal = getattr(self.session.events, name)
            # First in the emitting thread (a run copies the live tensor while it holds the lock), then here.
            listen(self, signal, lambda *args, name=name: self._on_session_event(name, args), direct=True)
            listen(self, signal, self._schedule)
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
        self.slice_bar = QWidget(self)
        self.slice_layout = QHBoxLayout(self.slice_bar)
        self.slice_layout.setContentsMargins(0, 0, 0, 0)
        self.slice_spins: list[QSpinBox] = []
        self.slice_bar.hide()

        self.plot_widget = pg.PlotWidget(self, background="w")
        self.plot_widget.setObjectName("heatmapPlot")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTextPen("#333")
            axis.setPen("#999")
        self.plot.setLabel("left", "row", color="#555")
        self.plot.setLabel("bottom", "column", color="#555")
        self.image_item = MaxAbsImageItem()
        self.plot.addItem(self.image_item)
        self.overlay_item = MaxAbsImageItem()
        self.overlay_item.setZValue(5)
        self.plot.addItem(self.overlay_item)
        self.grid_item = pg.PlotCurveItem(pen=pg.mkPen(GRID_RGBA, width=1, cosmetic=True), connect="pairs")
        self.grid_item.setZValue(10)
        self.plot.addItem(self.grid_item)
        self.bar = self.plot.addColorBar(self.image_item, colorMap=diverging_colormap(), values=(-1, 1),
                                         rounding=1e-3, interactive=True, pen="#333", hoverPen="#d93025",
                                         colorMapMenu=False)
        self.bar.axis.setTextPen("#333")
        self.bar.axis.setPen("#999")
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
        top = QHBoxLayout()
        top.setContentsMargins(4, 4, 4, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.slice_bar)
        top.addWidget(self.mode_box)
        top.addWidget(self.symmetric_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 4)
        column.setSpacing(4)
        column.addLayout(top)
        column.addWidget(self.splitter, 1)

    # -- what tests (and other panels) read ------------------------------------------------
    def displayed(self) -> np.ndarray | None:
        """The 2-D float32 values on show (NaN and infinities included, before the overlay hides them)."""
        frame = self._frame
        return frame.view.values if frame is not None and frame.view is not None else None

    def levels(self) -> tuple[float, float]:
        return tuple(float(v) for v in self.bar.levels())

    def stats_text(self) -> str:
        return self.stats_pane.text()

    def overlay(self) -> np.ndarray | None:
        """The RGBA overlay marking NaN / +Inf / -Inf pixels, or None when everything is finite."""
        return self.overlay_item.image if self.overlay_item.isVisible() else None

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
        self._capturer.set_slice(slice_index)
        frame = self._frame
        if frame is not None and frame.tensor is not None:
            with self._capturer.lock:
                generation = self._capturer.generation
            try:
                view = heatmap_view(frame.tensor, MAX_SHAPE, slice_index)
            except NetStudioError:
                return
            self._show_frame(Frame(generation, frame.ref, frame.mode, frame.tensor, view, "", slice_index),
                             keep_stats=True)

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
        with self._capturer.lock:
            current = self._capturer.generation
        if frame.generation != current:
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
        view = frame.view
        values = view.values
        overlay = nonfinite_overlay(values)
        base = values if overlay is None else np.where(np.isfinite(values), values, np.float32(0))
        rows, cols = values.shape
        br, bc = view.block
        rect = QRectF(0, 0, max(cols * bc, 1), max(rows * br, 1))
        if values.size:
            self.image_item.setImage(base, autoLevels=False)
            self.image_item.setRect(rect)
            self.image_item.show()
        else:
            self.image_item.hide()
        if overlay is not None:
            self.overlay_item.setImage(overlay, autoLevels=False, levels=(0, 255))
            self.overlay_item.setRect(rect)
            self.overlay_item.show()
        else:
            self.overlay_item.hide()
        self._limit = float(np.abs(base).max()) if base.size else 0.0
        self._draw_grid(frame, rect)
        self._apply_levels()
        self._update_title(frame)
        self._update_slice_bar(frame)
        self.plot.getAxis("left").setTicks([[(0.5, "0")]] if rows * br == 1 else None)
        if reset_view:
            self._reset_range(rows * br, cols * bc)
        if not keep_stats and frame.tensor is not None:
            self._start_stats(frame)
        self.hover_at_scene(None)

    def _clear(self, message: str) -> None:
        self.image_item.hide()
        self.overlay_item.hide()
        self.grid_item.setData([], [])
        self.message_label.setText(message)
        self.picture.setCurrentWidget(self.message_label)
        self.stats_pane.show_stats(None)
        self.stats_pane.hide()
        self.slice_bar.hide()
        self._hover = ""
        self.readout.setText(" ")

    def _reset_range(self, height: int, width: int) -> None:
        ratio = width / max(height, 1)
        self.plot.setAspectLocked(1 / 8 <= ratio <= 8)
        self.plot.getViewBox().setRange(xRange=(0, width), yRange=(0, height), padding=0.02)

    def _draw_grid(self, frame: Frame, rect: QRectF) -> None:
        """Lines between the kernels of a conv weight (tile = (kh, kw) elements)."""
        tile = frame.view.tile
        if tile is None:
            self.grid_item.setData([], [])
            return
        kh, kw = tile
        height, width = rect.height(), rect.width()
        out_ch, in_ch = frame.shape[0], frame.shape[1]
        xs, ys = [], []
        if 1 < out_ch <= MAX_GRID_LINES and kh / frame.view.block[0] >= 2:
            for o in range(1, out_ch):
                xs += [0, width]
                ys += [o * kh, o * kh]
        if 1 < in_ch <= MAX_GRID_LINES and kw / frame.view.block[1] >= 2:
            for i in range(1, in_ch):
                xs += [i * kw, i * kw]
                ys += [0, height]
        self.grid_item.setData(np.asarray(xs, float), np.asarray(ys, float))

    def _apply_levels(self) -> None:
        if not self._auto_levels or self._frame is None or self._frame.view is None:
            return
        limit = self._limit if np.isfinite(self._limit) and self._limit > 0 else 1.0
        self.bar.rounding = 10.0 ** (np.floor(np.log10(limit)) - 3)
        self.bar.setLevels((-limit, limit))

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
        ndim = len(frame.shape)
        lead = tuple(frame.shape[:-2]) if ndim == 3 or ndim >= 5 else ()
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
        if frame.tensor.numel() <= SYNC_STATS_NUMEL:
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
        from PySide6.QtCore import QCoreApplication
        self._complete_now()
        self._start_pending_job()
        self._pool.waitForDone(timeout_ms)
        QCoreApplication.processEvents()
        return self.stats_text()

    # -- hover -----------------------------------------------------------------------------------
    def hover_at_scene(self, scene_pos: QPointF | None) -> str:
        """Show (and return) the tensor index and exact value under ``scene_pos`` (None clears)."""
        frame = self._frame
        text = ""
        if (scene_pos is not None and frame is not None and frame.view is not None and frame.tensor is not None
                and self.image_item.isVisible()):
            point = self.image_item.mapFromScene(scene_pos)
            rows, cols = frame.view.values.shape
            row, col = int(np.floor(point.y())), int(np.floor(point.x()))
            if 0 <= row < rows and 0 <= col < cols:
                text = self._describe_pixel(frame, row, col)
        self._hover = text
        self.readout.setText(text or " ")
        return text

    def _describe_pixel(self, frame: Frame, row: int, col: int) -> str:
        view = frame.view
        index, value = element_at(view, frame.tensor, row, col)
        where = f"{frame.ref.name}[{', '.join(map(str, index))}]"
        text = f"{where} = {format_value(value)}"
        if view.block != (1, 1):
            text += (f"   (largest |value| of the {view.block[0]}×{view.block[1]} block at pixel {row}, {col}; "
                     f"shown {number(float(view.values[row, col]))})")
        return text

    def scene_pos_of_pixel(self, row: int, col: int) -> QPointF:
        """The scene position of the centre of displayed pixel ``(row, col)`` (tests)."""
        return self.image_item.mapToScene(QPointF(col + 0.5, row + 0.5))

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
        if QThread.currentThread() is not self._gui_thread() and self._capturer.due():
            frame = self._capturer.capture()
            posts = self._posts
            if frame is not None and shiboken6.isValid(posts):
                posts.frame.emit(frame)

    def _gui_thread(self) -> QThread | None:
        from PySide6.QtCore import QCoreApplication
        app = QCoreApplication.instance()
        return app.thread() if app is not None else None

    def _schedule(self, *_) -> None:
        """GUI thread: refresh soon, at most every FRAME_MS."""
        if not self._capturer.dirty or self._timer.isActive():
            return
        wait = FRAME_MS / 1000 - (time.monotonic() - self._capturer.last_capture)
        self._timer.start(max(0, int(wait * 1000)))

    def _tick(self) -> None:
        if not self._capturer.dirty or self.ref is None:
            return
        frame = self._capturer.capture()
        if frame is None:
            self._timer.start(FRAME_MS)  # a run holds the network: skip this frame, look again later
            return
        self._show_frame(frame)


def install(window) -> QDockWidget:
    """Dock a heatmap in ``window`` (bottom area) and return the dock."""
    panel = HeatmapPanel(window.controller)
    dock = QDockWidget("Heatmap", window)
    dock.setObjectName("heatmapDock")
    dock.setWidget(panel)
    window.add_panel(dock, Qt.DockWidgetArea.BottomDockWidgetArea)
    return dock
