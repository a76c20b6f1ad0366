"""The properties editor: typed editors from ParamSpec, one undo step per change, refusals."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QLineEdit, QPushButton, QSpinBox, QWidget

from ui.editors.param_editors import BoolEditor, ChoiceEditor, FloatEditor, IntEditor, JsonEditor, ListEditor


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
    assert editor.problem == "'out_features' must be between 1 and 16,777,216, not 0."
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
    assert first.name == "" and "contains '.'" in window.properties.name_edit.toolTip()
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


@pytest.mark.parametrize("blocks, shape, sizes", [
    ([("Linear", {"in_features": None, "out_features": 6}), ("BatchNorm1d", {"num_features": None}),
      ("Linear", {"in_features": None, "out_features": 3})], (4, 20), (20, 6, 6)),
    ([("Conv2d", {"in_channels": None, "out_channels": 5}), ("BatchNorm2d", {"num_features": None})],
     (2, 3, 9, 9), (3, 5)),
])
def test_unticking_auto_fills_in_the_size_the_input_gives(make_controller, show_widget, qtbot, blocks, shape, sizes):
    """in_features, in_channels, num_features: the number the input gives the deferred layer, not 1."""
    from netstudio.catalog.deferred_sizes import sized_keys
    from tests.engine.builders import chain_project
    from ui.editors.properties import PropertiesPanel
    doc, ids = chain_project(blocks, shape=shape)
    controller = make_controller(doc.project)
    panel = show_widget(PropertiesPanel(controller), (360, 600))
    controller.wait_for_check()
    for node_id, size in zip(ids, sizes):
        controller.select("main", [node_id])
        node = controller.document.project.root_definition.nodes[node_id]
        key = sized_keys(node.type)[0]
        editor = panel.editors[key]
        assert editor.auto.isChecked() and not editor.spin.isEnabled()
        qtbot.mouseClick(editor.auto, Qt.MouseButton.LeftButton, pos=editor.auto.rect().center())
        assert node.params[key] == size and editor.spin.value() == size   # what the input gives, not 1
        controller.wait_for_check()
        assert controller.result.ok                                      # so the network stays valid
        controller.undo_stack.undo()
        assert node.params[key] is None and editor.auto.isChecked()


def code_block(window):
    node = select(window, "Code")
    return node, window.properties.editors["class_name"]


def test_editing_a_code_blocks_class_name_renames_the_class_and_the_editor_follows(window, qtbot):
    from ui.editors.param_editors import NameEditor
    window.files.load(window.files.source().with_name("fixed_hidden_mlp.netstudio"))
    project = window.controller.document.project
    node, editor = code_block(window)
    assert isinstance(editor, NameEditor) and editor.line.text() == "HalveUntilSmall"
    dialog = window.canvas.edit_code(node.id)
    qtbot.addWidget(dialog)
    before = project.to_dict()
    type_into(qtbot, editor.line, "Halver")
    assert node.params["class_name"] == "Halver" and set(project.code) == {"Halver"}
    assert "class Halver(nn.Module):" in project.code["Halver"]
    assert window.controller.undo_stack.count() == 1                      # one step
    # The open code editor follows: its name, its title and its source.
    assert dialog.class_name == "Halver" and dialog.name_edit.text() == "Halver"
    assert "class Halver(" in dialog.editor.toPlainText() and "Halver" in dialog.windowTitle()
    assert dialog.check_syntax()
    window.controller.wait_for_check()
    assert window.controller.result.ok
    assert window.canvas.node_item(node.id).look.subtitle == "Code · Halver"
    window.controller.undo_stack.undo()
    assert window.controller.document.project.to_dict() == before
    assert dialog.class_name == "HalveUntilSmall" and "class HalveUntilSmall(" in dialog.editor.toPlainText()
    dialog.close()


@pytest.mark.parametrize("name, why", [
    ("FixedHiddenMLP", "Another class in this project is already named 'FixedHiddenMLP'"),
    ("torch", "is reserved"),
    ("2x", "is not a valid name"),
])
def test_a_refused_class_name_changes_nothing_and_says_why(window, qtbot, name, why):
    window.files.load(window.files.source().with_name("fixed_hidden_mlp.netstudio"))
    project = window.controller.document.project
    node, editor = code_block(window)
    before = project.to_dict()
    type_into(qtbot, editor.line, name)
    assert project.to_dict() == before and window.controller.undo_stack.count() == 0
    assert why in editor.problem and editor.problem.endswith(".") and editor.line.toolTip() == editor.problem
    assert "border" in editor.line.styleSheet()


def test_the_code_editor_renames_the_class_with_its_source_edits_in_one_step(window, qtbot):
    window.files.load(window.files.source().with_name("fixed_hidden_mlp.netstudio"))
    controller = window.controller
    project = controller.document.project
    node, _ = code_block(window)
    dialog = window.canvas.edit_code(node.id)
    qtbot.addWidget(dialog)
    before = project.to_dict()
    dialog.name_edit.setText("FixedHiddenMLP")
    assert not dialog.apply()
    assert dialog.name_label.isVisible() and "already named 'FixedHiddenMLP'" in dialog.name_label.text()
    assert project.to_dict() == before and controller.undo_stack.count() == 0
    dialog.name_edit.setText("Shrink")
    dialog.editor.setPlainText(dialog.editor.toPlainText() + "\n# tuned\n")
    assert dialog.apply() and not dialog.name_label.isVisible()
    assert set(project.code) == {"Shrink"} and project.code["Shrink"].endswith("# tuned\n")
    assert "class Shrink(nn.Module):" in project.code["Shrink"] and node.params["class_name"] == "Shrink"
    assert controller.undo_stack.count() == 1 and dialog.windowTitle().endswith("Shrink")
    assert window.properties.editors["class_name"].line.text() == "Shrink"
    controller.undo_stack.undo()
    assert controller.document.project.to_dict() == before
    assert dialog.class_name == "HalveUntilSmall" and dialog.editor.toPlainText() == before["code"]["HalveUntilSmall"]
    dialog.close()
