"""The Runs view on a finished run: loss and learning-rate curves, a parameter at each checkpoint,
the diff of two checkpoints, and one sentence for whatever cannot be read."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from netstudio.training.diff import diff_checkpoints
from ui.panels.runs import RunsPanel
from ui.panels.runs.metrics_tail import MetricsTail

from .runs_helpers import STEPS, copy_run, write_run


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def runs_panel(make_controller, show_widget):
    return show_widget(RunsPanel(make_controller("mlp")), (1000, 560))


def metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def shown_checkpoint(qtbot, panel, position=None, name=None):
    """Move the slider (and the combo) and wait for the picture."""
    page = panel.checkpoints
    with qtbot.waitSignal(page.view.shown, timeout=10_000):
        if position is not None:
            page.slider.setValue(position)
        if name is not None:
            page.tensor_combo.setCurrentText(name)
    return page.view


def test_curves_are_the_runs_loss_and_learning_rate(qtbot, runs_panel, finished_run):
    assert runs_panel.open_run(finished_run)
    rows = metrics(finished_run)
    x, y = runs_panel.curves.loss_curve.getOriginalDataset()
    assert list(x) == [r["step"] for r in rows] == list(range(1, STEPS + 1))
    assert np.allclose(y, [r["loss"] for r in rows])
    assert np.allclose(runs_panel.curves.lr_curve.getOriginalDataset()[1], 0.01)
    assert not runs_panel.curves.note.isVisible()


def test_bad_metric_lines_are_skipped_counted_and_said_once(qtbot, runs_panel, finished_run, tmp_path):
    run = copy_run(finished_run, tmp_path / "run")
    runs_panel.open_run(run)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 7, "loss": oops}\n[1, 2]\n{"step": 8, "loss": 0.25, "lr": 0.005}\n{"step": 9, "lo')
    with qtbot.waitSignal(runs_panel.polled):
        pass
    x, y = runs_panel.curves.loss_curve.getOriginalDataset()
    assert list(x[-2:]) == [6, 8] and y[-1] == 0.25      # the unfinished last line waits for its newline
    assert runs_panel.curves.lr_curve.getOriginalDataset()[1][-1] == 0.005
    assert runs_panel.curves.note.text() == "2 lines of metrics.jsonl could not be read and were skipped."
    with open(run / "metrics.jsonl", "a") as f:
        f.write('ss": 0.125, "lr": 0.005}\n')
    qtbot.waitUntil(lambda: runs_panel.curves.loss_curve.getOriginalDataset()[0][-1] == 9)
    assert "2 lines" in runs_panel.curves.note.text()


def test_a_rewritten_metrics_file_is_read_again(tmp_path):
    """A resume rewrites metrics.jsonl atomically (a new, shorter file): the curve starts over."""
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(1, 6)))
    tail = MetricsTail(path)
    assert tail.poll() and tail.steps == [1, 2, 3, 4, 5]
    replacement = tmp_path / "new"
    replacement.write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(1, 3)))
    replacement.replace(path)
    assert tail.poll() and tail.steps == [1, 2]


def test_slider_shows_the_chosen_parameter_at_each_checkpoint(qtbot, runs_panel, finished_run):
    runs_panel.open_run(finished_run)
    page = runs_panel.checkpoints
    qtbot.waitUntil(lambda: page.view.displayed() is not None, timeout=10_000)
    assert page.slider.maximum() == 2 and page.slider.value() == 2 and page.step_label.text() == "final"
    names = [page.tensor_combo.itemText(i) for i in range(page.tensor_combo.count())]
    assert names == list(load_file(str(finished_run / "final.safetensors")))
    view = shown_checkpoint(qtbot, runs_panel, name="2.weight")
    assert np.array_equal(view.displayed(), load_file(str(finished_run / "final.safetensors"))["2.weight"].numpy())
    view = shown_checkpoint(qtbot, runs_panel, position=0)
    first = load_file(str(finished_run / "checkpoints" / "step-000002.safetensors"))["2.weight"]
    assert page.step_label.text() == "step 2" and page.tensor_combo.currentText() == "2.weight"
    assert np.array_equal(view.displayed(), first.numpy())
    assert f"min: {first.min().item():.6g}" in view.stats_text()
    assert "step 2" in view.title.text()


def test_diff_lists_tensors_by_relative_change_and_draws_the_change(qtbot, runs_panel, finished_run):
    runs_panel.open_run(finished_run)
    page = runs_panel.diff
    qtbot.waitUntil(lambda: page.table.rowCount() > 0, timeout=10_000)
    assert (page.a_combo.currentText(), page.b_combo.currentText()) == ("step 2", "final")
    with qtbot.waitSignal(page.compared, timeout=10_000):
        page.choose(1, 2)
    a, b = finished_run / "checkpoints" / "step-000004.safetensors", finished_run / "final.safetensors"
    expected = diff_checkpoints(str(a), str(b)).changes
    assert [row[0] for row in page.table_rows()] == [c.name for c in expected]
    assert [float(row[2]) for row in page.table_rows()] == pytest.approx([c.relative for c in expected], rel=1e-5)
    assert page.message.text() == "4 tensors compared."
    with qtbot.waitSignal(page.view.shown, timeout=10_000):
        page.table.setCurrentCell(1, 0)
    name = page.table_rows()[1][0]
    change = load_file(str(b))[name] - load_file(str(a))[name]
    assert np.allclose(page.view.displayed(), change.reshape(page.view.displayed().shape).numpy())
    assert "final − step 4" in page.view.title.text()


def test_diff_lists_missing_and_reshaped_tensors(qtbot, runs_panel, tmp_path):
    run = tmp_path / "odd"
    (run / "checkpoints").mkdir(parents=True)
    save_file({"kept": torch.ones(3), "gone": torch.ones(2), "grown": torch.ones(2, 2)},
              str(run / "checkpoints" / "step-000001.safetensors"))
    save_file({"kept": torch.full((3,), 2.0), "new": torch.ones(1), "grown": torch.ones(3, 3)},
              str(run / "checkpoints" / "step-000002.safetensors"))
    runs_panel.open_run(run)
    page = runs_panel.diff
    qtbot.waitUntil(lambda: page.table.rowCount() == 4, timeout=10_000)
    assert page.table_rows() == [["kept", "(3,)", "1", "‖Δ‖ = 1.73205, ‖w‖ = 1.73205 (w: in step 1)"],
                                 ["gone", "(2,)", "only in step 1", ""],
                                 ["new", "(1,)", "only in step 2", ""],
                                 ["grown", "(2, 2) → (3, 3)", "other shape", ""]]
    assert page.message.text() == "1 tensors compared, 3 not (listed last)."
    with qtbot.waitSignal(page.view.shown):
        page.table.setCurrentCell(2, 0)
    assert page.view.displayed() is None and "same shape" in page.view.message()


@pytest.mark.parametrize("make_bad, sentence", [
    (lambda tmp: tmp / "missing", "is not a folder"),
    (lambda tmp: (tmp / "file.txt").write_text("x") and tmp / "file.txt", "is not a folder"),
    (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "is not a run directory"),
    (lambda tmp: (tmp / "bad").mkdir() or (tmp / "bad" / "run.json").write_text("{nope") and tmp / "bad",
     "is damaged"),
])
def test_a_bad_run_dir_is_one_sentence_in_the_panel(runs_panel, tmp_path, make_bad, sentence):
    assert not runs_panel.open_run(make_bad(tmp_path))
    text = runs_panel.status.text()
    assert sentence in text and text.endswith(".") and "\n" not in text and "Traceback" not in text
    assert runs_panel.run_path is None


def test_a_damaged_checkpoint_is_one_sentence_in_its_view(qtbot, runs_panel, finished_run, tmp_path):
    run = copy_run(finished_run, tmp_path / "run")
    (run / "final.safetensors").write_bytes(b"\xff" * 64)
    runs_panel.open_run(run)
    view = runs_panel.checkpoints.view
    qtbot.waitUntil(lambda: view.message() not in ("", "No checkpoint saved yet."), timeout=10_000)
    assert view.displayed() is None and view.message().endswith(".") and "\n" not in view.message()
    qtbot.waitUntil(lambda: runs_panel.diff.message.text() not in ("", "Comparing…"), timeout=10_000)
    assert runs_panel.diff.message.text().endswith(".") and runs_panel.diff.table.rowCount() == 0
