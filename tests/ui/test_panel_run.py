"""The run panel: input, Forward, Backward, Train with a live loss curve, Cancel,
one-sentence errors, and a window that keeps responding during a run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox

from ui.panels.run_panel import RunPanel
from ui.panels.run_panel import panel as run_panel


@pytest.fixture
def make_panel(make_run_panel):
    return lambda name="param_access": make_run_panel(name, (460, 1000))


def choose(combo: QComboBox, data) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def type_into(qtbot, edit, text: str) -> None:
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # select all, then type over it
    qtbot.keyClicks(edit, text)


def type_number(qtbot, spin, text: str) -> None:
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def press(qtbot, panel: RunPanel, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=60000)


def test_forward_shows_the_output_shape_and_values(qtbot, make_panel):
    panel = make_panel()
    assert panel.shape_edit.text() == "2, 4"  # the example's input shape
    press(qtbot, panel, panel.forward_button)
    output = panel.session.output
    assert tuple(output.shape) == (2, 1)
    assert panel.output_label.text() == "Output: shape (2, 1) · float32 · cpu"
    shown = np.array([float(v) for v in panel.output_text.toPlainText().replace("[", " ").replace("]", " ").split()])
    assert np.allclose(shown, output.flatten().numpy(), atol=1e-4)
    assert panel.status.text() == "Forward pass done."
    type_into(qtbot, panel.shape_edit, "5, 4")
    choose(panel.kind_combo, "ones")
    press(qtbot, panel, panel.forward_button)
    assert torch.equal(panel.session.input, torch.ones(5, 4))
    assert panel.output_label.text().startswith("Output: shape (5, 1)")
    selected = []
    panel.controller.tensor_selected.connect(selected.append)
    qtbot.mouseClick(panel.show_output_button, Qt.MouseButton.LeftButton)
    assert selected[0].name == "output" and torch.equal(selected[0].value(), panel.session.output)


def test_forward_creates_deferred_parameters(qtbot, make_panel):
    panel = make_panel("lazy_mlp")
    assert not panel.session.materialized
    press(qtbot, panel, panel.forward_button)
    shapes = {n: tuple(p.shape) for n, p in panel.session.ensure_built().named_parameters()}
    assert shapes == {"0.weight": (256, 20), "0.bias": (256,), "2.weight": (10, 256), "2.bias": (10,)}


def test_input_from_a_tensor_file(qtbot, tmp_path, make_panel):
    panel = make_panel()
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    torch.save(x, tmp_path / "x.pt")
    choose(panel.kind_combo, "file")
    assert panel.input_file_row.isVisible()
    type_into(qtbot, panel.input_path, str(tmp_path / "x.pt"))
    panel.shape_edit.clear()
    press(qtbot, panel, panel.forward_button)
    assert torch.equal(panel.session.input, x) and tuple(panel.session.output.shape) == (3, 1)


def test_backward_fills_the_gradients(qtbot, make_panel):
    panel = make_panel()
    choose(panel.objective_combo, "sum")
    press(qtbot, panel, panel.backward_button)
    grads = panel.session.gradients
    assert set(grads) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert torch.equal(grads["2.bias"], torch.tensor([2.0]))  # d sum(output) / d bias = batch size
    assert all(p.grad is not None for p in panel.session.ensure_built().parameters())
    assert "4 parameters have gradients" in panel.status.text()
    assert "2.bias" in panel.output_text.toPlainText()
    choose(panel.objective_combo, "mse_zeros")
    press(qtbot, panel, panel.backward_button)
    out = panel.session.output
    expected = 2 * out.sum() / out.numel()  # d mean((y - 0)^2) / d bias
    assert panel.session.gradients["2.bias"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_backward_against_a_target_file(qtbot, tmp_path, make_panel):
    panel = make_panel()
    torch.save(torch.full((2, 1), 3.0), tmp_path / "y.pt")
    choose(panel.objective_combo, "mse_file")
    assert panel.target_file_row.isVisible()
    type_into(qtbot, panel.target_path, str(tmp_path / "y.pt"))
    press(qtbot, panel, panel.backward_button)
    out = panel.session.output
    assert panel.session.gradients["2.bias"].item() == pytest.approx((2 * (out - 3).mean()).item(), rel=1e-5)


@pytest.mark.parametrize("shape, message", [
    ("2, x", "'2, x' is not a shape; type whole numbers of at least 1, such as 2, 20."),
    ("2, 0", "'2, 0' is not a shape; type whole numbers of at least 1, such as 2, 20."),
    ("2, 5", "Forward pass failed in '0': mat1 and mat2 shapes cannot be multiplied (2x5 and 20x256)."),
])
def test_errors_show_as_one_sentence(qtbot, make_panel, shape, message):
    panel = make_panel("mlp")
    type_into(qtbot, panel.shape_edit, shape)
    press(qtbot, panel, panel.forward_button)
    assert panel.status.text() == message and panel.last_error == message
    assert panel.forward_button.isEnabled()


def test_training_draws_a_decreasing_loss_curve(qtbot, make_panel):
    panel = make_panel()
    choose(panel.task_combo, "regression")
    choose(panel.optimizer_combo, "sgd")
    type_number(qtbot, panel.lr_spin, "0.05")
    panel.steps_spin.lineEdit().selectAll()
    qtbot.keyClicks(panel.steps_spin.lineEdit(), "30")
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert panel.busy and panel.cancel_button.isEnabled() and not panel.train_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.busy, timeout=60000)
    xs, ys = panel.loss_curve.getData()
    assert len(xs) == len(ys) == 30 and list(xs) == list(range(1, 31))
    assert ys[-1] < ys[0] and np.mean(ys[-5:]) < np.mean(ys[:5])
    assert list(ys) == pytest.approx(list(panel.last_result.losses))
    assert panel.progress.value() == 30 and panel.progress.maximum() == 30
    assert panel.status.text().startswith("Trained 30 steps: loss ")
    assert panel.session.losses[-30:] == list(panel.last_result.losses)


def test_the_loss_curve_has_a_log_scale_and_smoothing(qtbot, make_panel):
    panel = make_panel()
    panel.losses[:] = [100.0, 10.0, 30.0, 1.0, 3.0, 0.1]
    panel.results.draw_losses()
    item = panel.loss_plot.getPlotItem()
    qtbot.mouseClick(panel.log_scale, Qt.MouseButton.LeftButton)
    assert item.ctrl.logYCheck.isChecked()                       # the y axis is in decades now
    qtbot.mouseClick(panel.smooth, Qt.MouseButton.LeftButton)
    xs, ys = panel.loss_curve.xData, panel.loss_curve.yData    # the values, not their logarithms as drawn
    assert list(xs) == [1, 2, 3, 4, 5, 6]
    assert list(panel.loss_raw.yData) == pytest.approx(panel.losses)   # the raw curve stays behind
    assert ys[0] == pytest.approx(100.0) and ys[1] == pytest.approx((0.6 * 0.4 * 100 + 0.4 * 10) / (1 - 0.36))
    assert max(abs(np.diff(ys))) < max(abs(np.diff(panel.losses)))          # smoother than the raw values
    panel.losses.append(-1.0)                                    # a loss at or below zero cannot go on a log axis
    panel.results.draw_losses()
    assert not item.ctrl.logYCheck.isChecked() and "log scale cannot show" in panel.log_scale.toolTip()
    qtbot.mouseClick(panel.smooth, Qt.MouseButton.LeftButton)
    assert panel.loss_raw.yData is None or len(panel.loss_raw.yData) == 0
    assert list(panel.loss_curve.yData) == pytest.approx(panel.losses)


def test_classification_task_on_a_network_with_ten_outputs(qtbot, make_panel):
    panel = make_panel("mlp")
    choose(panel.task_combo, "classification")
    choose(panel.optimizer_combo, "adam")
    panel.steps_spin.setValue(10)
    press(qtbot, panel, panel.train_button)
    assert panel.last_result.steps_done == 10 and len(panel.losses) == 10
    assert panel.losses[-1] < panel.losses[0]


def test_classification_needs_two_outputs(qtbot, make_panel):
    panel = make_panel()
    choose(panel.task_combo, "classification")
    press(qtbot, panel, panel.train_button)
    assert panel.status.text() == ("A classification task needs at least 2 outputs (one per class); "
                                   "this network has 1.")


def test_cancel_stops_a_long_run_early_and_the_window_keeps_responding(qtbot, make_panel):
    panel = make_panel()
    panel.steps_spin.setValue(1_000_000)
    ticks = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.losses) >= 5, timeout=60000)
    ticks_before, steps_before = len(ticks), len(panel.losses)
    # Training goes on in the worker while the UI thread handles its events.
    qtbot.waitUntil(lambda: len(ticks) - ticks_before >= 10 and len(panel.losses) > steps_before + 2, timeout=60000)
    ticks_during = len(ticks) - ticks_before
    assert panel.busy and len(panel.losses) > steps_before
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=60000)
    timer.stop()
    result = panel.last_result
    assert result.cancelled and 5 <= result.steps_done < 1_000_000
    assert len(panel.loss_curve.getData()[0]) == result.steps_done
    assert panel.status.text().startswith(f"Cancelled after {result.steps_done} of 1000000 steps")
    assert ticks_during >= 5  # a 10 ms timer kept firing while the worker trained


def test_undo_is_disabled_while_a_run_holds_the_network(make_window, qtbot):
    from ui.document.commands import Rename
    from ui.panels.run_panel import RunPanel
    window = make_window()
    controller = window.controller
    doc = controller.document
    first = next(n for n in doc.project.root_definition.nodes.values() if n.type == "Linear")
    controller.push(Rename(doc, "main", first.id, "first"))   # a valid edit, so training runs
    assert window.undo_action.isEnabled()
    run = window.docks["runPanelDock"].widget()
    assert isinstance(run, RunPanel)
    run.steps_spin.setValue(5000)
    busy = []
    controller.busy_changed.connect(busy.append)
    assert run.train()
    assert busy == [True] and not window.undo_action.isEnabled()
    run.cancel()
    assert run.wait(30000)
    assert busy == [True, False]
    qtbot.waitUntil(lambda: window.undo_action.isEnabled())


def dropout_batchnorm_project():
    from tests.engine.builders import chain_project
    doc, _ = chain_project([("Linear", {"in_features": 20, "out_features": 6}), ("BatchNorm1d", {"num_features": 6}),
                            ("Dropout", {"p": 0.5}), ("Linear", {"in_features": 6, "out_features": 3})],
                           shape=(8, 20))
    return doc.project


def running_stats(panel: RunPanel) -> tuple[torch.Tensor, torch.Tensor]:
    buffers = dict(panel.session.ensure_built().named_buffers())
    return buffers["1.running_mean"].clone(), buffers["1.running_var"].clone()


def test_forward_runs_in_eval_mode_unless_train_mode_is_chosen(qtbot, make_controller, show_widget):
    panel = show_widget(RunPanel(make_controller(dropout_batchnorm_project())), (460, 1000))
    assert panel.mode_combo.currentData() == "eval" and panel.mode_label.text() == ""
    press(qtbot, panel, panel.forward_button)
    first, stats = panel.session.output.clone(), running_stats(panel)
    press(qtbot, panel, panel.forward_button)
    # Eval mode: Dropout is off, so two Forwards agree, and BatchNorm's running statistics do not move.
    assert torch.equal(panel.session.output, first)
    assert all(torch.equal(a, b) for a, b in zip(running_stats(panel), stats))
    assert panel.session.last_mode == "eval"
    assert panel.mode_label.text().startswith("Ran in eval mode: Dropout off, BatchNorm uses its running")
    assert panel.mode_label.isVisible()
    choose(panel.mode_combo, "train")
    press(qtbot, panel, panel.forward_button)
    # Train mode: Dropout zeroes values at random and BatchNorm updates its running statistics.
    assert not torch.equal(panel.session.output, first)
    assert not torch.equal(running_stats(panel)[0], stats[0])
    assert panel.session.last_mode == "train" and panel.mode_label.text().startswith("Ran in train mode")
    choose(panel.mode_combo, "eval")
    choose(panel.objective_combo, "sum")
    press(qtbot, panel, panel.backward_button)
    assert panel.session.last_mode == "eval" and "eval mode" in panel.mode_label.text()
    stats = running_stats(panel)
    press(qtbot, panel, panel.backward_button)
    assert all(torch.equal(a, b) for a, b in zip(running_stats(panel), stats))


def test_train_always_trains_in_train_mode(qtbot, make_controller, show_widget):
    panel = show_widget(RunPanel(make_controller(dropout_batchnorm_project())), (460, 1000))
    assert panel.mode_combo.currentData() == "eval"
    panel.steps_spin.setValue(3)
    press(qtbot, panel, panel.forward_button)
    before = running_stats(panel)
    press(qtbot, panel, panel.train_button)
    assert panel.last_result.steps_done == 3
    assert panel.session.last_mode == "train" and panel.mode_label.text().startswith("Ran in train mode")
    assert not torch.equal(running_stats(panel)[0], before[0])   # BatchNorm learnt from the batches


def scroll_to_bottom_edge(panel: RunPanel, widget) -> None:
    """Scroll so that ``widget`` is the last thing in view, as when the person has just scrolled down to it."""
    scroll = panel.findChild(run_panel.QScrollArea)
    bar, viewport = scroll.verticalScrollBar(), scroll.viewport()
    bottom = widget.mapTo(scroll.widget(), widget.rect().bottomLeft()).y()
    bar.setValue(bottom - viewport.height() + 2)
    assert 0 < bar.value() < bar.maximum()


def assert_beside(label, button) -> None:
    """The label shows, inside the visible part of its scroll area, right under the button."""
    scroll = label.window().findChild(run_panel.QScrollArea)
    viewport = scroll.viewport()
    top_left = label.mapTo(viewport, label.rect().topLeft())
    bottom_right = label.mapTo(viewport, label.rect().bottomRight())
    assert label.isVisible() and label.text()
    assert viewport.rect().contains(top_left) and viewport.rect().contains(bottom_right)
    below = label.mapTo(viewport, label.rect().topLeft()).y() - button.mapTo(viewport, button.rect().bottomLeft()).y()
    assert 0 <= below <= 30, below
    left = label.mapTo(viewport, label.rect().topLeft()).x() - button.mapTo(viewport, button.rect().topLeft()).x()
    assert abs(left) <= 20, left


def test_a_failed_forward_says_why_beside_its_button(qtbot, make_controller, show_widget):
    panel = show_widget(RunPanel(make_controller("mlp", trusted=False)), (460, 120))  # the panel scrolls
    scroll = panel.findChild(run_panel.QScrollArea)
    assert scroll.verticalScrollBar().maximum() > 0
    type_into(qtbot, panel.shape_edit, "2, 5")
    scroll_to_bottom_edge(panel, panel.forward_button)
    press(qtbot, panel, panel.forward_button)
    message = "Forward pass failed in '0': mat1 and mat2 shapes cannot be multiplied (2x5 and 20x256)."
    assert panel.run_error.text() == message and not panel.train_error.isVisible()
    assert_beside(panel.run_error, panel.forward_button)
    # A shape that cannot be read is said there too; the next good run clears it.
    type_into(qtbot, panel.shape_edit, "2, x")
    scroll_to_bottom_edge(panel, panel.backward_button)
    qtbot.mouseClick(panel.backward_button, Qt.MouseButton.LeftButton)
    assert panel.run_error.text().startswith("'2, x' is not a shape")
    assert_beside(panel.run_error, panel.forward_button)
    type_into(qtbot, panel.shape_edit, "2, 20")
    press(qtbot, panel, panel.forward_button)
    assert not panel.run_error.isVisible() and panel.status.text() == "Forward pass done."


def test_a_failed_training_says_why_beside_the_train_button(qtbot, make_controller, show_widget):
    panel = show_widget(RunPanel(make_controller("param_access", trusted=False)), (460, 300))
    choose(panel.task_combo, "classification")
    scroll_to_bottom_edge(panel, panel.train_button)
    press(qtbot, panel, panel.train_button)
    assert panel.train_error.text() == ("A classification task needs at least 2 outputs (one per class); "
                                        "this network has 1.")
    assert not panel.run_error.isVisible()
    assert_beside(panel.train_error, panel.train_button)
