"""Opening another project (or File → New) resets every panel; undoing a composite edit resets none.

Each panel is put in a state that belongs to the project on show (a run's
status, error and loss curve, an initializer's message, a tensor in the
heatmap with its statistics, per-use gradients, a selected parameter), then
another project is shown the way the File menu shows it.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ui.document.commands import SnapshotCommand


def panels(window) -> dict:
    return {name: window.docks[dock].widget() for name, dock in (
        ("run", "runPanelDock"), ("init", "initializerPickerDock"), ("heatmap", "heatmapDock"),
        ("links", "sharedLinksDock"), ("tree", "parameterTreeDock"))}


def click_and_wait(qtbot, button, runner) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not runner.busy, timeout=60000)


def fill_every_panel(window, qtbot) -> dict:
    """Train a little, initialize, show a parameter, split its gradient by use, fail a Forward (in the Train
    perspective, where the Run panel shows)."""
    window.perspectives.switch("train")
    p = panels(window)
    run = p["run"]
    run.steps_spin.setValue(5)
    click_and_wait(qtbot, run.train_button, run.runner)
    assert len(run.losses) == 5 and len(run.loss_curve.getData()[0]) == 5
    assert p["init"].apply_preset("normal") and p["init"].status.text().startswith("Initialized")
    p["tree"].select_names(["2.weight"])
    assert p["tree"].selected_names() == ["2.weight"]
    assert p["heatmap"].ref is not None and p["heatmap"].ref.name == "2.weight"
    assert p["heatmap"].wait_for_stats().startswith("min:")
    window.canvas.select_nodes([])
    p["tree"].select_names([""])   # the whole network's row: no block, so the canvas selection stays empty
    assert p["tree"].selected_names() == [""] and p["heatmap"].ref.name == "2.weight"
    assert window.controller.selection == ("main", [])
    click_and_wait(qtbot, p["links"].grad_button, p["links"].runner)
    assert p["links"].grad_table.rowCount() > 0 and p["links"].grad_check.text()
    run.shape_edit.setText("2, 7")
    click_and_wait(qtbot, run.forward_button, run.runner)
    assert run.run_error.isVisible() and run.status.text().startswith("Forward pass failed")
    return p


def assert_every_panel_reset(p: dict, shape: str) -> None:
    run = p["run"]
    assert run.losses == [] and len(run.loss_curve.getData()[0] or ()) == 0
    assert run.status.text() == "" and run.last_error is None
    assert not run.run_error.isVisible() and not run.train_error.isVisible()
    assert run.output_label.text() == "No output yet: press Forward." and run.output_text.toPlainText() == ""
    assert run.mode_label.text() == "" and run.shape_edit.text() == shape
    assert p["init"].status.text() == "" and p["init"].last_command is None
    heat = p["heatmap"]
    assert heat.ref is None and heat.stats_text() == "" and heat.displayed() is None
    assert heat.message().startswith("Select a parameter")
    links = p["links"]
    assert links.gradients == {} and links.grad_table.rowCount() == 0
    assert links.grad_check.text() == "" and links.status.text() == ""
    assert p["tree"].selected_names() == []


@pytest.mark.parametrize("how", ["open", "new"])
def test_another_project_resets_every_panel(make_window, examples_dir, qtbot, how):
    window = make_window()
    window.files.load(examples_dir / "tied.netstudio")
    p = fill_every_panel(window, qtbot)
    window.controller.mark_saved()   # no question about the trained weights
    if how == "open":
        window.files.load(examples_dir / "mlp.netstudio")
        shape = "2, 20"
    else:
        window.files.actions["new"].trigger()
        example = window.controller.session.example_shape()
        shape = ", ".join(map(str, example[0])) if example else ""
    window.controller.wait_for_check()
    assert_every_panel_reset(p, shape)


def test_undoing_a_composite_edit_keeps_the_loss_curve(make_window, examples_dir, qtbot):
    window = make_window()
    window.files.load(examples_dir / "tied.netstudio")
    run = panels(window)["run"]
    run.steps_spin.setValue(5)
    click_and_wait(qtbot, run.train_button, run.runner)
    losses = list(run.losses)
    controller = window.controller
    events = []
    controller.document.events.reset.connect(lambda: events.append("reset"))
    controller.push(SnapshotCommand(controller.document, "Describe", lambda d: d.set_setting("description", "x")))
    controller.undo_stack.undo()             # restores the snapshot: the document resets
    assert events == ["reset"]
    assert run.losses == losses and len(run.loss_curve.getData()[0]) == 5
    assert run.status.text().startswith("Trained 5 steps")
