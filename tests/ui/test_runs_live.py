"""The Runs view follows a run while it is written: new metric lines and new checkpoints show up, and
Train… runs ``netstudio train`` in a child process that Cancel stops cleanly."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from safetensors.torch import load_file

from ui.panels.runs import RunsPanel, train_dialog
from ui.panels.runs.train_process import TrainRequest

from .runs_helpers import write_run


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("runs"))


def test_a_run_being_written_is_followed(qtbot, make_controller, show_widget, finished_run, tmp_path):
    live = tmp_path / "live"
    (live / "checkpoints").mkdir(parents=True)
    shutil.copy(finished_run / "run.json", live)
    panel = show_widget(RunsPanel(make_controller("mlp")), (1000, 560))
    assert panel.open_run(live)
    page = panel.checkpoints
    assert page.view.message() == "No checkpoint saved yet." and panel.diff.table.rowCount() == 0
    lines = (finished_run / "metrics.jsonl").read_text().splitlines(keepends=True)
    with open(live / "metrics.jsonl", "w") as f:
        f.writelines(lines[:2])
    shutil.copy(finished_run / "checkpoints" / "step-000002.safetensors", live / "checkpoints")
    qtbot.waitUntil(lambda: page.view.displayed() is not None, timeout=10_000)
    assert list(panel.curves.loss_curve.getOriginalDataset()[0]) == [1, 2]
    assert page.step_label.text() == "step 2"
    with open(live / "metrics.jsonl", "a") as f:
        f.writelines(lines[2:])
    shutil.copy(finished_run / "checkpoints" / "step-000004.safetensors", live / "checkpoints")
    shutil.copy(finished_run / "final.safetensors", live)
    qtbot.waitUntil(lambda: page.step_label.text() == "final", timeout=10_000)   # at the newest, it follows
    qtbot.waitUntil(lambda: panel.diff.table.rowCount() == 4, timeout=10_000)
    assert list(panel.curves.loss_curve.getOriginalDataset()[0]) == list(range(1, 7))
    assert (panel.diff.a_combo.currentText(), panel.diff.b_combo.currentText()) == ("step 2", "final")
    final = load_file(str(finished_run / "final.safetensors"))[page.tensor_combo.currentText()]
    qtbot.waitUntil(lambda: page.view.displayed() is not None and "final" in page.view.title.text())
    assert np.array_equal(page.view.displayed(), final.numpy().reshape(page.view.displayed().shape))


def start_endless_run(make_window, monkeypatch, run, finished_run):
    """A window on the finished run's project, with Train… started for (practically) ever into ``run``."""
    project, data = finished_run.parent / "mlp.netstudio", finished_run.parent / "data.safetensors"
    window = make_window(project)
    panel = window.docks["runsDock"].widget()
    monkeypatch.setattr(train_dialog, "ask_train_request", lambda parent, path: TrainRequest(
        path, data, run, steps=10_000_000, batch_size=8, lr=0.01, save_every=20))
    assert panel.train()
    return window, panel


def test_train_runs_netstudio_train_and_cancel_stops_it_cleanly(qtbot, make_window, monkeypatch, tmp_path,
                                                                 finished_run):
    run = tmp_path / "trained"
    _, panel = start_endless_run(make_window, monkeypatch, run, finished_run)
    assert not panel.train_action.isEnabled() and panel.cancel_action.isEnabled()
    # two checkpoints in, and the curve followed (a checkpoint can land a poll before its metrics lines)
    def steps_drawn() -> int:
        xs = panel.curves.loss_curve.getOriginalDataset()[0]
        return 0 if xs is None else len(xs)
    qtbot.waitUntil(lambda: panel.checkpoints.slider.maximum() >= 1 and steps_drawn() >= 40, timeout=60_000)
    with qtbot.waitSignal(panel.trainer.ended, timeout=20_000) as ended:
        panel.cancel_action.trigger()
    assert ended.args == ["Training cancelled; the checkpoints saved so far are kept."]
    assert panel.status.text() == ended.args[0] and panel.train_action.isEnabled()
    left = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert all(name.startswith("step-") and name.endswith((".safetensors", ".state.pt")) for name in left)
    for name in left:
        if name.endswith(".safetensors"):
            assert set(load_file(str(run / "checkpoints" / name))) == {"0.weight", "0.bias", "2.weight", "2.bias"}


def test_train_asks_for_a_saved_project(make_window, monkeypatch):
    window = make_window()
    panel = window.docks["runsDock"].widget()
    monkeypatch.setattr(train_dialog, "ask_train_request", lambda *a: pytest.fail("asked"))
    assert not panel.train()
    assert panel.status.text() == "Save the project first: training reads it from its file."


def test_a_failed_run_is_one_sentence(qtbot, make_window, monkeypatch, tmp_path, finished_run):
    window = make_window(finished_run.parent / "mlp.netstudio")
    panel = window.docks["runsDock"].widget()
    monkeypatch.setattr(train_dialog, "ask_train_request", lambda parent, path: TrainRequest(
        path, tmp_path / "no-such-data.safetensors", tmp_path / "run", steps=5, batch_size=8, lr=0.01, save_every=2))
    with qtbot.waitSignal(panel.trainer.ended, timeout=60_000) as ended:
        assert panel.train()
    sentence = ended.args[0]
    assert "no-such-data.safetensors" in sentence and sentence.endswith(".") and "\n" not in sentence
    assert panel.status.text() == sentence and panel.train_action.isEnabled()


def test_closing_during_a_training_run_asks_and_stops_it_cleanly(qtbot, make_window, monkeypatch, tmp_path,
                                                                  finished_run):
    from ui.shell import prompts
    run = tmp_path / "trained"
    window, panel = start_endless_run(make_window, monkeypatch, run, finished_run)
    qtbot.waitUntil(lambda: (run / "checkpoints").is_dir() and any((run / "checkpoints").iterdir()), timeout=60_000)
    answers = []
    monkeypatch.setattr(prompts, "ask_stop_training", lambda parent: answers.append("asked") or False)
    assert not window.close()                                      # "Keep NetStudio open"
    assert answers == ["asked"] and window.isVisible() and panel.trainer.running
    monkeypatch.setattr(prompts, "ask_stop_training", lambda parent: True)
    endings = []
    panel.trainer.ended.connect(endings.append)
    assert window.close()
    assert not panel.trainer.running
    assert endings == ["Training cancelled; the checkpoints saved so far are kept."]   # Ctrl+C, not a kill
