"""Canvas gestures driven with real mouse and key events on the view's viewport."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest


def vp(canvas):
    return canvas.view.viewport()


def at(canvas, scene_pos: QPointF) -> QPoint:
    return canvas.view.mapFromScene(scene_pos)


def drag(canvas, start: QPoint, end: QPoint, button=Qt.MouseButton.LeftButton,
         modifiers=Qt.KeyboardModifier.NoModifier, steps: int = 6) -> None:
    QTest.mousePress(vp(canvas), button, modifiers, start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        QTest.mouseMove(vp(canvas), p)
    QTest.mouseRelease(vp(canvas), button, modifiers, end)


def nodes_by_title(canvas) -> dict[str, str]:
    return {item.look.title: node_id for node_id, item in canvas.scene.nodes.items()}


def edges_of(canvas) -> set[tuple[str, str, str, str]]:
    d = canvas.scene.model
    return {(e.src, e.src_port, e.dst, e.dst_port) for e in d.edges.values()}


def focus(canvas, qtbot) -> None:
    canvas.activateWindow()
    canvas.view.setFocus()
    qtbot.waitUntil(lambda: canvas.view.hasFocus())


def press_f2_on(canvas, qtbot, node_id: str):
    """Select the node and press F2 in the focused canvas; the inline rename editor that opens."""
    focus(canvas, qtbot)
    canvas.select_nodes([node_id])
    QTest.keyClick(canvas.view, Qt.Key.Key_F2)
    return canvas._rename_editor


# -- connecting -------------------------------------------------------------------------------------
def test_drag_from_output_to_input_connects(open_canvas):
    canvas = open_canvas("mlp")
    ids = nodes_by_title(canvas)
    doc, controller = canvas.controller.document, canvas.controller
    # Free the ReLU's input first (delete the edge 0 -> 1), then wire X straight into it.
    edge = next(e for e in canvas.scene.model.edges.values() if e.dst == ids["1"])
    canvas.scene.edges[edge.id].setSelected(True)
    canvas.actions["delete"].trigger()
    assert (ids["0"], "out", ids["1"], "in") not in edges_of(canvas)
    relu = canvas.node_item(ids["1"])
    x = canvas.node_item(ids["X"])
    drag(canvas, at(canvas, x.output_pos("out")), at(canvas, relu.input_pos("in")))
    assert (ids["X"], "out", ids["1"], "in") in edges_of(canvas)
    assert controller.undo_stack.undoText() == "Connect"
    # The new edge item is drawn, and its label follows the next check.
    controller.wait_for_check()
    new = next(e for e in canvas.scene.edges.values() if e.dst_item is relu)
    assert new.label_text == "(2, 20)"
    assert doc.project.root_definition.edges  # model unchanged otherwise


def test_drag_from_input_back_to_output_connects(open_canvas):
    canvas = open_canvas("fixed_hidden_mlp")
    ids = nodes_by_title(canvas)
    controller = canvas.controller
    n = controller.undo_stack.count()
    canvas.add_block_at("ReLU", QPointF(700, 300))
    new_id = canvas.selected_node_ids()[0]
    item = canvas.node_item(new_id)
    drag(canvas, at(canvas, item.input_pos("in")), at(canvas, canvas.node_item(ids["relu"]).output_pos("out")))
    assert (ids["relu"], "out", new_id, "in") in edges_of(canvas)
    assert controller.undo_stack.count() == n + 2


def test_output_to_output_and_cycles_are_refused(open_canvas):
    canvas = open_canvas("mlp")
    ids = nodes_by_title(canvas)
    before = edges_of(canvas)
    count = canvas.controller.undo_stack.count()
    first, last = canvas.node_item(ids["0"]), canvas.node_item(ids["2"])
    # output -> output
    drag(canvas, at(canvas, first.output_pos("out")), at(canvas, last.output_pos("out")))
    assert edges_of(canvas) == before and canvas.controller.undo_stack.count() == count
    assert "output to an input" in canvas.view.hint_text
    # An Add fed by the ReLU; its output cannot go back into its own input.
    canvas.add_block_at("Add", QPointF(500, 250))
    add_id = canvas.selected_node_ids()[0]
    add = canvas.node_item(add_id)
    drag(canvas, at(canvas, canvas.node_item(ids["1"]).output_pos("out")), at(canvas, add.input_pos("a")))
    assert (ids["1"], "out", add_id, "a") in edges_of(canvas)
    count = canvas.controller.undo_stack.count()
    drag(canvas, at(canvas, add.output_pos("out")), at(canvas, add.input_pos("b")))
    assert (add_id, "out", add_id, "b") not in edges_of(canvas)
    assert canvas.controller.undo_stack.count() == count
    # Identity -> Add.b, then Add.out -> Identity would close a loop: refused.
    canvas.add_block_at("Identity", QPointF(800, 250))
    ident = canvas.selected_node_ids()[0]
    drag(canvas, at(canvas, canvas.node_item(ident).output_pos("out")), at(canvas, add.input_pos("b")))
    assert (ident, "out", add_id, "b") in edges_of(canvas)
    count = canvas.controller.undo_stack.count()
    drag(canvas, at(canvas, add.output_pos("out")), at(canvas, canvas.node_item(ident).input_pos("in")))
    assert (add_id, "out", ident, "in") not in edges_of(canvas)
    assert canvas.controller.undo_stack.count() == count
    assert "cycle" in canvas.view.hint_text
    # Into an input that is connected already (X -> the first Linear, from the second Linear): refused.
    assert canvas.scene.link_problem(last.ports()[1], first.ports()[0]) is not None


def test_dragging_a_connected_input_reroutes_or_removes_its_edge(open_canvas):
    canvas = open_canvas("mlp")
    ids = nodes_by_title(canvas)
    relu, second = canvas.node_item(ids["1"]), canvas.node_item(ids["2"])
    # Pick up the edge 1 -> 2 at the second Linear's input and drop it on empty canvas: removed.
    empty = at(canvas, second.input_pos("in") + QPointF(0, 200))
    drag(canvas, at(canvas, second.input_pos("in")), empty)
    assert (ids["1"], "out", ids["2"], "in") not in edges_of(canvas)
    canvas.controller.undo_stack.undo()
    assert (ids["1"], "out", ids["2"], "in") in edges_of(canvas)
    assert canvas.scene.edges and all(e.isVisible() for e in canvas.scene.edges.values())
    assert relu is canvas.node_item(ids["1"])


# -- selecting and moving -----------------------------------------------------------------------------------
def test_click_ctrl_click_and_rubber_band_select(open_canvas):
    canvas = open_canvas("mlp")
    ids = nodes_by_title(canvas)
    item = canvas.node_item(ids["0"])
    QTest.mouseClick(vp(canvas), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     at(canvas, item.mapToScene(QPointF(0, 12))))
    assert canvas.selected_node_ids() == [ids["0"]]
    assert canvas.controller.selection == ("main", [ids["0"]])
    QTest.mouseClick(vp(canvas), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     at(canvas, canvas.node_item(ids["2"]).mapToScene(QPointF(0, 12))))
    assert set(canvas.selected_node_ids()) == {ids["0"], ids["2"]}
    QTest.mouseClick(vp(canvas), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     at(canvas, item.mapToScene(QPointF(0, 12))))
    assert canvas.selected_node_ids() == [ids["2"]]
    # Rubber band around X and the first Linear.
    a = canvas.node_item(ids["X"]).sceneBoundingRect().topLeft() - QPointF(20, 20)
    b = item.sceneBoundingRect().bottomRight() + QPointF(5, 5)
    drag(canvas, at(canvas, a), at(canvas, b))
    assert set(canvas.selected_node_ids()) == {ids["X"], ids["0"]}
    # Selection made elsewhere shows here.
    canvas.controller.select("main", [ids["output"]])
    assert canvas.selected_node_ids() == [ids["output"]]


def test_drag_moves_nodes_as_one_snapped_undo_step(open_canvas):
    canvas = open_canvas("mlp")
    ids = nodes_by_title(canvas)
    stack = canvas.controller.undo_stack
    d = canvas.scene.model
    old = d.nodes[ids["0"]].position
    item = canvas.node_item(ids["0"])
    start = at(canvas, item.mapToScene(QPointF(0, 14)))
    count = stack.count()
    drag(canvas, start, start + QPoint(83, 127), steps=12)
    assert stack.count() == count + 1
    new = d.nodes[ids["0"]].position
    assert new != old
    assert new[0] % 10 == 0 and new[1] % 10 == 0            # snapped to the grid
    assert item.pos() == QPointF(*new)
    # The attached edges follow.
    edge = next(e for e in canvas.scene.edges.values() if e.dst_item is item)
    assert edge.path().elementAt(edge.path().elementCount() - 1).x == pytest.approx(item.input_pos("in").x())
    stack.undo()
    assert d.nodes[ids["0"]].position == old
    assert item.pos() == QPointF(*old)
    stack.redo()
    assert d.nodes[ids["0"]].position == new


def test_moving_a_selection_moves_all_of_it_in_one_step(open_canvas):
    canvas = open_canvas("mlp")
    ids = nodes_by_title(canvas)
    stack = canvas.controller.undo_stack
    canvas.select_nodes([ids["0"], ids["1"]])
    d = canvas.scene.model
    before = {i: d.nodes[i].position for i in (ids["0"], ids["1"])}
    start = at(canvas, canvas.node_item(ids["1"]).mapToScene(QPointF(0, 10)))
    count = stack.count()
    drag(canvas, start, start + QPoint(0, 160), steps=8)
    assert stack.count() == count + 1
    for i, (x, y) in before.items():
        assert d.nodes[i].position[0] == x and d.nodes[i].position[1] > y
    stack.undo()
    assert {i: d.nodes[i].position for i in before} == before


# -- keys ---------------------------------------------------------------------------------------------------------
def test_delete_key_removes_selection_in_one_step(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    ids = nodes_by_title(canvas)
    stack = canvas.controller.undo_stack
    focus(canvas, qtbot)
    canvas.select_nodes([ids["1"], ids["2"]])
    count = stack.count()
    QTest.keyClick(canvas.view, Qt.Key.Key_Delete)
    d = canvas.scene.model
    assert ids["1"] not in d.nodes and ids["2"] not in d.nodes
    assert set(canvas.scene.nodes) == set(d.nodes)
    assert set(canvas.scene.edges) == set(d.edges)
    assert stack.count() == count + 1
    stack.undo()
    assert ids["1"] in d.nodes and ids["2"] in d.nodes and len(d.edges) == 4
    assert set(canvas.scene.edges) == set(d.edges)


def test_f2_renames_inline_enter_applies_escape_cancels(open_canvas, qtbot):
    canvas = open_canvas("fixed_hidden_mlp")
    ids = nodes_by_title(canvas)
    editor = press_f2_on(canvas, qtbot, ids["relu"])
    assert editor is not None and editor.text() == "relu"
    editor.selectAll()
    QTest.keyClicks(editor, "activation")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert canvas.scene.model.nodes[ids["relu"]].name == "activation"
    assert canvas.node_item(ids["relu"]).look.title == "activation"
    assert canvas.controller.undo_stack.undoText() == "Rename to 'activation'"
    # Escape leaves the name alone.
    editor = press_f2_on(canvas, qtbot, ids["add"])
    assert editor is not None and editor.text() == "add"
    QTest.keyClicks(editor, "zzz")
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert canvas.scene.model.nodes[ids["add"]].name == "add"
    canvas.controller.undo_stack.undo()
    assert canvas.node_item(ids["relu"]).look.title == "relu"


@pytest.mark.parametrize("typed, hint", [
    ("my relu", "'my relu' is not a valid name: use letters, digits and underscores, not starting with a digit."),
    ("add", "Another block in main is already named 'add'."),
    ("x" * 201, "A name can have at most 200 characters, not 201."),
])
def test_f2_refuses_a_name_the_engine_refuses_and_says_why(open_canvas, qtbot, typed, hint):
    canvas = open_canvas("fixed_hidden_mlp")
    ids = nodes_by_title(canvas)
    editor = press_f2_on(canvas, qtbot, ids["relu"])
    editor.selectAll()
    QTest.keyClicks(editor, typed)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert canvas.scene.model.nodes[ids["relu"]].name == "relu"
    assert canvas.controller.undo_stack.count() == 0
    assert canvas.view._hint.text() == hint


def test_zoom_keys_wheel_and_fit(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    focus(canvas, qtbot)
    view = canvas.view
    z0 = view.zoom()
    QTest.keyClick(view, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() == pytest.approx(z0 * 1.25)
    QTest.keyClick(view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() == pytest.approx(z0 / 1.25)
    assert canvas.breadcrumb.zoom_label.text() == f"{view.zoom() * 100:.0f}%"
    QTest.keyClick(view, Qt.Key.Key_F)
    assert view.zoom() == pytest.approx(z0)
    # Every node is visible after fit.
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(visible.contains(item.sceneBoundingRect()) for item in canvas.scene.nodes.values())


def test_wheel_zoom_keeps_the_point_under_the_mouse(open_canvas):
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication
    canvas = open_canvas("mlp")
    view = canvas.view
    pos = QPointF(300, 200)
    under = view.mapToScene(pos.toPoint())
    z0 = view.zoom()
    event = QWheelEvent(pos, view.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)
    assert view.zoom() > z0 * 1.3
    after = view.mapFromScene(under)
    assert abs(after.x() - pos.x()) <= 2 and abs(after.y() - pos.y()) <= 2


def test_middle_button_and_space_drag_pan(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    view, d = canvas.view, canvas.scene.model
    node = canvas.node_item(nodes_by_title(canvas)["0"])
    positions = {node_id: (d.nodes[node_id].position, item.pos()) for node_id, item in canvas.scene.nodes.items()}
    count = canvas.controller.undo_stack.count()
    center = view.mapToScene(view.viewport().rect().center())
    # A middle-button drag that starts on a block pans the view and leaves the block where it was.
    start = at(canvas, node.mapToScene(QPointF(0, 10)))
    drag(canvas, start, start + QPoint(-100, -50), button=Qt.MouseButton.MiddleButton)
    moved = view.mapToScene(view.viewport().rect().center())
    assert moved.x() - center.x() == pytest.approx(100 / view.zoom(), abs=2 / view.zoom())
    assert moved.y() - center.y() == pytest.approx(50 / view.zoom(), abs=2 / view.zoom())
    assert {node_id: (d.nodes[node_id].position, item.pos()) for node_id, item in canvas.scene.nodes.items()} \
        == positions
    assert canvas.controller.undo_stack.count() == count and not canvas.selected_node_ids()
    focus(canvas, qtbot)
    QTest.keyPress(view, Qt.Key.Key_Space)
    start = at(canvas, node.mapToScene(QPointF(0, 10)))
    drag(canvas, start, start + QPoint(-80, 0))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    # Space + drag panned the view instead of moving the node.
    assert canvas.controller.undo_stack.count() == count
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() - moved.x() == pytest.approx(80 / view.zoom(), abs=2 / view.zoom())


# -- navigation -------------------------------------------------------------------------------------------------------
def test_double_click_opens_a_block_and_the_breadcrumb_goes_back(open_canvas, qtbot):
    canvas = open_canvas("chimera")
    opened = []
    canvas.definition_opened.connect(lambda d, p: opened.append((d, p)))
    ids = nodes_by_title(canvas)
    block = canvas.node_item(ids["0"])
    QTest.mouseDClick(vp(canvas), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      at(canvas, block.mapToScene(QPointF(0, 10))))
    assert canvas.current_definition == "NestMLP"
    assert canvas.current_path == (ids["0"],)
    assert opened == [("NestMLP", (ids["0"],))]
    assert {i.look.title for i in canvas.scene.nodes.values()} == {"X", "net", "linear", "output"}
    assert canvas.breadcrumb.labels == ["chimera", "0 · NestMLP"]
    canvas.controller.wait_for_check()
    labels = sorted(e.label_text for e in canvas.scene.edges.values())
    assert labels == ["(2, 16)", "(2, 20)", "(2, 32)"]
    # One level deeper, into the Sequential "net".
    net = canvas.node_item(nodes_by_title(canvas)["net"])
    QTest.mouseDClick(vp(canvas), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      at(canvas, net.mapToScene(QPointF(0, 10))))
    assert canvas.current_definition == "NestMLP_net"
    assert len(canvas.breadcrumb.buttons) == 3
    canvas.breadcrumb.buttons[0].click()
    assert canvas.current_path == () and canvas.current_definition == "main"
    assert opened[-1] == ("main", ())
    assert {i.look.title for i in canvas.scene.nodes.values()} == {"X", "0", "1", "2", "output"}


def test_context_menu_of_a_node_and_of_the_canvas(open_canvas):
    canvas = open_canvas("tied")
    ids = nodes_by_title(canvas)
    canvas.select_nodes([ids["0"]])
    menu = canvas.build_context_menu(ids["0"])
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[:5] == ["Rename…", "Duplicate", "Copy", "Delete", "Group into Block"]
    assert "Share Parameters with…" in texts
    empty = [a.text() for a in canvas.build_context_menu(None).actions() if a.text()]
    assert empty == ["Paste", "Auto Layout", "Fit All"]


def test_dragging_a_connected_input_to_another_input_reroutes_in_one_step(open_canvas):
    canvas = open_canvas("fixed_hidden_mlp")
    ids = nodes_by_title(canvas)
    stack = canvas.controller.undo_stack
    canvas.add_block_at("Identity", QPointF(920, 260))
    ident = canvas.selected_node_ids()[0]
    count = stack.count()
    # The edge relu -> linear_again is picked up at linear_again's input and dropped on the Identity.
    target = canvas.node_item(ident)
    drag(canvas, at(canvas, canvas.node_item(ids["linear_again"]).input_pos("in")), at(canvas, target.input_pos("in")))
    assert (ids["relu"], "out", ident, "in") in edges_of(canvas)
    assert (ids["relu"], "out", ids["linear_again"], "in") not in edges_of(canvas)
    assert stack.count() == count + 1 and stack.undoText() == "Reconnect"
    stack.undo()
    assert (ids["relu"], "out", ids["linear_again"], "in") in edges_of(canvas)
    assert all(e.isVisible() for e in canvas.scene.edges.values())


def test_keyboard_shortcuts_select_copy_paste_group_and_ungroup(open_canvas, qtbot):
    from PySide6.QtGui import QGuiApplication
    canvas = open_canvas("fixed_hidden_mlp")
    ids = nodes_by_title(canvas)
    focus(canvas, qtbot)
    view, d = canvas.view, canvas.scene.model
    QTest.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert set(canvas.selected_node_ids()) == set(d.nodes)
    canvas.select_nodes([ids["relu"]])
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    pasted = canvas.selected_node_ids()
    d = canvas.scene.model
    assert len(pasted) == 1 and d.nodes[pasted[0]].name == "relu_2"
    QTest.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    d = canvas.scene.model
    assert d.nodes[canvas.selected_node_ids()[0]].name == "relu_3"
    canvas.select_nodes([ids["add"], ids["relu"]])
    QTest.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    d = canvas.scene.model
    block = canvas.selected_node_ids()[0]
    assert d.nodes[block].type == "Block" and ids["add"] not in d.nodes
    QTest.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    d = canvas.scene.model
    assert block not in d.nodes and {d.nodes[i].type for i in canvas.selected_node_ids()} == {"AddScalar", "ReLU"}
    QGuiApplication.clipboard().clear()


def test_arrow_keys_nudge_the_selection_by_the_grid(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    ids = nodes_by_title(canvas)
    node = canvas.controller.document.definition("main").nodes[ids["0"]]
    x, y = node.position
    canvas.select_nodes([ids["0"]])
    focus(canvas, qtbot)
    qtbot.keyClick(canvas.view, Qt.Key.Key_Right)
    qtbot.keyClick(canvas.view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert node.position == (x + 10, y + 50)
    canvas.controller.undo_stack.undo()
    assert node.position == (x + 10, y)
