"""The Runs dock in the main window: shown in the Train perspective, opened from File → Open Run…,
and laid out to fit a 1366×768 screen without cut labels."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QTabBar

from ui.panels.runs import panel as runs_panel_module

from .runs_helpers import write_run


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("runs"))


def test_the_train_perspective_has_the_runs_dock(make_window):
    window = make_window()
    dock = window.docks["runsDock"]
    assert dock.windowTitle() == "Runs" and dock.widget().objectName() == "runsPanel"
    window.perspectives.switch("build")
    assert not dock.isVisible()
    window.perspectives.switch("train")
    assert window.tabifiedDockWidgets(window.docks["runPanelDock"]) == [dock]
    assert window.docks["runPanelDock"].isVisible()   # the run panel stays in front


def test_file_open_run_shows_the_run(qtbot, make_window, monkeypatch, finished_run):
    window = make_window()
    window.resize(1366, 768)
    assert window.perspectives.current == "build"
    monkeypatch.setattr(runs_panel_module, "choose_run_dir", lambda parent: str(finished_run))
    action = window.docks["runsDock"].open_run_action
    assert action in window.menus["file"].actions()
    action.trigger()
    panel = window.docks["runsDock"].widget()
    assert window.perspectives.current == "train" and panel.isVisible() and panel.run_path == finished_run
    qtbot.waitUntil(lambda: panel.checkpoints.view.displayed() is not None, timeout=10_000)
    for page in (panel.curves, panel.checkpoints, panel.diff):
        panel.tabs.setCurrentWidget(page)
        qtbot.waitUntil(page.isVisible)
        for label in page.findChildren(QLabel):
            if label.isVisible() and label.text() and not label.wordWrap() and "<" not in label.text():
                assert label.width() >= label.fontMetrics().horizontalAdvance(label.text()), label.text()
    for bar in window.findChildren(QTabBar):
        if bar.isVisible():
            for i in range(bar.count()):
                assert bar.tabRect(i).width() >= bar.fontMetrics().horizontalAdvance(bar.tabText(i)), bar.tabText(i)
