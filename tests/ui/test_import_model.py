"""File → Import PyTorch Model…: the dialog, the import on a worker, the project shown with its weights."""

from __future__ import annotations

import textwrap

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from ui.shell import import_dialog, prompts
from ui.shell.import_dialog import ImportChoice, ImportModelDialog

MODEL = textwrap.dedent('''
    import torch
    from torch import nn

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(5, 7)
            self.out = nn.Linear(7, 2)

        def forward(self, x):
            return self.out(torch.relu(self.hidden(x)))

    class Loopy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(5, 5)

        def forward(self, x):
            while x.abs().sum() > 1:
                x = x / 2
            return self.lin(x)

    class NeedsWidth(nn.Module):
        def __init__(self, width):
            super().__init__()
''')


def test_the_dialog_lists_the_files_models_without_running_it_and_says_what_is_missing(qtbot, tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODEL + "\nraise SystemExit('ran')\n")
    dialog = ImportModelDialog(None, str(tmp_path))
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    assert dialog.error.text() == "Choose a Python file and the model in it." and dialog.choice is None
    dialog.py_path.setText(str(path))
    dialog.py_path.editingFinished.emit()
    assert [dialog.py_name.itemText(i) for i in range(dialog.py_name.count())] == ["Tiny", "Loopy"]
    dialog.shapes.clear()
    qtbot.keyClicks(dialog.shapes, "3,5")
    dialog.accept()
    assert dialog.choice == ImportChoice(f"{path}:Tiny", ((3, 5),), "float32")


def test_an_imported_model_opens_as_a_modified_project_with_its_weights(make_window, tmp_path, monkeypatch):
    path = tmp_path / "models.py"
    path.write_text(MODEL)
    window = make_window()
    monkeypatch.setattr(import_dialog, "ask_import", lambda parent, folder: ImportChoice(f"{path}:Tiny", ((3, 5),), "float32"))
    notes = []
    monkeypatch.setattr(prompts, "inform", lambda *args: notes.append(args))
    window.files.actions["import_model"].trigger()
    controller = window.controller
    root = controller.document.project.root_definition
    assert {n.name: n.type for n in root.nodes.values() if n.type == "Linear"} == {"hidden": "Linear", "out": "Linear"}
    assert controller.path is None and not controller.undo_stack.isClean()
    net = controller.session.ensure_built()
    assert net is not None and list(net.state_dict()) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert notes == []


def test_an_import_with_code_blocks_says_so_and_a_failure_keeps_the_project(make_window, tmp_path, monkeypatch):
    path = tmp_path / "models.py"
    path.write_text(MODEL)
    window = make_window()
    notes, errors = [], []
    monkeypatch.setattr(prompts, "inform", lambda *args: notes.append(args))
    monkeypatch.setattr("ui.shell.file_actions.show_error", lambda *args: errors.append(args))
    monkeypatch.setattr(import_dialog, "ask_import", lambda parent, folder: ImportChoice(f"{path}:Loopy", ((2, 5),), "float32"))
    window.files.actions["import_model"].trigger()
    assert notes and notes[0][2] == ("1 part became a code block. The model is one code block, so its tensor "
                                     "names start with 'loopy.' in the project.")
    assert "Loopy" in notes[0][3] and "control flow" in notes[0][3]
    assert window.controller.document.project.trusted
    before = window.controller.document.project.to_dict()
    monkeypatch.setattr(import_dialog, "ask_import",
                        lambda parent, folder: ImportChoice(f"{path}:NeedsWidth", ((2, 5),), "float32"))
    monkeypatch.setattr(prompts, "ask_save_changes", lambda parent, name: prompts.DISCARD)
    window.files.actions["import_model"].trigger()
    assert errors and errors[0][1].startswith("NeedsWidth() cannot be built without arguments")
    assert window.controller.document.project.to_dict() == before
