"""The run panel trains on dataset files of any rank and on the bundled shapes, with the live loss curve
and heatmap, and says in one sentence beside the choice why a file cannot be trained on."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QPushButton

from netstudio.files.tensor_io import save_tensors
from netstudio.graph import Document, Project
from netstudio.run.shapes_dataset import make_shapes
from tests.ui.test_panel_run import choose, press, type_number
from ui.panels.heatmap import HeatmapPanel
from ui.panels.heatmap import panel as heatmap
from ui.panels.param_tree import network_ref
from ui.panels.run_panel import RunPanel, train_box
from ui.panels.run_panel import panel as run_panel


@pytest.fixture(autouse=True)
def no_remembered_dataset(monkeypatch):
    """Each test starts as the app does: no dataset file chosen yet."""
    monkeypatch.setitem(train_box.remembered, "path", "")


@pytest.fixture
def make_panel(make_run_panel):
    return lambda example="mlp", size=(1100, 520): make_run_panel(example, size)


def pick_file(qtbot, monkeypatch, panel: RunPanel, path) -> None:
    """Choose "Dataset file…", then the file, through the browse button beside the path."""
    monkeypatch.setattr(run_panel, "choose_dataset_file", lambda parent, start: str(path))
    choose(panel.task_combo, "file")
    assert panel.data_file_row.isVisible() and panel.loss_combo.isVisible()
    qtbot.mouseClick(panel.data_file_row.findChild(QPushButton), Qt.MouseButton.LeftButton)
    assert panel.data_path.text() == str(path)


def set_steps(qtbot, panel: RunPanel, steps: int, batch: int) -> None:
    type_number(qtbot, panel.steps_spin, str(steps))
    type_number(qtbot, panel.batch_spin, str(batch))


def is_error(label) -> bool:
    return label.isVisible() and "#d93025" in label.styleSheet()


def test_lenet_learns_the_bundled_shapes_with_a_live_curve_and_heatmap(qtbot, make_controller, show_widget,
                                                                        monkeypatch):
    """Open the example, press Train: the bundled shapes are already chosen, and the loss falls."""
    monkeypatch.setattr(heatmap, "FRAME_MS", 0)
    controller = make_controller("lenet", trusted=False)
    panel = show_widget(RunPanel(controller), (1100, 520))
    view = show_widget(HeatmapPanel(controller), (500, 400))
    session = controller.session
    controller.tensor_selected.emit(network_ref(session, "0.weight"))
    qtbot.waitUntil(lambda: view.displayed() is not None)
    before = np.array(view.displayed(), copy=True)
    frames = []   # the heatmap's pictures that arrived while the run was going on
    view._posts.frame.connect(lambda frame: frames.append(frame) if panel.busy else None)
    assert panel.task_combo.currentData() == "shapes" and panel.loss_combo.currentData() == "cross_entropy"
    assert panel.data_note.text() == "1,200 samples: x (1, 28, 28) float16, y () int64, 4 classes."
    assert not is_error(panel.data_note) and not panel.data_file_row.isVisible()
    press(qtbot, panel, panel.train_button)          # the defaults: SGD, lr 0.01, 30 steps of 32
    assert panel.status.text().startswith("Trained 30 steps: loss "), panel.status.text()
    xs, ys = panel.loss_curve.getData()
    assert list(xs) == list(range(1, 31))
    assert np.mean(ys[-5:]) < 0.9 * np.mean(ys[:5]), ys
    weight = dict(session.ensure_built().named_parameters())["0.weight"].detach().numpy()   # (6, 1, 5, 5)
    final = weight.transpose(0, 2, 1, 3).reshape(30, 5)   # the heatmap's grid: kernel (o, i) at tile (o, i)
    qtbot.waitUntil(lambda: np.allclose(view.displayed(), final))
    assert not np.allclose(before, final) and len(frames) >= 3   # the heatmap followed the run, live


@pytest.mark.parametrize("example, tensors, loss, note", [
    ("mlp", lambda g: {"x": torch.randn(64, 20, generator=g), "y": torch.randint(0, 10, (64,), generator=g)},
     "cross_entropy", "64 samples: x (20,) float32, y () int64, 10 classes."),
    ("mlp", lambda g: {"x": torch.randn(64, 20, generator=g), "y": torch.randn(64, 10, generator=g)},
     "mse", "64 samples: x (20,) float32, y (10,) float32."),
    ("lenet", lambda g: dict(zip("xy", make_shapes(48, seed=1))),
     "cross_entropy", "48 samples: x (1, 28, 28) float32, y () int64, 4 classes."),
], ids=["vectors-classes", "vectors-values", "images"])
def test_a_dataset_file_of_any_rank_trains(qtbot, tmp_path, monkeypatch, make_panel, example, tensors, loss, note):
    panel = make_panel(example)
    path = tmp_path / "data.safetensors"
    save_tensors(tensors(torch.Generator().manual_seed(0)), path)
    pick_file(qtbot, monkeypatch, panel, path)
    assert panel.loss_combo.currentData() == loss   # from the type of 'y'
    assert panel.data_note.text() == note and not is_error(panel.data_note)
    before = {k: v.detach().clone() for k, v in panel.session.ensure_built().state_dict().items()}
    set_steps(qtbot, panel, 8, 16)
    press(qtbot, panel, panel.train_button)
    assert panel.status.text().startswith("Trained 8 steps: loss "), panel.status.text()
    assert len(panel.loss_curve.getData()[0]) == 8
    after = panel.session.ensure_built().state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def token_project() -> Project:
    """Token sequences: int64 (batch, 5) indices -> Embedding -> Flatten -> Linear to 3 classes."""
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="sequential", class_name="Sequential")
    d = doc.definition("main")
    doc.set_param("main", d.inputs[0].id, "shape", [2, 5])
    doc.set_param("main", d.inputs[0].id, "dtype", "int64")
    for e in list(d.edges):
        doc.disconnect("main", e)
    prev = d.inputs[0].id
    for type_, params in (("Embedding", {"num_embeddings": 20, "embedding_dim": 4}), ("Flatten", {}),
                          ("Linear", {"in_features": 20, "out_features": 3})):
        node = doc.add_node("main", type_, None, params)
        doc.connect("main", prev, "out", node.id, "in")
        prev = node.id
    doc.connect("main", prev, "out", d.outputs[0].id, "in")
    return doc.project


def test_token_sequences_train(qtbot, tmp_path, monkeypatch, make_panel):
    panel = make_panel(token_project())
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 20, (40, 5), generator=g)
    path = tmp_path / "tokens.pt"
    torch.save({"x": tokens, "y": tokens[:, 0] % 3}, path)
    pick_file(qtbot, monkeypatch, panel, path)
    assert panel.data_note.text() == "40 samples: x (5,) int64, y () int64, 3 classes."
    set_steps(qtbot, panel, 6, 8)
    press(qtbot, panel, panel.train_button)
    assert panel.status.text().startswith("Trained 6 steps"), panel.status.text()


def test_the_chosen_loss_must_fit_the_targets(qtbot, tmp_path, monkeypatch, make_panel):
    panel = make_panel("mlp")
    path = tmp_path / "labels.safetensors"
    save_tensors({"x": torch.zeros(8, 20), "y": torch.zeros(8, dtype=torch.int64)}, path)
    pick_file(qtbot, monkeypatch, panel, path)
    choose(panel.loss_combo, "mse")
    assert is_error(panel.data_note)
    assert panel.data_note.text() == "The target has shape (2,) but the output has shape (2, 10)."
    choose(panel.loss_combo, "cross_entropy")
    assert not is_error(panel.data_note) and panel.data_note.text().endswith("10 classes.")


def test_the_last_dataset_file_is_remembered_while_the_app_runs(qtbot, tmp_path, monkeypatch, make_panel):
    path = tmp_path / "data.safetensors"
    save_tensors({"x": torch.zeros(4, 20), "y": torch.zeros(4, dtype=torch.int64)}, path)
    pick_file(qtbot, monkeypatch, make_panel("mlp"), path)
    other = make_panel("mlp")
    assert other.data_path.text() == str(path)
    choose(other.task_combo, "file")
    assert other.data_note.text() == "4 samples: x (20,) float32, y () int64, 10 classes."


def test_a_lazy_network_takes_its_sizes_from_the_data(qtbot, tmp_path, monkeypatch, make_panel):
    """param_access's layers are deferred: the file is checked against them when the run starts."""
    panel = make_panel("param_access")
    assert not panel.session.materialized
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=g)
    path = tmp_path / "data.safetensors"
    save_tensors({"x": x, "y": x.sum(dim=1, keepdim=True)}, path)
    pick_file(qtbot, monkeypatch, panel, path)
    assert panel.loss_combo.currentData() == "mse"
    assert panel.data_note.text() == "32 samples: x (4,) float32, y (1,) float32."
    set_steps(qtbot, panel, 5, 8)
    press(qtbot, panel, panel.train_button)
    assert panel.status.text().startswith("Trained 5 steps"), panel.status.text()
    assert panel.session.materialized


def test_the_bundled_shapes_are_chosen_only_for_a_network_made_for_them(make_panel):
    panel = make_panel("mlp")
    assert panel.task_combo.currentData() == "regression" and not panel.data_note.isVisible()
    assert not panel.loss_combo.isVisible() and not panel.data_file_row.isVisible()
    choose(panel.task_combo, "shapes")
    assert is_error(panel.data_note) and "shape (1, 28, 28), which the network cannot take" in panel.data_note.text()
    choose(panel.task_combo, "file")
    assert panel.data_note.text() == "Choose a .safetensors or .pt file holding 'x' and 'y'."


def nan_x() -> dict:
    return {"x": torch.full((16, 20), float("nan")), "y": torch.zeros(16, dtype=torch.int64)}


class Evil:
    def __reduce__(self):
        return (print, ("this would have run",))


HOSTILE = [
    ("no-y", lambda p: save_tensors({"x": torch.zeros(16, 20)}, p),
     "'bad.safetensors' has no tensor 'y'; the data must hold 'x' (inputs) and 'y' (targets)."),
    ("wrong-shape", lambda p: save_tensors({"x": torch.zeros(16, 7), "y": torch.zeros(16, dtype=torch.int64)}, p),
     "'bad.safetensors' holds samples of shape (7,), which the network cannot take (forward pass failed in '0': "
     "mat1 and mat2 shapes cannot be multiplied (2x7 and 20x256))."),
    ("nan-x", lambda p: save_tensors(nan_x(), p),
     "'bad.safetensors' holds NaN or infinite values in 'x' (sample 0); clean the data before training on it."),
    ("not-safetensors", lambda p: p.write_bytes(b"hello world, this is not a tensor file at all"),
     "'bad.safetensors' declares a safetensors header of 7133.8 PB, more than the 95.4 MB the format allows."),
    ("class-out-of-range", lambda p: save_tensors({"x": torch.zeros(16, 20), "y": torch.arange(16)}, p),
     "Class index 10 of sample 10 in 'y' is out of range: the network has 10 classes (0 to 9)."),
    ("counts-differ", lambda p: save_tensors({"x": torch.zeros(16, 20), "y": torch.zeros(15, dtype=torch.int64)}, p),
     "'bad.safetensors' holds 16 samples in 'x' but 15 in 'y'."),
    ("pickled-code", lambda p: torch.save({"x": torch.zeros(4, 20), "y": Evil()}, p.with_suffix(".pt")),
     "'bad.pt' contains pickled Python objects that could run code, so NetStudio will not load it."),
    ("missing", lambda p: None, "'bad.safetensors' does not exist."),
]


@pytest.mark.parametrize("write, message", [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_a_bad_file_is_one_sentence_and_the_panel_keeps_working(qtbot, tmp_path, monkeypatch, make_panel, write,
                                                               message):
    panel = make_panel("mlp")
    path = tmp_path / "bad.safetensors"
    write(path)
    if not path.exists() and path.with_suffix(".pt").exists():
        path = path.with_suffix(".pt")
    pick_file(qtbot, monkeypatch, panel, path)
    assert is_error(panel.data_note) and panel.data_note.text() == message
    assert "\n" not in message and "Traceback" not in message
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)   # refused beside the button, nothing runs
    qtbot.waitUntil(lambda: not panel.busy)
    assert panel.train_error.isVisible() and panel.train_error.text() == message
    assert panel.status.text() == message and panel.train_button.isEnabled()
    choose(panel.task_combo, "regression")            # and the app keeps working
    assert not panel.data_note.isVisible()
    set_steps(qtbot, panel, 5, 8)
    press(qtbot, panel, panel.train_button)
    assert panel.status.text().startswith("Trained 5 steps"), panel.status.text()
    assert not panel.train_error.isVisible()


def test_data_the_network_stops_fitting_is_said_when_it_changes(qtbot, tmp_path, monkeypatch, make_panel):
    """The check runs again when the network is rebuilt: an edit that leaves too few classes is said."""
    panel = make_panel("mlp")
    path = tmp_path / "data.safetensors"
    save_tensors({"x": torch.zeros(8, 20), "y": torch.full((8,), 7)}, path)
    pick_file(qtbot, monkeypatch, panel, path)
    assert not is_error(panel.data_note) and panel.data_note.text().endswith("10 classes.")
    document = panel.controller.document
    last = document.project.root_definition.chain()[-1]   # Linear(256, 10)
    document.set_param("main", last.id, "out_features", 5)
    qtbot.waitUntil(lambda: is_error(panel.data_note))
    assert panel.data_note.text() == ("Class index 7 of sample 0 in 'y' is out of range: the network has 5 classes "
                                      "(0 to 4).")


def test_a_failure_found_when_the_run_starts_is_said_beside_train(qtbot, tmp_path, monkeypatch, make_panel):
    """NaN beyond what is scanned up front stops the run at the batch that draws it, in one sentence."""
    from netstudio.run import dataset
    monkeypatch.setattr(dataset, "SCAN_BYTES", 80 * 4)   # only the first samples are scanned up front
    panel = make_panel("mlp")
    x = torch.zeros(32, 20)
    x[20, 3] = float("inf")
    path = tmp_path / "late.safetensors"
    save_tensors({"x": x, "y": torch.zeros(32, dtype=torch.int64)}, path)
    pick_file(qtbot, monkeypatch, panel, path)
    assert not is_error(panel.data_note)
    set_steps(qtbot, panel, 10, 32)
    press(qtbot, panel, panel.train_button)
    message = ("'late.safetensors' holds NaN or infinite values in 'x' (sample 20); clean the data before training "
               "on it.")
    assert panel.train_error.text() == message and panel.status.text() == message


def test_the_page_measures_itself_again_when_its_columns_change(qtbot, make_panel):
    """The scroll page measures its height only when its size changes; columns rearranged (or rows shown
    or hidden) at the same size must not leave it at a stale height that scrolls a dock that fits."""
    panel = make_panel("mlp", size=(1100, 440))
    scroll = panel.findChild(run_panel.QScrollArea)
    page = scroll.widget()
    # A dock this wide has three columns: Input over Run, Train beside them, then the results.
    train, runs = panel.training.geometry(), panel.runs.geometry()
    assert train.top() == panel.inputs.geometry().top() and runs.right() < train.left() < panel.loss_plot.x()
    fits = page.minimumHeight()
    assert 0 < fits <= scroll.viewport().height() and scroll.verticalScrollBar().maximum() == 0
    across, down = QBoxLayout.Direction.LeftToRight, QBoxLayout.Direction.TopToBottom
    for layout in (panel.columns, panel.controls):   # stacked, as a resize passing through narrow widths leaves it
        layout.setDirection(down)
    qtbot.waitUntil(lambda: page.minimumHeight() > fits + 200)
    for layout in (panel.columns, panel.controls):   # and back, at the same size
        layout.setDirection(across)
    qtbot.waitUntil(lambda: page.minimumHeight() == fits)
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() == 0)
