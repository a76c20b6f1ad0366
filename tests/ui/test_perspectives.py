"""Perspectives (Build, Inspect, Train): switching, remembering, resetting, and a workspace that
fits small screens: every perspective's main controls in view and no tab label cut."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import QScrollArea, QTabBar, QWidget

from ui.shell.perspectives import PERSPECTIVES

SIZES = [(1024, 700), (1366, 768), (1920, 1080)]


def main_controls(window, key: str, size: tuple[int, int]) -> dict[str, QWidget]:
    """What a person comes to each perspective for, by name."""
    docks = window.docks
    tree, heatmap = docks["parameterTreeDock"].widget(), docks["heatmapDock"].widget()
    init, run = docks["initializerPickerDock"].widget(), docks["runPanelDock"].widget()
    if key == "build":
        return {"canvas": window.canvas.view, "block search": window.block_palette.search,
                "blocks": window.block_palette.tree, "properties": window.properties, "problems": window.problems}
    if key == "inspect":
        controls = {"parameter tree": tree.view, "heatmap": heatmap.plot_widget, "statistics": heatmap.stats_pane,
                    "scheme": init.scheme_combo, "scope": init.scope_combo, "apply": init.apply_button}
        if size[1] >= 768:
            controls["preview"] = init.preview.plot
        return controls
    return {"forward": run.forward_button, "backward": run.backward_button, "steps": run.steps_spin,
            "learning rate": run.lr_spin, "train": run.train_button, "loss curve": run.loss_plot,
            "heatmap": heatmap.plot_widget, "parameter tree": tree.view}


def clipped_by(widget: QWidget) -> QWidget | None:
    """The first ancestor (a scroll area's viewport, a dock, the window) that hides part of ``widget``."""
    parent = widget.parentWidget()
    while parent is not None:
        if not parent.rect().contains(QRect(widget.mapTo(parent, QPoint(0, 0)), widget.size())):
            return parent
        parent = parent.parentWidget()
    return None


def cut_tabs(window) -> list[str]:
    """The labels of the dock tabs that are elided or do not fit their bar."""
    cut = []
    for bar in window.findChildren(QTabBar):
        if not bar.isVisible():
            continue
        for i in range(bar.count()):
            rect, text = bar.tabRect(i), bar.tabText(i)
            if rect.width() < bar.fontMetrics().horizontalAdvance(text) + 8 or not bar.rect().contains(rect):
                cut.append(text)
    return cut


def sized_window(make_window, qtbot, size):
    """A window of ``size`` after a forward pass, with 0.weight picked (so the heatmap draws it)."""
    window = make_window()
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size() == QSize(*size))
    window.controller.session.run_forward()
    window.docks["parameterTreeDock"].widget().select_names(["0.weight"])
    return window


def show_perspective(window, qtbot, key: str) -> None:
    window.perspectives.actions[key].trigger()
    qtbot.waitUntil(lambda: window.perspectives.current == key)
    qtbot.wait(50)   # one round of layout: the docks take their sizes


def test_the_toolbar_and_the_view_menu_switch_perspectives(make_window, qtbot):
    window = make_window()
    perspectives = window.perspectives
    view = [a for a in window.menus["view"].actions() if a.menu()]
    submenu = next(a.menu() for a in view if a.text() == "&Perspective")
    for perspective in PERSPECTIVES:
        action = perspectives.actions[perspective.key]
        assert action in perspectives.toolbar.actions() and action in submenu.actions()
    assert perspectives.reset_action in submenu.actions()
    assert perspectives.toolbar.isVisible() and perspectives.actions["build"].isChecked()
    show_perspective(window, qtbot, "train")
    assert perspectives.actions["train"].isChecked() and not perspectives.actions["build"].isChecked()
    assert window.docks["runPanelDock"].isVisible() and not window.docks["palette"].isVisible()
    show_perspective(window, qtbot, "build")
    assert window.docks["palette"].isVisible() and not window.docks["runPanelDock"].isVisible()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_perspective_shows_its_main_controls_and_whole_tab_labels(make_window, qtbot, size):
    window = sized_window(make_window, qtbot, size)
    for key in ("inspect", "train", "build"):
        show_perspective(window, qtbot, key)
        for name, widget in main_controls(window, key, size).items():
            assert widget.isVisible(), f"{key}: {name} is hidden"
            assert widget.width() > 20 and widget.height() > 20, f"{key}: {name} is {widget.size()}"
            parent = clipped_by(widget)
            assert parent is None, f"{key}: {name} is cut by {type(parent).__name__} {parent.objectName()!r}"
        assert not cut_tabs(window), f"{key}: cut tab labels {cut_tabs(window)}"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_build_gives_the_canvas_most_of_the_window(make_window, qtbot, size):
    window = sized_window(make_window, qtbot, size)
    window.perspectives.reset()
    qtbot.wait(50)
    view = window.canvas.view
    assert view.width() >= 0.38 * size[0] and view.height() >= 0.6 * size[1], view.size()


def test_a_rearranged_perspective_is_remembered_and_reset_restores_it(make_window, qtbot):
    window = make_window()
    show_perspective(window, qtbot, "inspect")
    window.docks["heatmapDock"].close()
    show_perspective(window, qtbot, "train")
    assert window.docks["heatmapDock"].isVisible()            # Train's own arrangement
    show_perspective(window, qtbot, "inspect")
    assert not window.docks["heatmapDock"].isVisible()        # Inspect as the person left it
    window.close()
    again = make_window()
    assert again.perspectives.current == "inspect" and again.perspectives.actions["inspect"].isChecked()
    assert not again.docks["heatmapDock"].isVisible() and again.docks["parameterTreeDock"].isVisible()
    again.perspectives.reset_action.trigger()
    assert again.docks["heatmapDock"].isVisible()


def test_picking_a_weight_brings_the_heatmap_forward(make_window, qtbot):
    window = make_window()
    show_perspective(window, qtbot, "train")
    heatmap, run = window.docks["heatmapDock"], window.docks["runPanelDock"]
    window.tabifyDockWidget(run, heatmap)
    run.raise_()
    qtbot.waitUntil(lambda: heatmap.visibleRegion().isEmpty())
    window.controller.session.run_forward()
    window.docks["parameterTreeDock"].widget().select_names(["0.weight"])
    qtbot.waitUntil(lambda: not heatmap.visibleRegion().isEmpty())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_forward_error_shows_beside_the_forward_button_in_train(make_window, qtbot, size):
    window = sized_window(make_window, qtbot, size)
    show_perspective(window, qtbot, "train")
    run = window.docks["runPanelDock"].widget()
    run.shape_edit.setText("2, 5")
    with qtbot.waitSignal(run.runner.finished, timeout=10000):
        run.forward_button.click()
    label = run.run_error
    qtbot.waitUntil(lambda: label.isVisible() and bool(label.text()))
    assert clipped_by(label) is None
    button = run.forward_button
    gap = label.mapTo(window, QPoint(0, 0)).y() - button.mapTo(window, QPoint(0, button.height())).y()
    assert 0 <= gap <= 30, gap


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_run_dock_needs_no_scrolling_in_train(make_window, qtbot, size):
    """Train's Run dock shows every group whole, with no vertical scroll bar: after a forward (whose mode
    sentence wraps), on a synthetic task, on the bundled shapes (whose misfit is a long sentence), and with
    a dataset file's row and note."""
    window = sized_window(make_window, qtbot, size)
    show_perspective(window, qtbot, "train")
    run = window.docks["runPanelDock"].widget()
    with qtbot.waitSignal(run.runner.finished, timeout=10000):
        run.forward_button.click()
    scroll = run.findChild(QScrollArea)
    viewport = scroll.viewport()
    for source in ("regression", "shapes", "file"):
        run.task_combo.setCurrentIndex(run.task_combo.findData(source))
        qtbot.wait(50)   # the page takes its new height
        assert scroll.verticalScrollBar().maximum() == 0, f"{source}: the Run dock scrolls"
        assert scroll.widget().height() <= viewport.height(), source
        for widget in (run.inputs, run.runs, run.training, run.train_button, run.data_note, run.loss_plot,
                       run.output_text):
            if widget.isVisible():
                top_left = widget.mapTo(viewport, QPoint(0, 0))
                assert viewport.rect().contains(QRect(top_left, widget.size())), \
                    f"{source}: {widget.objectName() or type(widget).__name__} is cut"


def test_train_gives_the_run_dock_its_share_of_a_large_window(make_window, qtbot):
    """At 1920x1080 the Run dock gets about two thirds of the height.  (Under X, sized only before the
    layout had run, it got 480 px; the perspective sizes its docks again once it has.)"""
    window = sized_window(make_window, qtbot, (1920, 1080))
    show_perspective(window, qtbot, "train")
    dock = window.docks["runPanelDock"]
    qtbot.waitUntil(lambda: dock.height() >= 0.55 * window.height(), timeout=2000)
