"""The heatmap: exact values, symmetric levels, layouts, NaN/Inf overlay, reduction, modes, hover, live runs."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication, QMainWindow

from netstudio.graph import Document
from netstudio.run import Objective, make_regression
from netstudio.serialization import load_project
from netstudio.tensors.heatmap_picture import NAN_RGBA, NEG_INF_RGBA, POS_INF_RGBA, block_reduce
from netstudio.tensors.view2d import element_at
from tests.ui.conftest import lock_held_elsewhere
from ui.document.controller import DocumentController
from ui.panels.heatmap import HeatmapPanel
from ui.panels.heatmap import panel as heatmap
from ui.panels.param_tree import network_ref
from ui.panels.tensor_ref import TensorRef


@pytest.fixture
def make_panel(make_controller, show_widget, qtbot):
    def make(name: str = "param_access", run: bool = True, show: bool = False) -> HeatmapPanel:
        panel = HeatmapPanel(make_controller(name, trusted=False, run=run))
        if show:
            return show_widget(panel, (900, 450))
        qtbot.addWidget(panel)
        panel.resize(900, 450)
        return panel
    return make


def param(panel: HeatmapPanel, name: str) -> torch.Tensor:
    return dict(panel.session.ensure_built().named_parameters(remove_duplicate=False))[name]


def pick(panel: HeatmapPanel, tensor: torch.Tensor, name: str = "t", source: str = "test.safetensors") -> None:
    panel.controller.tensor_selected.emit(TensorRef(name, source, value=lambda: tensor))


def test_a_weight_is_shown_exactly_with_symmetric_levels(make_panel):
    panel = make_panel()
    assert panel.objectName() == "heatmap"
    panel.controller.tensor_selected.emit(network_ref(panel.session, "0.weight"))
    w = param(panel, "0.weight").detach().numpy()
    assert panel.displayed().shape == (8, 4)
    np.testing.assert_allclose(panel.displayed(), w)
    limit = float(np.abs(w).max())
    lo, hi = panel.levels()
    assert hi == pytest.approx(limit, rel=1e-6) and lo == pytest.approx(-limit, rel=1e-6)
    np.testing.assert_allclose(panel.image_item.image, w)
    assert panel.overlay() is None
    text = panel.stats_text()
    assert f"min: {w.min():.6g}" in text and f"max: {w.max():.6g}" in text
    assert f"mean: {w.astype(np.float64).mean():.6g}" in text
    assert "zeros: 0" in text and "NaN: 0" in text and "Inf: 0" in text


def test_a_bias_is_a_one_row_strip(make_panel):
    panel = make_panel()
    panel.controller.tensor_selected.emit(network_ref(panel.session, "0.bias"))
    b = param(panel, "0.bias").detach().numpy()
    assert panel.displayed().shape == (1, 8)
    np.testing.assert_allclose(panel.displayed()[0], b)


def test_a_conv_weight_is_a_grid_of_kernels(make_panel):
    panel = make_panel()
    w = torch.randn(6, 3, 5, 4)
    pick(panel, w, "conv.weight")
    shown = panel.displayed()
    assert shown.shape == (6 * 5, 3 * 4)
    # tile (o, i) holds w[o, i]
    np.testing.assert_array_equal(shown[2 * 5:3 * 5, 1 * 4:2 * 4], w[2, 1].numpy())
    xs, ys = panel.grid_item.getData()
    assert len(xs) == 2 * (6 - 1) + 2 * (3 - 1)   # one line between each pair of kernels
    assert set(ys[: 2 * 5]) == {5.0, 10.0, 15.0, 20.0, 25.0}


def test_nan_and_infinities_get_their_own_colours(make_panel):
    panel = make_panel()
    t = torch.randn(5, 7)
    t[1, 2], t[3, 4], t[4, 0] = float("nan"), float("inf"), float("-inf")
    pick(panel, t)
    overlay = panel.overlay()
    assert overlay is not None and overlay.shape == (5, 7, 4)
    assert tuple(overlay[1, 2]) == NAN_RGBA
    assert tuple(overlay[3, 4]) == POS_INF_RGBA
    assert tuple(overlay[4, 0]) == NEG_INF_RGBA
    assert (overlay[..., 3] > 0).sum() == 3                      # transparent everywhere else
    assert np.isfinite(panel.image_item.image).all()             # the colour map only sees finite values
    finite = t.numpy()[np.isfinite(t.numpy())]
    assert panel.levels()[1] == pytest.approx(np.abs(finite).max(), rel=1e-6)
    assert "NaN: 1" in panel.stats_text() and "Inf: 2" in panel.stats_text()


def test_a_huge_tensor_is_reduced_and_keeps_its_outlier(make_panel):
    panel = make_panel()
    t = torch.randn(4096, 4096) * 0.01
    t[1234, 2345] = -7.5
    pick(panel, t, "big")
    shown = panel.displayed()
    assert shown.shape[0] <= 1024 and shown.shape[1] <= 1024
    assert shown[1234 // 4, 2345 // 4] == -7.5
    assert np.abs(shown).max() == 7.5
    assert panel.levels() == pytest.approx((-7.5, 7.5))
    assert "max:" in panel.wait_for_stats() and "min: -7.5" in panel.stats_text()
    text = panel.hover_at_scene(panel.scene_pos_of_pixel(1234 // 4, 2345 // 4))
    assert text.startswith("big[1234, 2345] = -7.5")


def test_an_outlier_survives_on_screen_too(make_panel, qtbot):
    """The screen has fewer pixels than the 1024x1024 view: the item shrinks it by max-abs, not by skipping."""
    panel = make_panel(show=True)
    t = torch.randn(4096, 4096) * 0.01
    t[1234, 2345] = 5.0
    t[100, 200] = float("nan")
    pick(panel, t, "big")
    qtbot.waitUntil(lambda: panel.grab() is not None and min(panel.image_item.screen_factors) > 1)
    by, bx = panel.image_item.screen_factors
    assert by > 1 and bx > 1
    image = panel.image_item.qimage.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = image.height(), image.width()
    assert (h, w) == (-(-1024 // by), -(-1024 // bx))
    rgba = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4)
    redness = rgba[..., 0].astype(int) - rgba[..., 2]
    assert np.unravel_index(np.argmax(redness), redness.shape) == (1234 // 4 // by, 2345 // 4 // bx)
    overlay = panel.overlay_item.qimage.convertToFormat(QImage.Format.Format_RGBA8888)
    assert overlay.pixelColor(200 // 4 // bx, 100 // 4 // by).name() == "#ff00ff"   # the NaN mark too


def test_block_reduce_keeps_signed_extremes_and_marks():
    a = np.zeros((5, 7), np.float32)
    a[4, 6], a[0, 0] = -3.0, 2.0
    out = block_reduce(a, 2, 3)
    assert out.shape == (3, 3) and out[2, 2] == -3.0 and out[0, 0] == 2.0 and np.count_nonzero(out) == 2
    marks = np.zeros((4, 4, 4), np.uint8)
    marks[3, 1] = NAN_RGBA
    reduced = block_reduce(marks, 2, 2)
    assert tuple(reduced[1, 0]) == NAN_RGBA and reduced[0].max() == 0


def test_a_huge_live_tensor_shows_its_picture_before_its_snapshot(make_panel, qtbot):
    panel = make_panel()
    t = torch.randn(2048, 2048)
    t[5, 6] = 40.0
    pick(panel, t, "big", source="network")
    assert panel.displayed()[5 // 2, 6 // 2] == 40.0          # the picture is up at once
    assert panel.hover_at_scene(panel.scene_pos_of_pixel(2, 3)) == ""   # no snapshot yet
    qtbot.waitUntil(lambda: "max: 40" in panel.stats_text())     # then it follows by itself
    assert panel.hover_at_scene(panel.scene_pos_of_pixel(2, 3)).startswith("big[5, 6] = 40.0")
    t.zero_()                                                    # the snapshot is a copy
    assert panel.hover_at_scene(panel.scene_pos_of_pixel(2, 3)).startswith("big[5, 6] = 40.0")


def test_gradient_mode_shows_the_gradient(make_panel):
    panel = make_panel()
    panel.controller.tensor_selected.emit(network_ref(panel.session, "0.weight"))
    panel.set_mode("gradient")
    assert panel.displayed() is None and "No gradient" in panel.message()
    panel.session.run_backward(Objective("sum"))
    panel.refresh()
    grad = param(panel, "0.weight").grad.numpy()
    assert np.abs(grad).max() > 0
    np.testing.assert_allclose(panel.displayed(), grad)
    assert panel.mode_box.currentData() == "gradient"


def test_gradient_follows_a_backward_run_by_itself(make_panel, qtbot):
    panel = make_panel()
    panel.set_mode("gradient")
    panel.controller.tensor_selected.emit(network_ref(panel.session, "2.weight"))
    panel.session.run_backward(Objective("sum"))
    qtbot.waitUntil(lambda: panel.displayed() is not None)
    np.testing.assert_allclose(panel.displayed(), param(panel, "2.weight").grad.numpy())


def test_change_mode_shows_the_last_step(make_panel, qtbot):
    panel = make_panel()
    panel.controller.tensor_selected.emit(network_ref(panel.session, "0.weight"))
    panel.set_mode("change")
    assert panel.displayed() is None and "No step yet" in panel.message()
    before = param(panel, "0.weight").detach().clone()
    panel.session.run_training(make_regression(4, 1, n_samples=16), steps=1, lr=0.1, batch_size=8)
    after = param(panel, "0.weight").detach().clone()
    qtbot.waitUntil(lambda: panel.displayed() is not None)
    np.testing.assert_allclose(panel.displayed(), (after - before).numpy(), atol=1e-7)
    assert np.abs(panel.displayed()).max() > 0


def test_checkpoint_tensors_have_no_gradient_or_change(make_panel):
    panel = make_panel()
    pick(panel, torch.ones(3, 3))
    panel.set_mode("gradient")
    assert panel.displayed() is None and "no gradient" in panel.message()
    panel.set_mode("change")
    assert panel.displayed() is None and "do not change" in panel.message()
    panel.set_mode("weights")
    np.testing.assert_array_equal(panel.displayed(), np.ones((3, 3), np.float32))


def test_deferred_and_cleared_selections_say_so(make_panel):
    panel = make_panel("lazy_mlp", run=False)
    panel.controller.tensor_selected.emit(network_ref(panel.session, "0.weight"))
    assert panel.displayed() is None and "deferred" in panel.message()
    panel.session.run_forward()
    panel.refresh()
    assert panel.displayed().shape == (256, 20)
    panel.controller.tensor_selected.emit(None)
    assert panel.displayed() is None and panel.stats_text() == ""


def test_hover_shows_index_and_exact_value(make_panel, qtbot):
    panel = make_panel(show=True)
    panel.controller.tensor_selected.emit(network_ref(panel.session, "0.weight"))
    w = param(panel, "0.weight").detach()
    # The view has settled its range once the pixel lands at the same place twice in a row.
    places = []
    qtbot.waitUntil(lambda: places.append(panel.scene_pos_of_pixel(5, 2)) or places[-2:] == places[-1:] * 2)
    scene = places[-1]
    pos = panel.plot_widget.mapFromScene(scene)
    viewport = panel.plot_widget.viewport()
    local = QPointF(pos.x(), pos.y())
    move = QMouseEvent(QEvent.Type.MouseMove, local, viewport.mapToGlobal(local), Qt.MouseButton.NoButton,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, move)   # a real mouse move, on any platform plugin
    qtbot.waitUntil(lambda: panel.hover_text() != "")
    assert panel.hover_text() == f"0.weight[5, 2] = {str(np.float32(w[5, 2].item()))}"
    assert panel.readout.text() == panel.hover_text()
    # away from the image there is nothing to say
    assert panel.hover_at_scene(panel.scene_pos_of_pixel(-3, 1)) == ""
    assert panel.hover_at_scene(panel.scene_pos_of_pixel(1, 4)) == ""
    assert panel.hover_at_scene(panel.scene_pos_of_pixel(7, 3)).startswith("0.weight[7, 3] = ")
    assert panel.hover_at_scene(None) == "" and panel.readout.text().strip() == ""


def test_hover_on_a_reduced_pixel_names_the_element_it_shows():
    from netstudio.tensors.view2d import heatmap_view
    t = torch.zeros(3000, 10)
    t[1001, 7] = -2.0
    t[1002, 3] = 1.0
    view = heatmap_view(t, (1024, 1024))
    assert view.block == (3, 1)
    index, value = element_at(view, t, 1001 // 3, 7)
    assert index == (1001, 7) and value.item() == -2.0
    conv = torch.zeros(2, 2, 600, 3)
    conv[1, 0, 599, 2] = float("nan")
    view = heatmap_view(conv, (1024, 1024))
    index, value = element_at(view, conv, (600 + 599) // view.block[0], 2)
    assert index == (1, 0, 599, 2) and torch.isnan(value)


def test_user_levels_stay_until_symmetric(make_panel):
    panel = make_panel()
    panel.controller.tensor_selected.emit(network_ref(panel.session, "0.weight"))
    auto = panel.levels()
    panel.bar.setLevels((-0.01, 0.02))
    panel.bar.sigLevelsChangeFinished.emit(panel.bar)   # what releasing a handle sends
    panel.refresh()
    assert panel.levels() == pytest.approx((-0.01, 0.02))
    panel.symmetric_button.click()
    assert panel.levels() == pytest.approx(auto)


def test_small_weights_are_not_rounded_away(make_panel):
    panel = make_panel()
    pick(panel, torch.tensor([[1e-5, -3e-5], [2e-5, 0.0]]))
    assert panel.levels() == pytest.approx((-3e-5, 3e-5))
    assert panel.bar.rounding <= 1e-7


def test_3d_tensors_show_one_slice_at_a_time(make_panel):
    panel = make_panel()
    t = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)
    pick(panel, t)
    np.testing.assert_array_equal(panel.displayed(), t[0].numpy())
    assert panel.slice_bar.isVisibleTo(panel) and len(panel.slice_spins) == 1
    panel.slice_spins[0].setValue(1)
    np.testing.assert_array_equal(panel.displayed(), t[1].numpy())
    assert panel.hover_at_scene(panel.scene_pos_of_pixel(2, 3)) == "t[1, 2, 3] = 23.0"


def test_live_training_on_a_worker_thread_updates_the_picture(make_panel, qtbot, monkeypatch):
    """Runs emit weights_changed from their own thread while holding the lock; the panel copies there."""
    monkeypatch.setattr(heatmap, "FRAME_MS", 0)
    panel = make_panel()
    session = panel.session
    panel.controller.tensor_selected.emit(network_ref(session, "0.weight"))
    frames = []
    panel._posts.frame.connect(frames.append)
    gui = threading.get_ident()
    seen_threads = set()
    session.events.weights_changed.connect(lambda names: seen_threads.add(threading.get_ident()))

    def progress(step, loss):
        session.events.weights_changed.emit(None)   # as the run panel does, from the training thread

    worker = threading.Thread(target=lambda: session.run_training(make_regression(4, 1, n_samples=32), steps=5,
                                                                    lr=0.05, batch_size=8, progress=progress))
    worker.start()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=60000)   # the GUI keeps running meanwhile
    worker.join()
    final = param(panel, "0.weight").detach().numpy()
    qtbot.waitUntil(lambda: np.allclose(panel.displayed(), final))
    assert seen_threads and gui not in seen_threads
    assert len(frames) >= 2    # frames were captured on the training thread and posted to the GUI


def test_busy_network_skips_frames_instead_of_blocking(make_panel, qtbot):
    panel = make_panel()
    session = panel.session
    with lock_held_elsewhere(session):
        panel.controller.tensor_selected.emit(network_ref(session, "0.weight"))  # returns at once
        assert panel.displayed() is None and "Waiting" in panel.message()
    qtbot.waitUntil(lambda: panel.displayed() is not None)
    np.testing.assert_allclose(panel.displayed(), param(panel, "0.weight").detach().numpy())


def test_install_docks_the_panel(qtbot, examples_dir):
    controller = DocumentController(Document(load_project(examples_dir / "param_access.netstudio")))

    class Window(QMainWindow):
        def add_panel(self, dock, area):
            self.addDockWidget(area, dock)
            self.area = area

    window = Window()
    window.controller = controller
    qtbot.addWidget(window)
    dock = heatmap.install(window)
    assert dock.objectName() == "heatmapDock" and isinstance(dock.widget(), HeatmapPanel)
    assert window.area == Qt.DockWidgetArea.BottomDockWidgetArea
    controller.close()


def test_deleted_panels_stop_following_the_session(qtbot, examples_dir):
    import shiboken6
    from ui.panels.param_tree import ParamTreePanel
    controller = DocumentController(Document(load_project(examples_dir / "lazy_mlp.netstudio")))
    events = controller.session.events
    before = len(events.weights_changed)
    doc_before = len(controller.document.events.changed)
    panels = [HeatmapPanel(controller), ParamTreePanel(controller)]
    panels[0].show_ref(network_ref(controller.session, "0.weight"))
    assert len(events.weights_changed) == before + 3   # the heatmap: once on the emitting thread, once here; the tree once
    for panel in panels:
        shiboken6.delete(panel)
    assert len(events.weights_changed) == before
    assert len(controller.document.events.changed) == doc_before
    controller.document.set_param("main", "n3", "out_features", 5)   # document edits reach nobody either
    controller.session.run_forward()        # nobody left to call: no error from a deleted widget
    controller.session.run_backward(Objective("sum"))
    controller.close()


def test_ticks_sit_at_cell_centres_and_name_the_index(make_panel):
    panel = make_panel(show=True)
    pick(panel, torch.arange(12.0).reshape(3, 4))
    axis = panel.plot.getAxis("bottom")
    levels = axis.tickValues(0, 4, 400)
    values = [v for _, vs in levels for v in vs]
    assert values and all(v - int(v) == 0.5 for v in values)           # i + 0.5: the middle of cell i
    assert axis.tickStrings([0.5, 3.5], 1, 1) == ["0", "3"]
    assert all(spacing >= 1 for spacing, _ in axis.tickValues(0, 1.2, 400))   # never a fractional index


def test_index_labels_never_run_together_on_a_narrow_axis(make_panel):
    """A (256, 20) weight in a 50-pixel-wide image: ticks far enough apart for their labels
    (once "510 15" was drawn for 5, 10, 15), and the rows' axis, inverted, still has ticks."""
    panel = make_panel(show=True)
    pick(panel, torch.randn(256, 20))
    bottom, left = panel.plot.getAxis("bottom"), panel.plot.getAxis("left")
    for low, high, pixels in ((0, 20, 50), (0, 20, 400), (0, 4096, 300), (0, 3, 40)):
        values = [v for _, vs in bottom.tickValues(low, high, pixels) for v in vs]
        assert values and all(low <= v <= high for v in values)
        widest = max(len(s) for s in bottom.tickStrings(values, 1, 1))
        gaps = [(b - a) * pixels / (high - low) for a, b in zip(values, values[1:])]
        assert all(gap >= widest * 7 + 10 for gap in gaps), (low, high, pixels, values)
    assert [v for _, vs in left.tickValues(256, 0, 200) for v in vs]       # given reversed: still ticks
    assert len([v for _, vs in bottom.tickValues(0, 1000, 4000) for v in vs]) <= 13   # about a dozen at most
    # Zoomed out beyond the matrix (a short dock, square cells): no index outside 0..255 or 0..19.
    rows = [v - 0.5 for _, vs in left.tickValues(-300, 556, 200) for v in vs]
    cols = [v - 0.5 for _, vs in bottom.tickValues(-30, 50, 200) for v in vs]
    assert rows and cols and min(rows) >= 0 and max(rows) <= 255 and min(cols) >= 0 and max(cols) <= 19


def test_fill_stretches_a_small_matrix_to_the_view(make_panel, qtbot):
    panel = make_panel(show=True)
    pick(panel, torch.randn(3, 4))
    box = panel.plot.getViewBox()
    assert box.state["aspectLocked"]                                     # square cells by default
    qtbot.mouseClick(panel.fill_button, Qt.MouseButton.LeftButton)
    assert not box.state["aspectLocked"] and panel.fill_button.isChecked()
    qtbot.mouseClick(panel.fill_button, Qt.MouseButton.LeftButton)
    assert box.state["aspectLocked"]


def test_the_histogram_has_a_count_axis(make_panel):
    panel = make_panel()
    axis = panel.stats_pane.histogram.getPlotItem().getAxis("left")
    assert axis.labelText == "count" and axis.style["showValues"]
    values = [v for _, vs in axis.tickValues(0, 3, 200) for v in vs]
    assert values and all(float(v).is_integer() for v in values)        # a count is never 2.5
