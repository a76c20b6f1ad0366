"""File → Import PyTorch Model… with an ONNX file: its tab, the file's own input shape, the import shown."""

from __future__ import annotations

import warnings

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QTabBar
from torch import nn

from ui.shell import import_dialog, prompts
from ui.shell.import_dialog import ImportChoice, ImportModelDialog

pytest.importorskip("onnx")


def write_onnx(path) -> None:
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(3, 5),), str(path), dynamo=False, input_names=["x"])


def test_the_onnx_tab_takes_a_file_and_leaves_the_shape_to_it(qtbot, tmp_path, monkeypatch):
    path = tmp_path / "tiny.onnx"
    write_onnx(path)
    dialog = ImportModelDialog(None, str(tmp_path))
    qtbot.addWidget(dialog)
    bar = dialog.tabs.findChild(QTabBar)
    assert dialog.tabs.tabText(dialog.onnx_tab) == "ONNX file"
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(dialog.onnx_tab).center())
    assert dialog.tabs.currentIndex() == dialog.onnx_tab
    assert dialog.shapes.text() == "" and dialog.shapes.placeholderText() == "from the file"
    assert not dialog.dtype.isEnabled()
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.error.text() == "Choose an ONNX file (.onnx)." and dialog.choice is None

    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda parent, title, folder, filter_: (asked.append(filter_), (str(path), filter_))[1])
    browse = [b for b in dialog.tabs.currentWidget().findChildren(import_dialog.QPushButton) if b.text() == "Browse…"]
    qtbot.mouseClick(browse[0], Qt.MouseButton.LeftButton)
    assert asked == ["ONNX files (*.onnx)"] and dialog.onnx_path.text() == str(path)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.choice == ImportChoice(str(path), (), "float32")


def test_leaving_the_onnx_tab_brings_the_example_shape_back(qtbot, tmp_path):
    dialog = ImportModelDialog(None, str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.tabs.setCurrentIndex(dialog.onnx_tab)
    qtbot.keyClicks(dialog.shapes, "4,5")
    dialog.onnx_path.setText(str(tmp_path / "m.onnx"))
    dialog.accept()
    assert dialog.choice == ImportChoice(str(tmp_path / "m.onnx"), ((4, 5),), "float32")
    dialog.tabs.setCurrentIndex(0)
    assert dialog.shapes.text() == "4,5" and dialog.dtype.isEnabled()
    dialog.shapes.clear()
    dialog.tabs.setCurrentIndex(dialog.onnx_tab)
    dialog.tabs.setCurrentIndex(0)
    assert dialog.shapes.text() == "1,3,224,224"


def test_an_imported_onnx_file_opens_as_a_project_with_its_weights(make_window, tmp_path, monkeypatch):
    path = tmp_path / "tiny.onnx"
    write_onnx(path)
    window = make_window()
    monkeypatch.setattr(import_dialog, "ask_import", lambda parent, folder: ImportChoice(str(path), (), "float32"))
    notes = []
    monkeypatch.setattr(prompts, "inform", lambda *args: notes.append(args))
    window.files.actions["import_model"].trigger()
    controller = window.controller
    root = controller.document.project.root_definition
    assert [n.type for n in root.nodes.values() if n.type in ("Linear", "ReLU")] == ["Linear", "ReLU", "Linear"]
    assert root.inputs[0].params == {"shape": [3, 5], "dtype": "float32"}
    assert controller.path is None and not controller.undo_stack.isClean()
    net = controller.session.ensure_built()
    # torch names a Sequential's layers 0 and 2, which cannot name blocks of a graph: linear_0 and linear_2
    assert net is not None and list(net.state_dict()) == ["linear_0.weight", "linear_0.bias", "linear_2.weight",
                                                          "linear_2.bias"]
    assert notes == []


def test_a_bad_onnx_file_is_one_error_and_keeps_the_project(make_window, tmp_path, monkeypatch):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x00not onnx")
    window = make_window()
    errors = []
    monkeypatch.setattr("ui.shell.file_actions.show_error", lambda *args: errors.append(args))
    monkeypatch.setattr(import_dialog, "ask_import", lambda parent, folder: ImportChoice(str(path), (), "float32"))
    before = window.controller.document.project.to_dict()
    window.files.actions["import_model"].trigger()
    assert errors and errors[0][1] == "broken.onnx is not a valid ONNX file."
    assert window.controller.document.project.to_dict() == before
