"""A live run's newest checkpoint is shown as soon as it lands: the run's folders are watched (no waiting
for the next poll), the picture goes before waiting work, and a large tensor's picture comes before
its statistics."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QWidget
from safetensors.torch import save_file

from ui.panels.runs import panel as runs_panel_module
from ui.panels.runs import RunsPanel
from ui.panels.runs.jobs import Jobs
from ui.panels.runs.tensor_view import TensorView, picture


def land(folder, step: int, tensors: dict) -> None:
    """Write a checkpoint as the trainer does: a temporary name in the same folder, then a rename."""
    temp = folder / f".step-{step:06d}.safetensors.netstudio-0badc0de.tmp"
    save_file(tensors, str(temp))
    os.replace(temp, folder / f"step-{step:06d}.safetensors")


@pytest.fixture
def slow_polls(monkeypatch):
    """A poll timer that never fires during a test: only the folder watch can notice a new file."""
    monkeypatch.setattr(runs_panel_module, "POLL_MS", 600_000)


def test_a_checkpoint_renamed_into_place_is_shown_without_waiting_for_a_poll(
        qtbot, make_controller, show_widget, tmp_path, slow_polls):
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    land(folder, 1, {"w": torch.zeros(8, 8)})
    panel = show_widget(RunsPanel(make_controller("mlp")), (1000, 560))
    assert panel.open_run(tmp_path / "run")
    view = panel.checkpoints.view
    qtbot.waitUntil(lambda: view.displayed() is not None, timeout=10_000)
    landed = time.perf_counter()
    land(folder, 2, {"w": torch.full((8, 8), 2.0)})
    qtbot.waitUntil(lambda: view.displayed() is not None and view.displayed()[0, 0] == 2.0, timeout=5_000)
    assert time.perf_counter() - landed < 5 and panel.checkpoints.step_label.text() == "step 2"


def test_a_run_that_creates_its_folders_later_is_watched_too(qtbot, make_controller, show_widget, tmp_path,
                                                            slow_polls):
    run = tmp_path / "run"
    run.mkdir()
    panel = show_widget(RunsPanel(make_controller("mlp")), (1000, 560))
    assert panel.open_run(run, waiting=True)
    (run / "checkpoints").mkdir()
    qtbot.waitUntil(lambda: str(run / "checkpoints") in panel._watcher.directories(), timeout=5_000)
    land(run / "checkpoints", 3, {"w": torch.ones(4, 4)})
    qtbot.waitUntil(lambda: panel.checkpoints.step_label.text() == "step 3", timeout=5_000)
    qtbot.waitUntil(lambda: panel.checkpoints.view.displayed() is not None, timeout=10_000)


def test_a_large_tensor_shows_its_picture_then_its_statistics(qtbot, show_widget):
    jobs = Jobs(None)
    view = show_widget(TensorView("v", None, jobs))
    big = torch.randn(1100, 1000)   # over LARGE_NUMEL
    big[5, 7] = 42.0
    shown = picture("big", big)
    assert shown.stats is None and shown.pending is not None
    with qtbot.waitSignal(view.shown):
        view.show_picture(shown)
    assert view.stats_text() == "computing…" and view.displayed() is not None
    with qtbot.waitSignal(view.stats_shown, timeout=10_000):
        pass
    assert "max: 42" in view.stats_text() and f"min: {big.min().item():.6g}" in view.stats_text()
    jobs.wait()


def test_late_statistics_of_an_earlier_picture_are_dropped(qtbot, show_widget):
    jobs = Jobs(None)
    view = show_widget(TensorView("v", None, jobs))
    release = threading.Event()
    jobs.start("busy", lambda: release.wait(10), lambda *_: None)   # the big one's statistics wait behind it
    view.show_picture(picture("big", torch.full((1100, 1000), 7.0)))
    qtbot.wait(100)                                                    # ... once they were asked for
    small = torch.arange(12.0).reshape(3, 4)
    view.show_picture(picture("small", small))
    assert "max: 11" in view.stats_text()
    release.set()
    jobs.wait()
    qtbot.wait(50)
    assert "max: 11" in view.stats_text() and np.array_equal(view.displayed(), small.numpy())


def test_waiting_work_runs_by_priority(qtbot):
    owner = QWidget()
    jobs = Jobs(owner)
    release, order = threading.Event(), []
    jobs.start("block", lambda: release.wait(10), lambda *_: None)
    jobs.start("diff", lambda: order.append("diff"), lambda *_: None)
    jobs.start("checkpoint", lambda: order.append("checkpoint"), lambda *_: None, priority=1)
    release.set()
    jobs.wait()
    assert order == ["checkpoint", "diff"]
    owner.deleteLater()
