"""Blocks expanded in place: a nested block shows its insides within the parent's canvas,
with this instance's shapes; the other blocks make room; nothing of it is an edit."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtTest import QTest

from ui.canvas.looks import shape_text
from ui.document.commands import SetParam


def vp(canvas):
    return canvas.view.viewport()


def click_chevron(canvas, node_id: str) -> None:
    item = canvas.scene.nodes[node_id]
    centre = item.mapToScene(item.chevron_rect().center())
    canvas.view.centerOn(centre)
    QTest.mouseClick(vp(canvas), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     canvas.view.mapFromScene(centre))


def by_title(canvas) -> dict[str, str]:
    return {item.look.title: node_id for node_id, item in canvas.scene.nodes.items()}


def chimera(open_canvas):
    canvas = open_canvas("chimera")
    canvas.view.set_zoom(1.0)
    return canvas, by_title(canvas)


def test_clicking_the_arrow_shows_the_blocks_insides_with_this_instances_shapes(open_canvas):
    canvas, ids = chimera(open_canvas)
    scene, controller = canvas.scene, canvas.controller
    project = controller.document.project
    block = ids["2"]
    frame = scene.nodes[block]
    assert frame.look.expandable and frame.inside is None
    card = frame.rect.width()
    click_chevron(canvas, block)
    assert frame.inside is not None
    inner_def = project.definitions[project.root_definition.nodes[block].params["definition"]]
    assert set(frame.inside.nodes) == set(inner_def.nodes)
    assert set(frame.inside.edges) == set(inner_def.edges)
    # Each inner edge says what this instance infers there (the path of the block inside the top level).
    result = controller.result
    for edge in frame.inside.edges.values():
        expected = shape_text(result.output(edge.src_item.node_id, edge.src_port, (block,)))
        assert edge.label_text == expected != "?"
    assert frame.rect.width() > card
    # The frame's ports lead to their Input and Output cards (a dotted line on each paint).
    for port, node in [(n.name, n) for n in inner_def.inputs]:
        assert frame.inside.port_anchor(port, False) == frame.inside.nodes[node.id].input_pos("")
    for port, node in [(n.name, n) for n in inner_def.outputs]:
        assert frame.inside.port_anchor(port, True) == frame.inside.nodes[node.id].output_pos("")
    assert frame.inside.port_anchor("no such port", False) is None
    # The cards sit inside the frame.
    for item in frame.inside.nodes.values():
        assert frame.sceneBoundingRect().contains(item.sceneBoundingRect())
    # Expanding is a way of looking: no undo step, the model unchanged.
    assert controller.undo_stack.count() == 0
    # Clicking the arrow again collapses it.
    click_chevron(canvas, block)
    assert frame.inside is None and frame.rect.width() == card


def test_the_other_blocks_make_room_and_come_back_when_collapsed(open_canvas):
    canvas, ids = chimera(open_canvas)
    scene = canvas.scene
    d = scene.model
    before = {i: QPointF(item.pos()) for i, item in scene.nodes.items()}
    positions = {i: n.position for i, n in d.nodes.items()}
    scene.set_expanded([ids["0"], ids["2"]])
    frames = [scene.nodes[ids["0"]], scene.nodes[ids["2"]]]
    # No block is covered by a frame, and the order along the chain is kept.
    for node_id, item in scene.nodes.items():
        for frame in frames:
            if item is not frame:
                assert not frame.sceneBoundingRect().intersects(item.sceneBoundingRect()), node_id
    xs = [scene.nodes[ids[t]].pos().x() for t in ("X", "0", "1", "2", "output")]
    assert xs == sorted(xs)
    assert scene.nodes[ids["output"]].pos().x() > before[ids["output"]].x()
    assert {i: n.position for i, n in d.nodes.items()} == positions        # the model did not move
    # The edges into and out of a frame still end at its ports.
    for edge in scene.edges.values():
        assert edge.path().pointAtPercent(0) == edge.src_item.output_pos(edge.src_port)
        assert edge.path().pointAtPercent(1) == edge.dst_item.input_pos(edge.dst_port)
    canvas.actions["collapse_all"].trigger()
    assert {i: QPointF(item.pos()) for i, item in scene.nodes.items()} == before


def test_a_block_dragged_beside_an_expanded_one_lands_where_the_model_says(open_canvas, qtbot):
    canvas, ids = chimera(open_canvas)
    scene = canvas.scene
    scene.set_expanded([ids["0"]])
    linear = scene.nodes[ids["1"]]
    room = scene.nodes[ids["0"]].rect.width() - linear.rect.width()
    old_model = scene.model.nodes[ids["1"]].position
    start = linear.mapToScene(QPointF(0, linear.rect.top() + 8))
    canvas.view.centerOn(start)
    p0 = canvas.view.mapFromScene(start)
    QTest.mousePress(vp(canvas), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0)
    for i in range(1, 7):
        QTest.mouseMove(vp(canvas), p0 + QPoint(10 * i, 0))
    QTest.mouseRelease(vp(canvas), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0 + QPoint(60, 0))
    new_model = scene.model.nodes[ids["1"]].position
    assert new_model == (old_model[0] + 60, old_model[1])   # the model moved by the drag, not by the room
    assert linear.pos().x() == new_model[0] + room
    canvas.controller.undo_stack.undo()
    assert scene.model.nodes[ids["1"]].position == old_model
    assert linear.pos().x() == old_model[0] + room


def test_an_edit_to_the_definition_redraws_the_expanded_block(open_canvas, qtbot):
    canvas, ids = chimera(open_canvas)
    scene, controller = canvas.scene, canvas.controller
    block = ids["0"]
    scene.set_expanded([block])
    frame = scene.nodes[block]
    inner_name = scene.model.nodes[block].params["definition"]
    inner = controller.document.project.definitions[inner_name]
    linear = next(n for n in inner.nodes.values() if n.type == "Linear")
    out_edge = next(e for e in frame.inside.edges.values() if e.src_item.node_id == linear.id)
    assert out_edge.label_text == "(2, 16)"
    controller.push(SetParam(controller.document, inner_name, linear.id, "out_features", 7))
    controller.wait_for_check()
    qtbot.waitUntil(lambda: next(e for e in scene.nodes[block].inside.edges.values()
                                 if e.src_item.node_id == linear.id).label_text == "(2, 7)")
    card = scene.nodes[block].inside.nodes[linear.id]
    assert ("out_features", "7") in card.look.params


def test_double_click_on_a_card_inside_opens_the_block_there(open_canvas, qtbot):
    canvas, ids = chimera(open_canvas)
    scene = canvas.scene
    block = ids["2"]
    scene.set_expanded([block])
    inner = scene.nodes[block].inside
    target = next(i for i, item in inner.nodes.items() if item.look.title == "relu")
    centre = inner.nodes[target].sceneBoundingRect().center()
    canvas.view.centerOn(centre)
    assert scene.node_at(centre) is scene.nodes[block]     # a press there picks (and drags) the frame
    QTest.mouseDClick(vp(canvas), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      canvas.view.mapFromScene(centre))
    assert canvas.current_path == (block,)
    assert canvas.selected_node_ids() == [target]
    # Back at the top level the block is still expanded.
    canvas.open_definition(())
    assert scene.nodes[block].inside is not None


def test_e_toggles_the_selection_and_nested_blocks_expand_too(open_canvas, qtbot):
    canvas, ids = chimera(open_canvas)
    scene = canvas.scene
    canvas.activateWindow()
    canvas.view.setFocus()
    qtbot.waitUntil(canvas.view.hasFocus)
    canvas.select_nodes([ids["0"]])
    assert canvas.actions["expand"].text() == "Expand in Place"
    QTest.keyClick(canvas.view, Qt.Key.Key_E)
    frame = scene.nodes[ids["0"]]
    assert frame.inside is not None
    assert canvas.actions["expand"].text() == "Collapse"
    # The block inside (an MLP) expands within the frame; the frame grows to hold it.
    net = next(i for i, item in frame.inside.nodes.items() if item.look.expandable)
    width = frame.rect.width()
    scene.expansion.expanded.add((ids["0"], net))
    scene.set_expanded([ids["0"]], False)
    scene.set_expanded([ids["0"]], True)
    assert (ids["0"], net) not in scene.expansion.expanded     # collapsing forgets what was open inside
    scene.expansion.expanded.add((ids["0"], net))
    scene.expansion.dirty.add(ids["0"])
    scene.expansion.after_edit()
    frame = scene.nodes[ids["0"]]
    nested = frame.inside.nodes[net]
    assert nested.inside is not None and frame.rect.width() > width
    assert frame.sceneBoundingRect().contains(nested.sceneBoundingRect())
    QTest.keyClick(canvas.view, Qt.Key.Key_E)
    assert scene.nodes[ids["0"]].inside is None


def test_zoomed_out_the_sketch_draws_the_cards_inside(open_canvas, qtbot):
    canvas, ids = chimera(open_canvas)
    scene = canvas.scene
    scene.set_expanded([ids["2"]])
    canvas.fit()
    canvas.view.set_zoom(0.3)
    assert scene.sketched
    frame = scene.nodes[ids["2"]]
    titles = set(scene.sketch().titles)
    assert {item.look.title for item in frame.inside.nodes.values()} <= titles
    # The cards inside are painted: a card's colour appears at its place in the rendered view.
    image = QImage(canvas.view.viewport().size(), QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    canvas.view.render(painter)
    painter.end()
    card = next(item for item in frame.inside.nodes.values() if item.look.title == "relu")
    corner = canvas.view.mapFromScene(card.mapToScene(card.rect.topLeft() + QPointF(16, 12)))
    pixel, fill = image.pixelColor(corner), QColor(card.fill_name)
    assert max(abs(pixel.red() - fill.red()), abs(pixel.green() - fill.green()),
               abs(pixel.blue() - fill.blue())) < 12, (pixel.name(), fill.name())
    # A press inside the frame picks the frame, never a card inside.
    assert scene.node_at(card.sceneBoundingRect().center()) is frame


def test_removing_an_expanded_block_and_undoing_brings_it_back_collapsed_and_room_goes(open_canvas):
    canvas, ids = chimera(open_canvas)
    scene = canvas.scene
    before = {i: QPointF(item.pos()) for i, item in scene.nodes.items()}
    scene.set_expanded([ids["2"]])
    canvas.select_nodes([ids["2"]])
    canvas.actions["delete"].trigger()
    assert ids["2"] not in scene.nodes
    assert scene.nodes[ids["output"]].pos() == before[ids["output"]]
    canvas.controller.undo_stack.undo()
    assert scene.nodes[ids["2"]].inside is None
    canvas.open_definition(())                      # drawn again from scratch: still one card
    assert scene.nodes[ids["2"]].inside is None
    assert {i: QPointF(item.pos()) for i, item in scene.nodes.items()} == before


def test_expand_all_stops_before_drawing_too_many_cards(open_canvas, monkeypatch):
    """Expand All on a graph of many big blocks expands as many as stay under the limit of cards,
    and says so in one sentence; Collapse All brings every one back."""
    from ui.canvas import canvas_widget
    canvas, ids = chimera(open_canvas)
    scene = canvas.scene
    project = canvas.controller.document.project
    sizes = {i: len(project.definitions[scene.model.nodes[i].params["definition"]].nodes)
             for i, item in scene.nodes.items() if item.look.expandable}
    assert len(sizes) == 2
    monkeypatch.setattr(canvas_widget, "EXPAND_ALL_CARDS", max(sizes.values()))
    canvas.actions["expand_all"].trigger()
    expanded = [i for i in sizes if scene.is_expanded(i)]
    assert len(expanded) == 1 and sum(sizes[i] for i in expanded) <= max(sizes.values())
    assert canvas.view.hint_text.startswith("Expanded 1 of 2 blocks")
    canvas.actions["collapse_all"].trigger()
    assert not any(scene.is_expanded(i) for i in sizes)
    monkeypatch.setattr(canvas_widget, "EXPAND_ALL_CARDS", 10_000)
    canvas.actions["expand_all"].trigger()
    assert all(scene.is_expanded(i) for i in sizes)
