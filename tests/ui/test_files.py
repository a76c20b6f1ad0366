"""Files: save and open, the modified mark, closing, revert, recent files, dropped files,
bad files, crash recovery, trusting code, and the exception hook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QPushButton

from netstudio.serialization import load_project
from ui.shell import prompts
from ui.shell.autosave import SUFFIX as RECOVERY_SUFFIX
from ui.shell.autosave import recovery_dir
from ui.document.commands import SetParam
from ui.shell.exception_hook import ExceptionHook

ROOT = Path(__file__).resolve().parents[2]


def edit(window, out_features=99):
    """One undoable change to the first Linear."""
    doc = window.controller.document
    linear = next(n for n in doc.project.root_definition.nodes.values() if n.type == "Linear")
    window.controller.push(SetParam(doc, "main", linear.id, "out_features", out_features))
    return linear


@pytest.fixture
def project_file(tmp_path, examples_dir):
    path = tmp_path / "work" / "tied.netstudio"
    path.parent.mkdir()
    shutil.copy(examples_dir / "tied.netstudio", path)
    return path


def test_save_then_open_gives_an_equal_graph(make_window, tmp_path, monkeypatch):
    window = make_window()
    edit(window)
    target = tmp_path / "saved"
    monkeypatch.setattr(prompts, "choose_save_path", lambda parent, suggested: str(target))
    assert window.files.actions["save"].isEnabled()
    window.files.actions["save"].trigger()  # not saved yet: Save asks where
    saved = target.with_name("saved.netstudio")
    assert saved.is_file() and window.controller.path == saved
    expected = window.controller.document.project.to_dict()
    window.close()
    assert load_project(saved).to_dict() == expected
    assert make_window(saved).controller.document.project.to_dict() == expected


def test_title_and_modified_mark(make_window, project_file):
    window = make_window(project_file)
    assert window.windowTitle() == "tied.netstudio[*] — NetStudio" and not window.isWindowModified()
    edit(window)
    assert window.isWindowModified()
    window.files.save()  # has a path: no question
    assert not window.isWindowModified()
    assert load_project(project_file).to_dict() == window.controller.document.project.to_dict()
    assert project_file.with_name("tied.netstudio.bak").is_file()  # the previous version is kept
    window.controller.undo_stack.undo()
    assert window.isWindowModified()


def test_closing_with_unsaved_changes_asks(make_window, project_file, monkeypatch):
    window = make_window(project_file)
    edit(window, 77)
    asked = []
    answer = prompts.CANCEL
    monkeypatch.setattr(prompts, "ask_save_changes", lambda parent, name: asked.append(name) or answer)
    assert not window.close() and window.isVisible()
    assert asked == ["tied.netstudio"]
    answer = prompts.SAVE
    assert window.close()
    assert load_project(project_file).to_dict() == window.controller.document.project.to_dict()


def test_discarding_on_close_leaves_the_file_alone(make_window, project_file, monkeypatch):
    before = project_file.read_bytes()
    window = make_window(project_file)
    edit(window)
    monkeypatch.setattr(prompts, "ask_save_changes", lambda parent, name: prompts.DISCARD)
    assert window.close()
    assert project_file.read_bytes() == before


def test_revert_reloads_the_file(make_window, project_file, monkeypatch):
    window = make_window(project_file)
    original = window.controller.document.project.to_dict()
    assert not window.files.actions["revert"].isEnabled()
    edit(window)
    assert window.files.actions["revert"].isEnabled()
    monkeypatch.setattr(prompts, "confirm_revert", lambda parent, name: True)
    window.files.actions["revert"].trigger()
    assert window.controller.document.project.to_dict() == original
    assert window.controller.undo_stack.count() == 0 and not window.isWindowModified()


def test_recent_files_are_listed_kept_and_reopened(make_window, project_file, examples_dir, monkeypatch):
    window = make_window(project_file)
    menu = window.files.recent_menu
    menu.aboutToShow.emit()
    assert menu.actions()[0].text() == "&1 tied.netstudio" and menu.actions()[0].toolTip() == str(project_file)
    window.files.open_path(examples_dir / "mlp.netstudio")  # examples are not "recent"
    window.close()
    again = make_window()  # no project given: the most recent one
    assert again.controller.path == project_file
    again.files.new()
    assert again.controller.path is None
    again.files.recent_menu.actions()[0].trigger()
    assert again.controller.path == project_file


def test_dropping_a_project_file_on_the_window_opens_it(make_window, project_file, qtbot):
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(project_file))])
    for target in (window.canvas.view.viewport(), window.block_palette.tree.viewport()):
        window.files.new()
        pos = QPointF(target.rect().center())
        args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        enter = QDragEnterEvent(pos.toPoint(), *args)
        QApplication.sendEvent(target, enter)  # not taken there: it goes up to the window
        assert enter.isAccepted()
        drop = QDropEvent(pos, *args)
        QApplication.sendEvent(target, drop)
        assert drop.isAccepted()
        qtbot.waitUntil(lambda: window.controller.path == project_file)
    other = QMimeData()
    other.setText("not a project")
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, other, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.block_palette.tree.viewport(), enter)
    assert not enter.isAccepted()


def test_a_corrupt_file_shows_one_sentence_and_keeps_the_document(make_window, tmp_path, open_dialogs):
    window = make_window()
    before = window.controller.document.project.to_dict()
    bad = tmp_path / "bad.netstudio"
    bad.write_text('{"format": "netstudio-project", "version": 1, "root": "main", "definitions": {"main": 3}}')
    assert not window.files.open_path(bad)
    assert window.controller.document.project.to_dict() == before and window.files.example is not None
    [dialog] = open_dialogs("errorDialog")
    text = dialog.text()
    assert text.startswith("bad.netstudio is not a valid project:") and text.endswith(".")
    assert text.count(". ") == 0  # one sentence
    assert "$.definitions.main" in dialog.detailedText()
    dialog.close()
    (tmp_path / "binary.netstudio").write_bytes(b"\x00\xff\x00")
    assert not window.files.open_path(tmp_path / "binary.netstudio")
    [dialog] = open_dialogs("errorDialog")
    assert dialog.text() == "binary.netstudio cannot be opened: it is not a NetStudio project (not text)."
    dialog.close()


def test_a_failed_save_shows_why_and_stays_modified(make_window, tmp_path, monkeypatch, open_dialogs):
    window = make_window()
    edit(window)
    monkeypatch.setattr(prompts, "choose_save_path", lambda parent, s: str(tmp_path / "missing" / "x.netstudio"))
    assert not window.files.save()
    [dialog] = open_dialogs("errorDialog")
    assert dialog.text().startswith("Could not save 'x.netstudio'")
    dialog.close()
    assert window.isWindowModified() and window.controller.path is None


CRASHING_SESSION = textwrap.dedent("""
    import os, signal, sys
    from PySide6.QtCore import QSettings
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[1])
    from ui import create_window
    from ui.document.commands import SetParam
    window = create_window()
    doc = window.controller.document
    linear = next(n for n in doc.project.root_definition.nodes.values() if n.type == "Linear")
    window.controller.push(SetParam(doc, "main", linear.id, "out_features", 123))
    window.files.autosaver.set_interval(20)
    window.files.autosaver.timer.timeout.connect(lambda: os.kill(os.getpid(), signal.SIGKILL))
    window.show()
    from PySide6.QtWidgets import QApplication, QPushButton
    QApplication.instance().exec()
""")


def test_recovery_after_a_crash(make_window, isolated_state, monkeypatch):
    """A separate process edits, autosaves and is killed (-9); the next window offers its work."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run = subprocess.run([sys.executable, "-c", CRASHING_SESSION, str(isolated_state / "settings")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == -9, run.stderr
    [left] = list(recovery_dir().glob(f"*{RECOVERY_SUFFIX}"))
    offers = []
    monkeypatch.setattr(prompts, "ask_recover", lambda parent, text: offers.append(text) or prompts.RECOVER)
    window = make_window()
    assert len(offers) == 1 and "mlp.netstudio (example)" in offers[0]
    linear = next(n for n in window.controller.document.project.root_definition.nodes.values() if n.type == "Linear")
    assert linear.params["out_features"] == 123
    assert window.isWindowModified() and window.controller.path is None
    assert not left.exists()  # taken over: this window autosaves to its own file now
    assert window.files.autosaver.path.is_file()


def test_autosave_while_modified_and_a_clean_exit_leaves_nothing(make_window, qtbot, monkeypatch):
    window = make_window()
    autosaver = window.files.autosaver
    autosaver.set_interval(10)
    assert not autosaver.timer.isActive()
    edit(window, 55)
    qtbot.waitUntil(autosaver.path.is_file)
    record = json.loads(autosaver.path.read_text())
    assert record["original"] is None and record["label"] == "mlp.netstudio (example)"
    window.controller.undo_stack.undo()  # back to the saved state: nothing to recover
    assert not autosaver.path.exists() and not autosaver.timer.isActive()
    edit(window, 56)
    qtbot.waitUntil(autosaver.path.is_file)
    monkeypatch.setattr(prompts, "ask_save_changes", lambda parent, name: prompts.DISCARD)
    assert window.close()
    assert list(recovery_dir().iterdir()) == []


def test_declining_recovery_discards_the_file(make_window, monkeypatch):
    window = make_window()
    edit(window, 42)
    window.files.autosaver.save_now()
    left = window.files.autosaver.path
    window.files.autosaver.lock.unlock()  # as if its process had died
    monkeypatch.setattr(prompts, "ask_recover", lambda parent, text: prompts.DISCARD)
    second = make_window()
    assert not left.exists()
    assert second.controller.document.project.name == "mlp" and not second.isWindowModified()


@pytest.fixture
def centered(tmp_path, examples_dir):
    path = tmp_path / "centered.netstudio"
    shutil.copy(examples_dir / "centered.netstudio", path)
    return path


def test_refusing_to_trust_disables_code_blocks_until_trusted(make_window, centered, monkeypatch):
    asked = []
    monkeypatch.setattr(prompts, "ask_trust", lambda parent, names: asked.append(names) or False)
    window = make_window(centered)
    assert asked == [["CenteredLayer"]]
    result = window.controller.result
    assert not window.controller.document.project.trusted and not result.ok
    assert [d.message for d in result.diagnostics] == [
        "code block CenteredLayer is disabled because the project is not trusted"]
    assert window.trust_bar.isVisible() and window.files.actions["trust"].isEnabled()
    window.trust_bar.findChild(QPushButton, "trustButton").click()
    assert window.controller.wait_for_check().ok
    assert not window.trust_bar.isVisible() and not window.isWindowModified()


def test_accepting_trust_runs_the_code(make_window, centered, monkeypatch):
    monkeypatch.setattr(prompts, "ask_trust", lambda parent, names: True)
    window = make_window(centered)
    assert window.controller.document.project.trusted and window.controller.result.ok
    assert not window.trust_bar.isVisible()


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_is_logged_shown_and_survived(make_window, qtbot, isolated_state, open_dialogs):
    window = make_window()
    log = isolated_state / "appdata" / "netstudio.log"
    hook = ExceptionHook(log).install()
    try:
        def broken_slot():
            raise ZeroDivisionError("boom in a slot")
        QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: bool(open_dialogs("exceptionDialog")))
        [dialog] = open_dialogs("exceptionDialog")
        assert dialog.text() == "Something went wrong: ZeroDivisionError: boom in a slot"
        assert "broken_slot" in dialog.detailedText()
        dialog.close()

        worker = threading.Thread(target=lambda: 1 / 0, name="worker")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: bool(open_dialogs("exceptionDialog")))
        open_dialogs("exceptionDialog")[0].close()
    finally:
        hook.uninstall()
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "broken_slot" in text
    assert "in thread worker" in text
    assert window.isVisible()
    linear = edit(window, 12)  # the window still works
    assert linear.params["out_features"] == 12 and window.isWindowModified()


def test_trained_weights_are_saved_in_the_project_and_come_back(make_window, tmp_path, examples_dir):
    import zipfile

    import torch

    from netstudio.run import make_regression
    window = make_window(examples_dir / "param_access.netstudio", panels=False)
    session = window.controller.session
    session.run_training(make_regression(4, 1, n_samples=32, seed=3), steps=5, batch_size=8)
    trained = {k: v.clone() for k, v in session.ensure_built().state_dict().items()}
    path = tmp_path / "trained.netstudio"
    assert window.files.write(path)
    assert zipfile.is_zipfile(path)
    again = make_window(path, panels=False)
    got = again.controller.session.ensure_built().state_dict()
    assert set(got) == set(trained) and all(torch.equal(got[k], trained[k]) for k in trained)
    # Opening another project keeps nothing of the trained network.
    again.files.load(examples_dir / "param_access.netstudio")
    fresh = again.controller.session.ensure_built()
    again.controller.session.run_forward()
    assert not torch.equal(fresh[0].weight, trained["0.weight"])


def test_training_is_unsaved_work_and_its_weights_are_recovered(make_window, qtbot, monkeypatch, examples_dir):
    import torch

    from netstudio.run import make_regression
    window = make_window(examples_dir / "param_access.netstudio", panels=False)
    assert not window.controller.modified
    window.controller.session.run_training(make_regression(4, 1, n_samples=32, seed=4), steps=4, batch_size=8)
    qtbot.waitUntil(lambda: window.controller.modified)     # no undo command made it, yet it is unsaved
    assert window.isWindowModified()
    trained = {k: v.clone() for k, v in window.controller.session.ensure_built().state_dict().items()}
    autosaver = window.files.autosaver
    autosaver.save_now()
    assert autosaver.weights_path.is_file()
    autosaver.lock.unlock()                                   # as if its process had died
    monkeypatch.setattr(prompts, "ask_recover", lambda parent, text: prompts.RECOVER)
    second = make_window(panels=False)
    got = second.controller.session.ensure_built().state_dict()
    assert all(torch.equal(got[k], trained[k]) for k in trained)
    assert second.controller.modified
    # Closing the first window now asks, since its trained weights were never saved.
    asked = []
    monkeypatch.setattr(prompts, "ask_save_changes", lambda parent, name: asked.append(name) or prompts.DISCARD)
    assert window.close() and asked
