"""File → Import Weights…: partial and strict imports, the report, undo, and unreadable files."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from netstudio.files.tensor_io import save_tensors
from ui.panels import import_weights
from ui.panels.import_weights import ImportReportDialog, ImportWeightsDialog


@pytest.fixture
def window(make_window, examples_dir):
    window = make_window(examples_dir / "param_access.netstudio", panels=False)
    window.controller.session.run_forward()
    window.import_action = import_weights.install(window)
    return window


def weights(window) -> dict[str, torch.Tensor]:
    return {n: t.detach().clone() for n, t in window.controller.session.ensure_built().state_dict().items()}


def state_file(tmp_path, suffix: str = ".pt") -> str:
    """A state_dict for param_access with one matched, one mismatched, one unexpected and one missing key."""
    state = {
        "0.weight": torch.full((8, 4), 7.0),  # matched
        "0.bias": torch.arange(8, dtype=torch.float32),  # matched
        "2.weight": torch.zeros(3, 3),  # the network's is (1, 8): mismatched
        "extra.weight": torch.ones(2),  # not in the network: unexpected
    }  # "2.bias" is missing
    path = tmp_path / f"weights{suffix}"
    if suffix == ".pt":
        torch.save(state, path)
    else:
        save_tensors(state, path)
    return str(path)


def open_dialog(qtbot, window, open_dialogs) -> ImportWeightsDialog:
    window.import_action.trigger()
    (dialog,) = open_dialogs("importWeightsDialog")
    qtbot.waitExposed(dialog)
    return dialog


def run(qtbot, dialog: ImportWeightsDialog, path: str, strict: bool = False) -> None:
    dialog.path_edit.setFocus()
    qtbot.keyClicks(dialog.path_edit, path)
    qtbot.mouseClick(dialog.strict if strict else dialog.partial, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)


def test_the_action_is_in_the_file_menu(window):
    action = window.import_action
    assert isinstance(action, QAction) and action.text() == "Import &Weights…"
    assert action in window.menus["file"].actions()


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_partial_import_reports_every_key_and_changes_the_matched_weights_only(qtbot, window, tmp_path,
                                                                                open_dialogs, suffix):
    before = weights(window)
    path = state_file(tmp_path, suffix)
    dialog = open_dialog(qtbot, window, open_dialogs)
    run(qtbot, dialog, path)
    (report_dialog,) = open_dialogs("importReport")
    assert isinstance(report_dialog, ImportReportDialog)
    assert not dialog.isVisible()
    results = report_dialog.results()
    assert results == {
        "2.weight": ("wrong shape", "(1, 8)", "(3, 3)"),
        "extra.weight": ("unexpected", "—", "(2,)"),
        "2.bias": ("missing", "(1,)", "—"),
        "0.weight": ("matched", "(8, 4)", "(8, 4)"),
        "0.bias": ("matched", "(8,)", "(8,)"),
    }
    table = report_dialog.table
    assert table.rowCount() == 5 and table.item(0, 0).text() == "2.weight" and table.item(0, 1).text() == "wrong shape"
    assert "2 tensors matched, 1 missing, 1 unexpected and 1 with the wrong shape" in report_dialog.summary.text()
    after = weights(window)
    assert torch.equal(after["0.weight"], torch.full((8, 4), 7.0))
    assert torch.equal(after["0.bias"], torch.arange(8, dtype=torch.float32))
    assert torch.equal(after["2.weight"], before["2.weight"]) and torch.equal(after["2.bias"], before["2.bias"])
    stack = window.controller.undo_stack
    assert stack.count() == 1 and stack.undoText() == f"Import weights from weights{suffix}"
    stack.undo()
    for name, value in weights(window).items():
        assert torch.equal(value, before[name]), name
    stack.redo()
    assert torch.equal(weights(window)["0.weight"], torch.full((8, 4), 7.0))
    report_dialog.close()


def test_strict_import_of_a_mismatched_file_changes_nothing(qtbot, window, tmp_path, open_dialogs):
    before = weights(window)
    dialog = open_dialog(qtbot, window, open_dialogs)
    run(qtbot, dialog, state_file(tmp_path), strict=True)
    assert dialog.isVisible() and dialog.error.isVisible()
    assert dialog.error.text() == ("The weights do not match the network (1 missing, 1 unexpected, 1 with the "
                                   "wrong shape), so nothing was imported.")
    assert open_dialogs("importReport") == [] and window.controller.undo_stack.count() == 0
    for name, value in weights(window).items():
        assert torch.equal(value, before[name])
    dialog.close()


def test_strict_import_of_a_matching_file(qtbot, window, tmp_path, open_dialogs):
    state = {name: torch.full_like(t, 0.5) for name, t in weights(window).items()}
    torch.save(state, tmp_path / "full.pt")
    dialog = open_dialog(qtbot, window, open_dialogs)
    run(qtbot, dialog, str(tmp_path / "full.pt"), strict=True)
    (report_dialog,) = open_dialogs("importReport")
    assert all(result == "matched" for result, _, _ in report_dialog.results().values())
    assert all(torch.equal(t, torch.full_like(t, 0.5)) for t in weights(window).values())
    report_dialog.close()


def test_a_corrupt_file_is_explained_in_one_sentence(qtbot, window, tmp_path, open_dialogs):
    before = weights(window)
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"PK\x03\x04 this is not a checkpoint" * 4)
    dialog = open_dialog(qtbot, window, open_dialogs)
    run(qtbot, dialog, str(bad))
    message = dialog.error.text()
    assert message == "'broken.pt' is not a valid PyTorch file; it may be truncated or corrupt."
    assert "Traceback" not in message and "\n" not in message
    assert window.controller.undo_stack.count() == 0
    for name, value in weights(window).items():
        assert torch.equal(value, before[name])
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    QApplication.processEvents()
    assert open_dialogs("importWeightsDialog") == []


def test_browse_fills_in_the_chosen_file(qtbot, window, tmp_path, open_dialogs, monkeypatch):
    path = state_file(tmp_path)
    monkeypatch.setattr(import_weights, "choose_weights_file", lambda parent: path)
    dialog = open_dialog(qtbot, window, open_dialogs)
    qtbot.mouseClick(dialog.findChild(object, "browseWeights"), Qt.MouseButton.LeftButton)
    assert dialog.path_edit.text() == path
    dialog.close()
