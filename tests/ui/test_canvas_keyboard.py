"""The canvas without the mouse: Tab between blocks, Enter into the properties, connect mode."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ui.canvas.keyboard import RING_GAP
from ui.canvas.port_item import CANDIDATE, NORMAL, VALID, PortRef

SHIFT = Qt.KeyboardModifier.ShiftModifier
MLP_ORDER = ["X", "0", "1", "2", "output"]   # left to right


def ids_by_title(canvas) -> dict[str, str]:
    return {item.look.title: node_id for node_id, item in canvas.scene.nodes.items()}


def titles(canvas, ids) -> list[str]:
    return [canvas.node_item(i).look.title for i in ids]


def focus(canvas, qtbot) -> None:
    canvas.window().activateWindow()
    canvas.view.setFocus()
    qtbot.waitUntil(canvas.view.hasFocus)


def edges_of(canvas) -> set[tuple[str, str, str, str]]:
    return {(e.src, e.src_port, e.dst, e.dst_port) for e in canvas.scene.model.edges.values()}


def in_view(canvas, node_id: str) -> bool:
    view = canvas.view
    shown = view.mapFromScene(canvas.node_item(node_id).sceneBoundingRect()).boundingRect()
    return view.viewport().rect().contains(shown)


# -- Tab --------------------------------------------------------------------------------------------
def test_tab_selects_the_blocks_in_reading_order_and_shift_tab_goes_back(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    focus(canvas, qtbot)
    seen = []
    for _ in MLP_ORDER:
        QTest.keyClick(canvas.view, Qt.Key.Key_Tab)
        seen.append(titles(canvas, canvas.selected_node_ids()))
    assert seen == [[t] for t in MLP_ORDER]
    QTest.keyClick(canvas.view, Qt.Key.Key_Backtab, SHIFT)    # what Shift+Tab sends
    assert titles(canvas, canvas.selected_node_ids()) == ["2"]
    QTest.keyClick(canvas.view, Qt.Key.Key_Tab, SHIFT)
    assert titles(canvas, canvas.selected_node_ids()) == ["1"]
    assert canvas.view.hasFocus()


def test_tab_scrolls_the_focused_block_into_view(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    canvas.view.set_zoom(3.0)
    canvas.view.centerOn(canvas.node_item(ids_by_title(canvas)["X"]))
    focus(canvas, qtbot)
    for _ in MLP_ORDER:
        QTest.keyClick(canvas.view, Qt.Key.Key_Tab)
        assert in_view(canvas, canvas.selected_node_ids()[0])
    assert titles(canvas, canvas.selected_node_ids()) == ["output"]


def test_tab_past_the_last_block_lets_the_focus_leave_the_canvas(make_window, qtbot):
    window = make_window()
    canvas = window.canvas
    canvas.select_nodes([ids_by_title(canvas)["output"]])
    focus(canvas, qtbot)
    QTest.keyClick(canvas.view, Qt.Key.Key_Tab)
    assert canvas.selected_node_ids() == []
    qtbot.waitUntil(lambda: not canvas.view.hasFocus())


def test_tab_in_the_rename_editor_and_the_find_bar_stays_theirs(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    first = ids_by_title(canvas)["0"]
    canvas.select_nodes([first])
    focus(canvas, qtbot)
    QTest.keyClick(canvas.view, Qt.Key.Key_F2)
    editor = canvas._rename_editor
    qtbot.waitUntil(editor.hasFocus)
    QTest.keyClick(editor, Qt.Key.Key_Tab)
    assert canvas.selected_node_ids() == [first]
    QTest.keyClick(canvas.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    field = canvas.find_bar.field
    qtbot.waitUntil(field.hasFocus)
    QTest.keyClick(field, Qt.Key.Key_Tab)
    assert canvas.selected_node_ids() == [first]
    canvas.find_bar.close_bar()


# -- Enter ------------------------------------------------------------------------------------------
def test_enter_puts_the_keyboard_in_the_first_hyperparameter(make_window, qtbot):
    window = make_window()
    canvas = window.canvas
    canvas.select_nodes([ids_by_title(canvas)["0"]])   # a Linear
    focus(canvas, qtbot)
    QTest.keyClick(canvas.view, Qt.Key.Key_Return)
    first = next(iter(window.properties.editors.values()))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is first.field)
    QTest.keyClicks(first.field, "7")
    QTest.keyClick(first.field, Qt.Key.Key_Return)
    node = canvas.scene.model.nodes[ids_by_title(canvas)["0"]]
    assert node.params[first.spec.name] == 7
    # Esc brings the keyboard back to the canvas, on the same block: Tab goes on from there.
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(canvas.view.hasFocus)
    assert canvas.selected_node_ids() == [node.id]
    QTest.keyClick(canvas.view, Qt.Key.Key_Tab)
    assert canvas.selected_node_ids() == [ids_by_title(canvas)["1"]]


def test_enter_without_a_parameter_goes_to_the_name(make_window, qtbot):
    window = make_window()
    canvas = window.canvas
    canvas.select_nodes([ids_by_title(canvas)["output"]])   # an Output: nothing to set but its name
    assert window.properties.editors == {}
    focus(canvas, qtbot)
    QTest.keyClick(canvas.view, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.properties.name_edit)


# -- connect mode ---------------------------------------------------------------------------------------
def test_connect_mode_offers_the_free_inputs_and_enter_connects(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    relu = canvas.add_block_at("ReLU", QPointF(540, 240))
    sigmoid = canvas.add_block_at("Sigmoid", QPointF(810, 240))
    x = ids_by_title(canvas)["X"]
    canvas.select_nodes([x])
    focus(canvas, qtbot)
    assert canvas.actions["connect"].shortcuts()[0] == QKeySequence("C") and canvas.actions["connect"].toolTip()
    before = edges_of(canvas)

    QTest.keyClick(canvas.view, Qt.Key.Key_C)
    assert canvas.node_item(relu).port_states[("input", "in")] == VALID
    assert canvas.node_item(sigmoid).port_states[("input", "in")] == CANDIDATE
    assert canvas.view.hint_text.startswith("Enter: connect X → ReLU")
    QTest.keyClick(canvas.view, Qt.Key.Key_Tab)
    assert canvas.node_item(sigmoid).port_states[("input", "in")] == VALID
    assert canvas.node_item(relu).port_states[("input", "in")] == CANDIDATE
    assert canvas.view.hint_text.startswith("Enter: connect X → Sigmoid")
    QTest.keyClick(canvas.view, Qt.Key.Key_Return)

    assert edges_of(canvas) == before | {(x, "out", sigmoid, "in")}
    assert canvas.selected_node_ids() == [sigmoid]      # C again goes on from there
    assert not canvas.connect_mode.active
    assert all(canvas.node_item(i).port_states == {} for i in (x, relu, sigmoid))
    assert canvas.controller.undo_stack.undoText() == "Connect"
    canvas.controller.undo_stack.undo()
    assert edges_of(canvas) == before


def test_connect_mode_stops_at_each_input_of_a_two_input_block(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    bilinear = canvas.add_block_at("Bilinear", QPointF(1080, 300))
    canvas.select_nodes([ids_by_title(canvas)["X"]])
    focus(canvas, qtbot)
    QTest.keyClick(canvas.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | SHIFT)
    stops = canvas.connect_mode.stops
    assert [ref for _, ref in stops] == [PortRef(bilinear, "input", "input1"), PortRef(bilinear, "input", "input2")]
    QTest.keyClick(canvas.view, Qt.Key.Key_Down)
    assert canvas.view.hint_text.startswith("Enter: connect X → Bilinear.input2")
    QTest.keyClick(canvas.view, Qt.Key.Key_Enter)
    assert (ids_by_title(canvas)["X"], "out", bilinear, "input2") in edges_of(canvas)


def test_escape_cancels_connect_mode(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    ids = ids_by_title(canvas)   # before the chain gains a block and its names go
    bilinear = canvas.add_block_at("Bilinear", QPointF(1080, 300))
    x = ids["X"]
    canvas.select_nodes([x])
    focus(canvas, qtbot)
    before = edges_of(canvas)
    QTest.keyClick(canvas.view, Qt.Key.Key_C)
    assert canvas.connect_mode.active
    QTest.keyClick(canvas.view, Qt.Key.Key_Escape)
    assert not canvas.connect_mode.active and canvas.view.hint_text == ""
    assert edges_of(canvas) == before
    assert all(canvas.node_item(i).port_states.get(("input", p), NORMAL) == NORMAL
               for i in (bilinear,) for p in ("input1", "input2"))
    assert canvas.selected_node_ids() == [x]          # Esc ended the mode, not the selection
    QTest.keyClick(canvas.view, Qt.Key.Key_Tab)        # and Tab is the canvas's again
    assert canvas.selected_node_ids() == [ids["0"]]


def test_connect_mode_says_when_nothing_can_be_connected(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    canvas.select_nodes([ids_by_title(canvas)["0"]])   # every input is taken
    focus(canvas, qtbot)
    QTest.keyClick(canvas.view, Qt.Key.Key_C)
    assert not canvas.connect_mode.active
    assert "No block has a free input" in canvas.view.hint_text


def test_connect_mode_first_offers_the_outputs_of_a_block_with_several(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    chunk = canvas.add_block_at("Function", QPointF(540, 300))
    canvas.controller.document.set_param(canvas.current_definition, chunk, "function", "torch.chunk")
    canvas.controller.document.set_param(canvas.current_definition, chunk, "call",
                                         {"args": [{"port": "x"}, 2], "kwargs": {}})
    assert canvas.node_item(chunk).look.outputs == ("out0", "out1")
    sigmoid = canvas.add_block_at("Sigmoid", QPointF(810, 300))
    canvas.select_nodes([chunk])
    focus(canvas, qtbot)
    QTest.keyClick(canvas.view, Qt.Key.Key_C)
    assert canvas.node_item(chunk).port_states == {("output", "out0"): VALID, ("output", "out1"): CANDIDATE}
    assert canvas.view.hint_text.startswith("Enter: connect from Function.out0")
    QTest.keyClick(canvas.view, Qt.Key.Key_Tab)
    QTest.keyClick(canvas.view, Qt.Key.Key_Return)    # out1 chosen: now the inputs
    assert [ref for _, ref in canvas.connect_mode.stops] == [PortRef(sigmoid, "input", "in")]
    assert canvas.view.hint_text.startswith("Enter: connect Function.out1 → Sigmoid")
    QTest.keyClick(canvas.view, Qt.Key.Key_Return)
    assert (chunk, "out1", sigmoid, "in") in edges_of(canvas)


def test_the_block_tab_went_to_has_a_focus_ring_until_a_click(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    relu = ids_by_title(canvas)["1"]
    view = canvas.view

    def ring_drawn() -> bool:
        """The ring's blue, just left of the block's card (on the grid or a white halo without it)."""
        item = canvas.node_item(relu)
        left = item.mapRectToScene(item.rect)
        point = view.mapFromScene(QPointF(left.left() - RING_GAP, left.center().y() + 20))
        color = view.viewport().grab().toImage().pixelColor(point)
        return color.blue() > color.red() + 60

    canvas.select_nodes([relu])        # selected, not focused by the keyboard: no ring
    focus(canvas, qtbot)
    assert not ring_drawn()
    QTest.keyClick(view, Qt.Key.Key_Backtab, SHIFT)
    QTest.keyClick(view, Qt.Key.Key_Tab)
    assert canvas.selected_node_ids() == [relu] and view.keyboard_block == relu
    assert ring_drawn()
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(
        canvas.node_item(relu).mapToScene(QPointF(0, 10))))
    assert canvas.selected_node_ids() == [relu] and not ring_drawn()
