"""UI test fixtures: isolated settings and app data, no stray prompts, no leaked windows.

Every UI test gets its own QSettings folder and app-data folder (recovery
files, the log), so tests never see each other's (or the user's) state.
Blocking prompts fail the test unless the test replaces them, so no test
ever hangs on a modal dialog.  ``make_window`` creates windows like napari's
``make_napari_viewer`` and closes them at teardown; ``make_controller``,
``show_widget`` and ``open_canvas`` do the same for a controller on an
example, a shown widget, and a canvas.
"""

from __future__ import annotations

import contextlib
import threading

import pytest
import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from netstudio.graph import Document, Project
from netstudio.serialization import load_project
from ui import create_window
from ui.shell import prompts
from ui.document.controller import DocumentController
from ui.shell.settings import DATA_DIR_ENV

PROMPTS = ("ask_save_changes", "confirm_revert", "ask_trust", "ask_recover", "ask_stop_run", "ask_stop_training",
           "choose_open_path", "choose_save_path")


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    """A fresh settings folder and app-data folder for each test."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "appdata"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    return tmp_path


@pytest.fixture(autouse=True)
def no_unexpected_prompts(monkeypatch):
    """A prompt a test did not expect fails it instead of waiting for a click."""
    def unexpected(name):
        def prompt(*args, **kwargs):
            raise AssertionError(f"unexpected prompt {name}{args[1:]}")
        return prompt
    for name in PROMPTS:
        monkeypatch.setattr(prompts, name, unexpected(name))


def visible_top_levels() -> set:
    return {w for w in QApplication.topLevelWidgets() if w.isVisible()}


@pytest.fixture(autouse=True)
def no_leaked_widgets(qapp):
    """Fail a test that leaves a visible top-level widget behind (then close it)."""
    before = visible_top_levels()
    yield
    QApplication.processEvents()
    leaked = visible_top_levels() - before
    for widget in leaked:
        widget.close()
    assert not leaked, f"visible top-level widgets left open: {[type(w).__name__ for w in leaked]}"


@pytest.fixture
def make_window(qtbot):
    """``make_window(project_path=None, show=True, panels=True)`` -> a ready main window, closed at teardown."""
    windows = []

    def make(project_path=None, show: bool = True, panels: bool = True):
        window = create_window(project_path, panels=panels)
        windows.append(window)
        if show:
            window.show()
            qtbot.waitExposed(window)
        window.controller.wait_for_check()
        return window

    yield make
    for window in windows:
        if shiboken6.isValid(window):
            window.controller.wait_for_check()
            window.controller.mark_saved()
            window.close()
            window.deleteLater()
    QApplication.processEvents()


@pytest.fixture
def open_dialogs():
    """``open_dialogs(name)``: the visible dialogs with that objectName (read them, then close them)."""
    def find(name: str) -> list:
        return [w for w in QApplication.topLevelWidgets() if w.objectName() == name and w.isVisible()]
    return find


@pytest.fixture
def make_controller(examples_dir):
    """``make_controller(example, trusted=True, run=False)`` -> a DocumentController on a bundled
    example (a name, or a Project); ``run`` does the seed's first ``net(X)``.  Closed at teardown."""
    controllers = []

    def make(example: str | Project = "mlp", trusted: bool = True, run: bool = False) -> DocumentController:
        project = example if isinstance(example, Project) else \
            load_project(examples_dir / f"{example}.netstudio", trusted=trusted)
        controller = DocumentController(Document(project))
        controllers.append(controller)
        if run:
            controller.session.run_forward()
        return controller

    yield make
    for controller in controllers:
        controller.wait_for_check()
        controller.undo_stack.clear()
        controller.close()


@pytest.fixture
def show_widget(qtbot):
    """``show_widget(widget, size)`` -> the widget, resized, shown and exposed; closed at teardown."""
    def show(widget, size=(800, 600)):
        qtbot.addWidget(widget)
        widget.resize(*size)
        widget.show()
        qtbot.waitExposed(widget)
        return widget
    return show


@pytest.fixture
def open_canvas(make_controller, show_widget):
    """``open_canvas(example="mlp", size=(1300, 700), trusted=True)`` -> a shown CanvasWidget, checked once."""
    from ui.canvas import CanvasWidget

    def make(example: str | Project = "mlp", size=(1300, 700), trusted: bool = True) -> CanvasWidget:
        controller = make_controller(example, trusted=trusted)
        canvas = show_widget(CanvasWidget(controller), size)
        controller.wait_for_check()
        canvas.fit()
        return canvas

    yield make
    # A QMimeData left on the clipboard crashes the offscreen platform at exit.
    QGuiApplication.clipboard().clear()


@pytest.fixture
def panel_maker(make_controller, show_widget):
    """``panel_maker(PanelClass, size)`` -> ``make(example, run=True)``: a shown panel on an untrusted example."""
    def factory(panel_class, size):
        def make(name: str, run: bool = True):
            return show_widget(panel_class(make_controller(name, trusted=False, run=run)), size)
        return make
    return factory


@contextlib.contextmanager
def lock_held_elsewhere(session):
    """Another thread holds ``session.lock`` (as a training run does) until the block ends."""
    held, release = threading.Event(), threading.Event()

    def hold():
        with session.lock:
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        yield
    finally:
        release.set()
        thread.join()


@pytest.fixture
def make_run_panel(make_controller, show_widget):
    """``make_run_panel(example, size)`` -> a shown RunPanel on an untrusted example; its run is
    cancelled and waited for at teardown (no run may outlive its controller)."""
    from ui.panels.run_panel import RunPanel
    panels = []

    def make(example: str, size: tuple[int, int]):
        panel = show_widget(RunPanel(make_controller(example, trusted=False)), size)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.cancel()
        panel.wait()
