"""The properties panel edits constructor arguments: declare, pick with ƒ, pass per use, undo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QToolButton

from netstudio.graph.arguments import reference
from tests.engine.test_definition_arguments import conv_block_project, node_named
from ui.editors.properties import PropertiesPanel


@pytest.fixture
def setup(make_controller, show_widget):
    doc = conv_block_project()
    controller = make_controller(doc.project)
    panel = show_widget(PropertiesPanel(controller), (420, 700))
    return controller, panel


def type_into(qtbot, field: QLineEdit, text: str) -> None:
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def test_a_use_passes_its_values_and_empty_means_the_default(setup, qtbot):
    controller, panel = setup
    doc = controller.document
    b1 = node_named(doc, "main", "b1")
    controller.select("main", [b1.id])
    field = panel.findChild(QLineEdit, "useArg_c")
    assert field.text() == "4" and "8 (default)" in field.placeholderText()
    type_into(qtbot, field, "6")
    assert b1.params["args"]["c"] == 6
    field = panel.findChild(QLineEdit, "useArg_c")      # the panel rebuilt after the edit
    field.clear()
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert "c" not in b1.params["args"]
    controller.undo_stack.undo()
    controller.undo_stack.undo()
    assert b1.params["args"]["c"] == 4


def test_a_value_that_is_not_json_is_refused_in_place(setup, qtbot):
    controller, panel = setup
    b1 = node_named(controller.document, "main", "b1")
    controller.select("main", [b1.id])
    field = panel.findChild(QLineEdit, "useArg_k")
    type_into(qtbot, field, "[1, 1")
    assert "border" in field.styleSheet() and "Type JSON" in field.toolTip()
    assert b1.params["args"]["k"] == [1, 1] and controller.undo_stack.count() == 0


def test_the_f_button_makes_a_hyperparameter_take_an_argument_and_back(setup, qtbot):
    controller, panel = setup
    doc = controller.document
    conv = doc.add_node("ConvBlock", "Linear", "extra", {"out_features": 3})
    controller.select("ConvBlock", [conv.id])
    button = panel.findChild(QToolButton, "argButton_out_features")
    action = next(a for a in button.menu().actions() if a.objectName() == "useArgument_c")
    action.trigger()
    assert conv.params["out_features"] == reference("c")
    shown = panel.findChild(QLabel, "argRef_out_features")
    assert shown is not None and "c" in shown.text() and "out_features" not in panel.editors
    button = panel.findChild(QToolButton, "argButton_out_features")
    next(a for a in button.menu().actions() if a.objectName() == "useValue").trigger()
    assert conv.params["out_features"] == 8                       # the argument's default, as a value
    assert "out_features" in panel.editors


def test_declaring_renaming_and_removing_arguments_are_undo_steps(setup, qtbot):
    controller, panel = setup
    doc = controller.document
    controller.select("ConvBlock", [])
    panel.findChild(QPushButton, "addArgumentButton").click()
    assert doc.definition("ConvBlock").arguments["arg1"] == 1
    type_into(qtbot, panel.findChild(QLineEdit, "argName_c"), "width")
    assert list(doc.definition("ConvBlock").arguments) == ["cin", "width", "k", "arg1"]   # renamed in place
    conv = node_named(doc, "ConvBlock", "conv")
    assert conv.params["out_channels"] == reference("width")
    assert node_named(doc, "main", "b1").params["args"]["width"] == 4
    panel.findChild(QToolButton, "argRemove_width").click()
    assert conv.params["out_channels"] == 8 and "width" not in doc.definition("ConvBlock").arguments
    type_into(qtbot, panel.findChild(QLineEdit, "argName_k"), "torch")
    problem = panel.findChild(QLabel, "argumentProblem")
    assert problem.isVisibleTo(panel) and "reserved" in problem.text()
    for _ in range(3):
        controller.undo_stack.undo()
    conv = node_named(doc, "ConvBlock", "conv")
    assert conv.params["out_channels"] == reference("c") and "arg1" not in doc.definition("ConvBlock").arguments
