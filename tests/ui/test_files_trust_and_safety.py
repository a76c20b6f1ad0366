"""Opening is all or nothing, saving never tears or drops weights, and trust follows the code.

Each test here failed before its fix: a failed Open showed project B under the
path of project A (and Save wrote B over A); trust was kept by path across a
Revert of changed code; Save As kept the old project name; saving during
training blocked the window or wrote a mix of two steps; stored tensors that
fit nowhere were lost at the next save.
"""

from __future__ import annotations

import shutil
import threading
import zipfile

import pytest
import torch
from PySide6.QtCore import QTimer

from netstudio.run import make_regression
from netstudio.serialization import load_project, save_project
from netstudio.serialization.project_file import load_project_file
from ui.shell import prompts
from ui.document.commands import SetParam


@pytest.fixture
def two_projects(tmp_path, examples_dir):
    a, b = tmp_path / "a.netstudio", tmp_path / "b.netstudio"
    shutil.copy(examples_dir / "mlp.netstudio", a)
    shutil.copy(examples_dir / "mlp_block.netstudio", b)
    return a, b


def test_an_open_that_fails_in_a_view_changes_nothing(make_window, two_projects, open_dialogs):
    a, b = two_projects
    window = make_window(a, panels=False)
    controller = window.controller
    before = controller.document.project.to_dict()

    def view_that_fails():
        if controller.document.project.root_definition.kind == "graph":
            raise RuntimeError("a view could not show it")
    controller.document.events.reset.connect(view_that_fails)
    try:
        assert not window.files.open_path(b)
    finally:
        controller.document.events.reset.disconnect(view_that_fails)
    assert controller.path == a.resolve()
    assert controller.document.project.to_dict() == before
    assert window.windowTitle().startswith("a.netstudio")
    (dialog,) = open_dialogs("errorDialog")
    assert dialog.text().startswith("b.netstudio cannot be shown: ")
    dialog.close()
    window.files.save()
    assert load_project(a).to_dict() == before         # Save writes A, not B
    assert controller.session.ensure_built() is not None


def _with_changed_code(path, source_suffix):
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("return X - X.mean()", f"return X - X.mean(){source_suffix}"), encoding="utf-8")


def test_trust_follows_the_code_not_the_path(make_window, tmp_path, examples_dir, monkeypatch):
    path = tmp_path / "centered.netstudio"
    shutil.copy(examples_dir / "centered.netstudio", path)
    asked = []
    monkeypatch.setattr(prompts, "ask_trust", lambda parent, names: asked.append(names) or True)
    window = make_window(path, panels=False)
    assert len(asked) == 1 and window.controller.document.project.trusted
    # The same code again (reopen, revert): no question.
    monkeypatch.setattr(prompts, "confirm_revert", lambda parent, name: True)
    window.files.revert()
    assert len(asked) == 1 and window.controller.document.project.trusted
    # The file changed on disk: revert asks again, and a refusal disables the code.
    _with_changed_code(path, " * 1")
    monkeypatch.setattr(prompts, "ask_trust", lambda parent, names: asked.append(names) or False)
    window.files.revert()
    assert len(asked) == 2 and not window.controller.document.project.trusted
    assert window.controller.wait_for_check().errors


def test_save_as_names_the_project_after_its_file(make_window, tmp_path, monkeypatch, examples_dir):
    window = make_window(examples_dir / "mlp.netstudio", panels=False)
    monkeypatch.setattr(prompts, "choose_save_path", lambda parent, suggested: str(tmp_path / "classifier"))
    assert window.files.save_as()
    assert window.controller.document.project.name == "classifier"
    assert load_project(tmp_path / "classifier.netstudio").name == "classifier"


def test_stored_tensors_that_fit_nowhere_survive_open_and_save(make_window, tmp_path, examples_dir):
    project = load_project(examples_dir / "mlp.netstudio")
    path = tmp_path / "stored.netstudio"
    save_project(project, path, weights={"0.weight": torch.ones(3, 3), "ghost": torch.zeros(2)})
    window = make_window(path, panels=False)
    session = window.controller.session
    assert session.ensure_built() is not None and set(session.unplaced) == {"0.weight", "ghost"}
    problems = [d.message for d in window.problems.diagnostics()]
    assert any("'ghost' (2,) does not fit" in m and "until you discard it" in m for m in problems)
    window.files.write(path)
    stored = load_project_file(path)
    assert set(stored.unplaced) == {"0.weight", "ghost"}
    assert torch.equal(stored.unplaced["0.weight"], torch.ones(3, 3))


def test_saving_during_training_waits_for_the_step_and_keeps_the_window_alive(make_window, tmp_path, qtbot,
                                                                               examples_dir, monkeypatch):
    """A graph edit during training, then Save: the window keeps answering while the save waits for
    the running step, and the file holds the weights of one whole step."""
    window = make_window(examples_dir / "param_access.netstudio", panels=False)
    session = window.controller.session
    release, steps = threading.Event(), []

    def progress(step, loss):
        steps.append({k: v.detach().clone() for k, v in session.ensure_built().state_dict().items()})
        if step == 2:
            release.wait(10)          # a long step: the save must wait for it without freezing
    runner = threading.Thread(target=session.run_training, args=(make_regression(4, 1, n_samples=32, seed=1),),
                              kwargs=dict(steps=3, batch_size=8, progress=progress))
    runner.start()
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=10_000)
    node = next(n for n in window.controller.document.project.root_definition.nodes.values() if n.type == "Output")
    window.controller.document.rename("main", node.id, "result")    # a graph edit during the run
    ticks = []
    timer = QTimer(interval=10, timeout=lambda: ticks.append(1))
    timer.start()
    QTimer.singleShot(300, release.set)
    path = tmp_path / "during.netstudio"
    assert window.files.write(path)
    timer.stop()
    runner.join(10)
    assert len(ticks) >= 10                     # the window kept running its event loop
    assert zipfile.is_zipfile(path)
    saved = load_project_file(path).weights
    whole = [s for s in steps if all(torch.equal(saved[k], v) for k, v in s.items())]
    assert whole, "the saved weights are not those of any one step"


def test_stored_tensors_that_fit_nowhere_are_recovered_after_a_crash(make_window, tmp_path, examples_dir,
                                                                     monkeypatch):
    path = tmp_path / "stored.netstudio"
    save_project(load_project(examples_dir / "mlp.netstudio"), path, weights={"ghost": torch.zeros(2)})
    window = make_window(path, panels=False)
    last = [n for n in window.controller.document.project.root_definition.nodes.values() if n.type == "Linear"][-1]
    window.controller.push(SetParam(window.controller.document, "main", last.id, "out_features", 64))
    window.files.autosaver.save_now()
    window.files.autosaver.lock.unlock()                                # as if its process had died
    monkeypatch.setattr(prompts, "ask_recover", lambda parent, text: prompts.RECOVER)
    second = make_window(panels=False)
    assert second.controller.session.ensure_built() is not None
    assert set(second.controller.session.unplaced) == {"ghost"}


def test_start_up_removes_what_killed_saves_left_beside_recent_projects(make_window, tmp_path, examples_dir):
    path = tmp_path / "recent.netstudio"
    shutil.copy(examples_dir / "mlp.netstudio", path)
    first = make_window(path, panels=False)
    first.close()
    litter = tmp_path / ".recent.netstudio.netstudio-0a1b2c3d.tmp"
    litter.write_bytes(b"\0" * 1024)
    other = tmp_path / ".unrelated.txt.netstudio-0a1b2c3d.tmp"
    other.write_bytes(b"x")
    make_window(panels=False)
    assert not litter.exists() and other.exists()


def training_without_end(make_window, path):
    """``(window, run panel)``: a window on ``path`` training for more steps than any test waits for."""
    window = make_window(path)
    run = window.docks["runPanelDock"].widget()
    run.steps_spin.setValue(1_000_000)
    assert run.train()
    return window, run


def test_opening_during_training_stops_the_run_instead_of_hanging(make_window, two_projects, qtbot, monkeypatch):
    a, b = two_projects
    window, run = training_without_end(make_window, a)
    qtbot.waitUntil(lambda: len(run.losses) > 0, timeout=20_000)
    asked = []
    monkeypatch.setattr(prompts, "ask_stop_run", lambda parent, doing: asked.append(doing) or True)
    monkeypatch.setattr(prompts, "ask_save_changes", lambda parent, name: prompts.DISCARD)   # trained: unsaved
    assert window.files.open_path(b)
    assert asked == ["close this project"] and not window.controller.busy
    assert window.controller.path == b.resolve()
    assert run.last_result is None or run.last_result.cancelled


def test_keeping_the_run_going_keeps_the_project(make_window, two_projects, qtbot, monkeypatch):
    a, b = two_projects
    window, run = training_without_end(make_window, a)
    monkeypatch.setattr(prompts, "ask_stop_run", lambda parent, doing: False)
    assert not window.files.open_path(b)
    assert window.controller.busy and window.controller.path == a.resolve()
    run.cancel()
    assert run.wait(30000)


def test_a_recovery_file_cannot_make_foreign_code_run(make_window, tmp_path, examples_dir, monkeypatch):
    """A recovery record claiming "trusted" for code the user never trusted opens untrusted."""
    import json

    from ui.shell.autosave import FORMAT, SUFFIX, recovery_dir
    data = json.loads((examples_dir / "centered.netstudio").read_text(encoding="utf-8"))
    record = {"format": FORMAT, "version": 1, "saved": 0, "label": "planted", "original": None,
              "trusted": True, "project": data}
    (recovery_dir() / f"planted{SUFFIX}").write_text(json.dumps(record), encoding="utf-8")
    monkeypatch.setattr(prompts, "ask_recover", lambda parent, text: prompts.RECOVER)
    window = make_window(panels=False)
    assert window.controller.document.project.code and not window.controller.document.project.trusted


def test_code_written_in_a_trusted_project_is_trusted_again_after_a_crash(make_window, tmp_path, examples_dir,
                                                                         monkeypatch):
    path = tmp_path / "centered.netstudio"
    shutil.copy(examples_dir / "centered.netstudio", path)
    monkeypatch.setattr(prompts, "ask_trust", lambda parent, names: True)
    window = make_window(path, panels=False)
    doc = window.controller.document
    from ui.document.commands import SetCode
    (name, source), = doc.project.code.items()
    window.controller.push(SetCode(doc, name, source.replace("X - X.mean()", "X - X.mean() * 1.0")))
    window.files.autosaver.save_now()
    window.files.autosaver.lock.unlock()                       # as if its process had died
    monkeypatch.setattr(prompts, "ask_recover", lambda parent, text: prompts.RECOVER)
    second = make_window(panels=False)
    assert second.controller.document.project.trusted
    assert "* 1.0" in next(iter(second.controller.document.project.code.values()))
