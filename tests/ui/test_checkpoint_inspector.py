"""The checkpoint inspector: listing files lazily, showing tensors, refusing unsafe files, saving a selection."""

from __future__ import annotations

import pickle
import time
import warnings

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow

from netstudio.files.tensor_io import load_tensors, save_tensors as write_tensors
from ui.document.controller import DocumentController
from ui.panels import checkpoint_inspector, heatmap, param_tree, save_tensors
from ui.panels.checkpoint_inspector import CheckpointInspector
from ui.panels.heatmap import HeatmapPanel
from ui.widgets.menus import window_menu


class Evil:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def controller():
    controller = DocumentController()
    yield controller
    controller.close()


@pytest.fixture
def errors(monkeypatch):
    shown = []
    monkeypatch.setattr(save_tensors, "show_error", lambda parent, message: shown.append(message))
    return shown


@pytest.fixture
def inspector(qtbot, controller, errors):
    panel = CheckpointInspector(controller)
    qtbot.addWidget(panel)
    return panel


@pytest.fixture
def heat(qtbot, controller):
    panel = HeatmapPanel(controller)
    qtbot.addWidget(panel)
    return panel


@pytest.fixture
def state():
    g = torch.Generator().manual_seed(0)
    return {
        "encoder.0.weight": torch.randn(16, 8, generator=g),
        "encoder.0.bias": torch.randn(16, generator=g),
        "encoder.conv.weight": torch.randn(4, 2, 3, 3, generator=g),
        "head.weight": torch.randn(3, 16, generator=g),
        "head.bias": torch.zeros(3),
    }


def test_safetensors_are_listed_and_shown_when_selected(inspector, heat, state, tmp_path, errors):
    path = tmp_path / "model.safetensors"
    write_tensors(state, path)
    assert inspector.objectName() == "checkpointInspector"
    assert inspector.open_file(path)
    assert sorted(inspector.names()) == sorted(state)
    for name in state:
        item = inspector.item_for(name)
        assert item is not None and item.text(1) == str(tuple(state[name].shape))
    assert [inspector.tree.topLevelItem(i).text(0) for i in range(inspector.tree.topLevelItemCount())] == \
        ["encoder", "head"]
    assert inspector.item_for("encoder").text(3) == f"{16 * 8 + 16 + 4 * 2 * 9:,}"
    assert "model.safetensors" in inspector.file_label.text()

    inspector.select(["head.weight"])
    assert heat.ref.name == "head.weight" and heat.ref.source == "model.safetensors"
    np.testing.assert_array_equal(heat.displayed(), state["head.weight"].numpy())
    inspector.select(["encoder.conv.weight"])  # a conv weight: its kernels tiled
    conv = state["encoder.conv.weight"]
    assert heat.displayed().shape == (4 * 3, 2 * 3)
    np.testing.assert_array_equal(heat.displayed()[3:6, 3:6], conv[1, 1].numpy())
    assert errors == []


def test_safetensors_load_only_the_selected_tensor(inspector, state, tmp_path, controller, monkeypatch):
    path = tmp_path / "model.safetensors"
    write_tensors(state, path)
    inspector.open_file(path)
    loaded = []
    for entry in inspector.checkpoint.entries:
        original = entry._loader
        object.__setattr__(entry, "_loader", lambda e=entry, f=original: (loaded.append(e.name), f())[1])
    refs = []
    controller.tensor_selected.connect(refs.append)
    inspector.select(["encoder.0.bias"])
    assert loaded == []                       # selecting emits a reference; the heatmap reads it
    assert torch.equal(refs[-1].value(), state["encoder.0.bias"])
    assert loaded == ["encoder.0.bias"]


def test_pt_files_with_nested_containers(inspector, heat, state, tmp_path):
    path = tmp_path / "run.pt"
    torch.save({"model": state, "optimizer": {"state": {0: {"exp_avg": torch.ones(2, 2)}}, "lr": 0.1},
                "epoch": 3}, path)
    assert inspector.open_file(path)
    names = inspector.names()
    assert set(f"model.{n}" for n in state) <= set(names)
    assert "optimizer.state.0.exp_avg" in names and "epoch" in names and "optimizer.lr" in names
    assert inspector.item_for("epoch").text(1) == "3"
    inspector.select(["model.encoder.0.weight"])
    np.testing.assert_array_equal(heat.displayed(), state["encoder.0.weight"].numpy())
    inspector.select(["epoch"])   # metadata: nothing to show, the heatmap keeps its tensor
    assert heat.ref.name == "model.encoder.0.weight"


def test_a_malicious_pickle_is_refused_in_one_sentence(inspector, state, tmp_path, errors):
    good = tmp_path / "good.safetensors"
    write_tensors(state, good)
    inspector.open_file(good)
    marker = tmp_path / "pwned"
    for name, save in (("evil.pt", lambda p: torch.save({"w": torch.ones(2), "x": Evil(marker)}, p)),
                       ("evil.pth", lambda p: p.write_bytes(pickle.dumps(Evil(marker))))):
        path = tmp_path / name
        save(path)
        assert not inspector.open_file(path)
        assert not marker.exists()
    assert len(errors) == 2
    for message in errors:
        assert message.endswith(".") and message.count(". ") == 0 and "\n" not in message
        assert "could run code" in message
    # nothing else changed
    assert inspector.checkpoint.path == good and sorted(inspector.names()) == sorted(state)


def test_a_corrupt_file_is_refused(inspector, tmp_path, errors):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    assert not inspector.open_file(path)
    assert len(errors) == 1 and "broken.safetensors" in errors[0] and errors[0].endswith(".")
    assert inspector.checkpoint is None and inspector.tree.topLevelItemCount() == 0


def test_inspect_asks_for_a_file(inspector, state, tmp_path, monkeypatch):
    path = tmp_path / "asked.safetensors"
    write_tensors(state, path)
    monkeypatch.setattr(checkpoint_inspector, "choose_checkpoint_path", lambda parent: str(path))
    assert inspector.inspect()
    monkeypatch.setattr(checkpoint_inspector, "choose_checkpoint_path", lambda parent: None)
    assert not inspector.inspect()
    assert inspector.checkpoint.path == path


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_save_selected_tensors_round_trips(inspector, state, tmp_path, monkeypatch, errors, suffix):
    source = tmp_path / "model.pt"
    torch.save(state, source)
    inspector.open_file(source)
    target = tmp_path / f"picked{suffix}"
    monkeypatch.setattr(save_tensors, "choose_save_path", lambda parent, suggested: str(target))
    inspector.select(["head.weight", "encoder.0"])   # a prefix row stands for the tensors under it
    assert inspector.save_action.isEnabled()
    inspector.save_selected()
    assert errors == []
    loaded = load_tensors(target)
    assert set(loaded) == {"head.weight", "encoder.0.weight", "encoder.0.bias"}
    for name, value in loaded.items():
        assert torch.equal(value, state[name])


def test_saving_nothing_says_so(inspector, monkeypatch, errors):
    monkeypatch.setattr(save_tensors, "choose_save_path", lambda *a: pytest.fail("asked for a path"))
    inspector.save_selected()
    assert len(errors) == 1


class Window(QMainWindow):
    def __init__(self, controller):
        super().__init__()
        self.controller = controller
        self.docks = []
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("&Open…")
        file_menu.addSeparator()
        file_menu.addAction("&Quit")

    def add_panel(self, dock, area):
        self.addDockWidget(area, dock)
        self.docks.append(dock.objectName())


def test_install_adds_the_dock_and_the_file_menu_action(qtbot, controller, state, tmp_path, monkeypatch):
    window = Window(controller)
    qtbot.addWidget(window)
    docks = [param_tree.install(window), heatmap.install(window), checkpoint_inspector.install(window)]
    assert window.docks == ["parameterTreeDock", "heatmapDock", "checkpointInspectorDock"]
    dock = docks[2]
    menu = window_menu(window, "File")
    texts = [a.text() for a in menu.actions()]
    assert texts[:2] == ["&Open…", "Inspect &Checkpoint…"]      # before the first separator
    path = tmp_path / "menu.safetensors"
    write_tensors(state, path)
    monkeypatch.setattr(checkpoint_inspector, "choose_checkpoint_path", lambda parent: str(path))
    menu.actions()[1].trigger()
    assert dock.widget().checkpoint.path == path
    dock.widget().select(["head.bias"])
    np.testing.assert_array_equal(docks[1].widget().displayed(), np.zeros((1, 3), np.float32))


def test_install_without_a_file_menu_still_docks(qtbot, controller):
    window = QMainWindow()
    window.controller = controller
    window.add_panel = lambda dock, area: window.addDockWidget(area, dock)
    qtbot.addWidget(window)
    dock = checkpoint_inspector.install(window)
    assert dock.objectName() == "checkpointInspectorDock"
    assert dock.widget().objectName() == "checkpointInspector"
    assert Qt.DockWidgetArea.BottomDockWidgetArea == window.dockWidgetArea(dock)


# ---------------------------------------------------------------- hostile and unusual files


def odd_tensors() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that these kinds of tensor are experimental
        return {
            "expanded": torch.ones(1).expand(2**40),                       # 4 TB if materialised
            "rows": torch.arange(3.0)[:, None].expand(3, 2**38),
            "windows": torch.arange(2.0**14).as_strided((2**13, 2**13), (1, 1)),  # 2**26 over 16,383 values
            "sparse": torch.tensor([[0.0, 2.0], [-1.0, 0.0]]).to_sparse(),
            "big-sparse": torch.sparse_coo_tensor(torch.tensor([[1], [7]]), torch.tensor([3.0]), (2**20, 2**20)),
            "csr": torch.tensor([[0.0, 2.0], [-1.0, 0.0]]).to_sparse_csr(),
            "quantized": torch.quantize_per_tensor(torch.tensor([-1.0, 0.5]), 0.5, 0, torch.qint8),
            "meta": torch.empty(3, 4, device="meta"),
            "nested": torch.nested.nested_tensor([torch.ones(2), torch.zeros(3)]),
            "bits": torch.zeros(3, dtype=torch.uint8).view(torch.bits8),
            "scores": [float("inf"), 2**2000],
            "blob": b"x" * 10**6,
        }


def test_unusual_tensors_are_listed_by_what_they_store(inspector, tmp_path, errors):
    path = tmp_path / "odd.pt"
    torch.save(odd_tensors(), path)
    assert inspector.open_file(path) and errors == []
    expanded = inspector.item_for("expanded")
    assert expanded.text(3) == "1,099,511,627,776 (1 stored)" and expanded.text(4) == "4 B"
    assert "expanded view of 1 stored value" in expanded.toolTip(0)
    assert inspector.item_for("sparse").text(2) == "float32 · sparse_coo"
    assert inspector.item_for("quantized").text(2) == "qint8 · quantized"
    assert "meta tensor" in inspector.item_for("meta").toolTip(3)
    assert inspector.item_for("scores").text(1).startswith("[inf, ") and len(inspector.item_for("scores").text(1)) <= 40
    assert len(inspector.item_for("blob").toolTip(1)) <= 500
    assert "4.0 TB" not in inspector.file_label.text()


def test_unusual_tensors_reach_the_heatmap_bounded(qtbot, inspector, controller, tmp_path, errors):
    path = tmp_path / "odd.pt"
    torch.save(odd_tensors(), path)
    inspector.open_file(path)
    refs = []
    controller.tensor_selected.connect(refs.append)
    tensors = [e.name for e in inspector.checkpoint.tensors()]
    for name in tensors:  # what the heatmap would be given, checked before any heatmap reads it
        inspector.select([name])
        value = refs[-1].value()
        assert refs[-1].name == name and value.numel() <= 2**24, name
        assert value.layout == torch.strided and not value.is_quantized and not value.is_nested, name
    assert refs[-1].value().device.type == "cpu"
    heat = HeatmapPanel(controller)
    qtbot.addWidget(heat)
    start = time.monotonic()
    shown = {}
    for name in tensors:
        inspector.select([name])
        heat.wait_for_stats()
        shown[name] = heat.displayed(), heat.message()
    assert time.monotonic() - start < 20
    assert shown["expanded"][0].tolist() == [[1.0]] and shown["rows"][0][:, 0].tolist() == [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(shown["sparse"][0], [[0.0, 2.0], [-1.0, 0.0]])
    np.testing.assert_array_equal(shown["quantized"][0], [[-1.0, 0.5]])
    assert shown["windows"][0] is not None and shown["big-sparse"][0].tolist() == [[3.0]]
    assert shown["meta"][0] is None and "no values" in shown["meta"][1]
    assert shown["bits"][0] is None and "raw bits" in shown["bits"][1]
    assert errors == []


def test_hostile_structures_are_refused_in_one_sentence(inspector, state, tmp_path, errors):
    from tests.engine.test_hostile_tensor_files_builders import billion_laughs, nested_dicts, zip_with_pickle
    good = tmp_path / "good.safetensors"
    write_tensors(state, good)
    inspector.open_file(good)
    start = time.monotonic()
    # 2**19 leaves from shared lists (a regression lists them: slowly, but within memory), 5,000 levels
    for name, pickle_bytes in (("laughs.pt", billion_laughs(19)), ("deep.pt", nested_dicts(5000))):
        assert not inspector.open_file(zip_with_pickle(tmp_path / name, pickle_bytes))
    assert time.monotonic() - start < 10
    assert len(errors) == 2 and all(m.endswith(".") and "\n" not in m for m in errors)
    assert "more than 200,000 entries" in errors[0] and "levels deep" in errors[1]
    assert inspector.checkpoint.path == good
