"""The properties editor: typed editors from ParamSpec, one undo step per change, refusals."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QLineEdit, QPushButton, QSpinBox, QWidget

from ui.param_editors import BoolEditor, ChoiceEditor, FloatEditor, IntEditor, JsonEditor, ListEditor


@pytest.fixture
def window(make_window):
    return make_window()


def select(window, type_name, index=0):
    node = [n for n in window.controller.document.project.root_definition.nodes.values() if n.type == type_name][index]
    window.canvas.select_nodes([node.id])
    assert window.properties.node is node
    return node


def type_into(qtbot, widget, text):
    widget.setFocus()
    (widget.lineEdit() if isinstance(widget, (QSpinBox, QComboBox)) else widget).selectAll()
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def test_int_spin_box_edits_with_the_keyboard_and_undo_restores(window, qtbot):
    node = select(window, "Linear")
    editor = window.properties.editors["out_features"]
    assert isinstance(editor, IntEditor) and editor.spin.minimum() == 1
    assert editor.spin.value() == 256
    type_into(qtbot, editor.spin, "64")
    assert node.params["out_features"] == 64
    assert window.controller.undo_stack.count() == 1  # one step, not one per keystroke
    assert window.isWindowModified()
    window.controller.undo_stack.undo()
    assert node.params["out_features"] == 256
    assert window.properties.editors["out_features"].spin.value() == 256  # the editor follows the model


def test_optional_int_has_an_auto_box_meaning_none(window, qtbot):
    node = select(window, "Linear")
    editor = window.properties.editors["in_features"]
    assert editor.auto is not None and not editor.auto.isChecked() and editor.spin.value() == 20
    editor.auto.click()
    assert node.params["in_features"] is None and not editor.spin.isEnabled()
    editor.auto.click()
    assert node.params["in_features"] == 20


def test_out_of_range_int_is_refused_and_said_why(window, qtbot):
    node = select(window, "Linear")
    editor = window.properties.editors["out_features"]
    editor.spin.setFocus()
    editor.spin.lineEdit().selectAll()
    qtbot.keyClicks(editor.spin, "0")
    assert editor.problem == "'out_features' must be at least 1, not 0."
    assert "border" in editor.spin.styleSheet() and editor.spin.toolTip() == editor.problem
    qtbot.keyClick(editor.spin, Qt.Key.Key_Return)
    assert node.params["out_features"] == 256 and window.controller.undo_stack.count() == 0


def test_invalid_shape_is_refused_with_a_red_border_and_the_model_is_unchanged(window, qtbot):
    node = select(window, "Input")
    editor = window.properties.editors["shape"]
    assert isinstance(editor, ListEditor) and editor.line.text() == "2, 20"
    type_into(qtbot, editor.line, "2, -1")
    assert node.params["shape"] == [2, 20]
    assert editor.problem == "'shape' entries must be between 0 and 1099511627776, not -1."
    assert "border" in editor.line.styleSheet() and editor.line.toolTip() == editor.problem
    type_into(qtbot, editor.line, "2, abc")
    assert editor.problem.startswith("'shape' must be whole numbers") and node.params["shape"] == [2, 20]
    type_into(qtbot, editor.line, "8 x 20")
    assert node.params["shape"] == [8, 20] and editor.problem is None and editor.line.styleSheet() == ""


def test_float_bool_choice_and_json_editors(window, qtbot):
    window.canvas.add_block_at_center("Dropout")
    dropout = window.controller.document.project.root_definition.nodes[window.controller.undo_stack.command(0).node.id]
    window.canvas.select_nodes([dropout.id])
    p = window.properties.editors["p"]
    assert isinstance(p, FloatEditor) and p.line.text() == "0.5"
    type_into(qtbot, p.line, "1.5")
    assert p.problem == "'p' must be between 0 and 1, not 1.5." and "p" not in dropout.params
    type_into(qtbot, p.line, "2.5e-3")
    assert dropout.params["p"] == 0.0025

    linear = select(window, "Linear")
    bias = window.properties.editors["bias"]
    assert isinstance(bias, BoolEditor) and bias.box.isChecked()
    bias.box.click()
    assert linear.params["bias"] is False

    window.canvas.add_block_at_center("GELU")
    gelu_id = window.controller.undo_stack.command(window.controller.undo_stack.count() - 1).node.id
    window.canvas.select_nodes([gelu_id])
    approximate = window.properties.editors["approximate"]
    assert isinstance(approximate, ChoiceEditor)
    approximate.combo.activated.emit(approximate.combo.findText("tanh"))
    gelu = window.controller.document.project.root_definition.nodes[gelu_id]
    assert gelu.params["approximate"] == "tanh"

    window.canvas.add_block_at_center("Constant")
    const_id = window.controller.undo_stack.command(window.controller.undo_stack.count() - 1).node.id
    window.canvas.select_nodes([const_id])
    values = window.properties.editors["values"]
    assert isinstance(values, JsonEditor)
    type_into(qtbot, values.line, "[[1, 2], [3")
    assert values.problem.startswith("'values' is not valid JSON")
    type_into(qtbot, values.line, "[[1, 2], [3, 4]]")
    assert window.controller.document.project.root_definition.nodes[const_id].params["values"] == [[1, 2], [3, 4]]


def test_rename_through_the_name_field(window, qtbot):
    node = select(window, "Linear")
    type_into(qtbot, window.properties.name_edit, "hidden")
    assert node.name == "hidden"
    window.controller.undo_stack.undo()
    assert node.name == "" and window.properties.name_edit.text() == ""


def test_a_name_with_a_dot_or_taken_is_refused(window, qtbot):
    first, second = select(window, "Linear", 0), None
    type_into(qtbot, window.properties.name_edit, "a.b")
    assert first.name == "" and "dot" in window.properties.name_edit.toolTip()
    type_into(qtbot, window.properties.name_edit, "hidden")
    second = select(window, "Linear", 1)
    type_into(qtbot, window.properties.name_edit, "hidden")
    assert second.name == "" and "already named 'hidden'" in window.properties.name_edit.toolTip()


def test_container_shows_its_class_and_a_definition_choice(make_window, examples_dir):
    window = make_window(examples_dir / "chimera.netstudio")
    select(window, "Block", 0)
    labels = [label.text() for label in window.properties.widget().findChildren(QLabel)]
    assert window.controller.document.project.definitions["NestMLP"].class_name in labels
    definition = window.properties.editors["definition"]
    assert isinstance(definition, ChoiceEditor)
    assert [definition.combo.itemText(i) for i in range(definition.combo.count())] == ["NestMLP", "FixedHiddenMLP"]
    assert definition.combo.currentText() == "NestMLP"


def test_code_block_has_an_edit_code_button_that_triggers_the_canvas_action(make_window, examples_dir):
    window = make_window(examples_dir / "centered.netstudio")
    select(window, "Code")
    triggered = []
    window.canvas.actions["edit_code"].triggered.connect(lambda *_: triggered.append(True))
    window.properties.widget().findChild(QPushButton, "editCodeButton").click()
    assert triggered == [True]
    [editor] = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "CodeEditorDialog" and w.isVisible()]
    editor.close()


def test_the_nodes_diagnostics_are_shown(window):
    second = select(window, "Linear", 1)
    assert not window.properties.widget().findChildren(QWidget, "diagnostic")
    window.properties.editors["in_features"].spin.setValue(3)
    window.controller.wait_for_check()
    assert second.params["in_features"] == 3
    rows = window.properties.widget().findChildren(QWidget, "diagnostic")
    assert len(rows) == 1
    assert "256" in " ".join(label.text() for label in rows[0].findChildren(QLabel))


def test_nothing_selected_describes_the_definition(window):
    window.canvas.select_nodes([])
    assert window.properties.node is None and not window.properties.editors
    assert window.properties.widget().findChild(QLineEdit) is None
