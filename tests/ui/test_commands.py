"""Each undo command puts the project back exactly as it was, and redo does the edit again (issue #9).

The commands are pushed on a plain ``QUndoStack`` over a ``Document``: what is
checked is the project itself (``to_dict``), before, after, after undo and
after redo.
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QUndoStack

from netstudio.graph import Document
from netstudio.serialization import load_project
from ui.document.commands import SetCode

CODE = "class Halve(nn.Module):\n    def forward(self, X):\n        return X / 2\n"
OTHER = "class Halve(nn.Module):\n    def forward(self, X):\n        return X * 0.5\n"


@pytest.fixture
def doc(examples_dir) -> Document:
    return Document(load_project(examples_dir / "mlp.netstudio"))


@pytest.fixture
def stack(qapp):
    stack = QUndoStack()
    yield stack
    stack.clear()


def test_undo_of_set_code_for_a_new_class_removes_the_class(doc, stack):
    assert "Halve" not in doc.project.code
    changed = []
    doc.events.code_changed.connect(changed.append)
    stack.push(SetCode(doc, "Halve", CODE))
    assert doc.project.code["Halve"] == CODE
    stack.undo()
    assert "Halve" not in doc.project.code     # no old code: the class goes, not an empty text
    stack.redo()
    assert doc.project.code["Halve"] == CODE
    assert changed == ["Halve"] * 3


def test_undo_of_set_code_puts_the_old_code_back(doc, stack):
    doc.set_code("Halve", CODE)
    stack.push(SetCode(doc, "Halve", OTHER))
    assert doc.project.code["Halve"] == OTHER
    stack.undo()
    assert doc.project.code["Halve"] == CODE
    stack.redo()
    assert doc.project.code["Halve"] == OTHER
    assert stack.text(0) == "Edit code of Halve"
