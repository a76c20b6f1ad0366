"""The canvas on big graphs: feedback after an edit touches only what changed,
zoomed out blocks are a sketch with readable names, the minimap and Ctrl+F."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem

from netstudio.graph import Document
from ui.canvas import theme
from ui.canvas.node_item import NodeItem
from ui.document.commands import Connect, Disconnect, MoveNodes, Rename, SetParam


def chain_project(n_blocks: int, columns: int = 10):
    """Input -> Linear/ReLU alternating -> Output, in rows of ``columns``; names l0, r1, l2..."""
    doc = Document()
    d = doc.project.root_definition
    for e in list(d.edges):
        doc.disconnect(d.name, e)
    prev = d.inputs[0].id
    with doc.batch():
        for i in range(n_blocks):
            linear = i % 2 == 0
            row, col = divmod(i + 1, columns)
            node = doc.add_node(d.name, "Linear" if linear else "ReLU", name=f"{'l' if linear else 'r'}{i}",
                                params={"out_features": 20} if linear else {}, position=(col * 230.0, row * 160.0))
            doc.connect(d.name, prev, "out", node.id, "in")
            prev = node.id
        row, col = divmod(n_blocks + 1, columns)
        doc.move(d.name, d.outputs[0].id, (col * 230.0, row * 160.0))
        doc.connect(d.name, prev, "out", d.outputs[0].id, "in")
    return doc.project


def node_named(canvas, name: str) -> NodeItem:
    return next(item for item in canvas.scene.nodes.values() if item.look.title == name)


def out_edge(canvas, item: NodeItem):
    return next(e for e in item.edges if e.src_item is item)


def dark_pixels(image, rect) -> int:
    """Pixels of text colour (dark) inside ``rect`` (device pixels) of ``image``."""
    count = 0
    for x in range(max(rect.left(), 0), min(rect.right(), image.width() - 1)):
        for y in range(max(rect.top(), 0), min(rect.bottom(), image.height() - 1)):
            if QColor(image.pixel(x, y)).lightness() < 110:
                count += 1
    return count


def device_rect(canvas, item: NodeItem):
    return canvas.view.mapFromScene(item.mapRectToScene(item.rect)).boundingRect()


# -- feedback after an edit ------------------------------------------------------------------
def test_an_edit_updates_only_the_nodes_downstream_as_far_as_shapes_change(open_canvas, qtbot, monkeypatch):
    canvas = open_canvas(chain_project(80))
    scene, controller = canvas.scene, canvas.controller
    edited = node_named(canvas, "l40")
    looked_at: list[str] = []
    original = NodeItem.set_status
    monkeypatch.setattr(NodeItem, "set_status", lambda self, status: (looked_at.append(self.node_id),
                                                                       original(self, status))[1])
    with qtbot.waitSignal(scene.check_applied, timeout=5000):
        controller.push(SetParam(controller.document, "main", edited.node_id, "out_features", 33))
    assert out_edge(canvas, edited).label_text == "(2, 33)"
    relu = out_edge(canvas, edited).dst_item
    assert out_edge(canvas, relu).label_text == "(2, 33)"
    assert node_named(canvas, "l42").status.stats == "deferred · 680 params"     # 33 * 20 + 20
    # The next Linear's output is (2, 20) as before: the walk stops there, far from all 82 nodes.
    assert set(looked_at) <= {edited.node_id, relu.node_id, node_named(canvas, "l42").node_id}

    # Removing an edge: the block after it loses its input shape, and gets it back on undo.
    looked_at.clear()
    edge = out_edge(canvas, relu)
    with qtbot.waitSignal(scene.check_applied, timeout=5000):
        controller.push(Disconnect(controller.document, "main", edge.edge_id))
    assert node_named(canvas, "l42").status.severity == "error"
    # Upstream only the edge's source (its output is now unused) and l40 (edited just before).
    upstream = {node_named(canvas, f"{'l' if i % 2 == 0 else 'r'}{i}").node_id for i in range(40)}
    assert looked_at and not set(looked_at) & upstream
    with qtbot.waitSignal(scene.check_applied, timeout=5000):
        controller.undo_stack.undo()
    assert node_named(canvas, "l42").status.severity is None
    assert out_edge(canvas, relu).label_text == "(2, 33)"


@pytest.mark.parametrize("seed", range(4))
def test_feedback_after_random_edits_equals_a_full_update(open_canvas, seed):
    """Whatever the edits, the nodes left alone show what a full update would show."""
    rng = random.Random(seed)
    canvas = open_canvas(rng.choice([chain_project(30), "chimera", "mlp", "tied"]))
    scene, controller = canvas.scene, canvas.controller
    doc, stack = controller.document, controller.undo_stack

    def shown() -> dict:
        return {i: (item.status, tuple(sorted(e.label_text for e in item.edges if e.src_item is item)))
                for i, item in scene.nodes.items()}
    for _ in range(25):
        d = scene.model
        linears = [n.id for n in d.nodes.values() if n.type == "Linear"]
        op = rng.choice(["param", "param", "disconnect", "connect", "add", "undo", "undo", "redo"])
        if op == "param" and linears:
            controller.push(SetParam(doc, d.name, rng.choice(linears), "out_features", rng.randint(1, 64)))
        elif op == "disconnect" and d.edges:
            controller.push(Disconnect(doc, d.name, rng.choice(list(d.edges))))
        elif op == "connect":
            outs = [r for i in scene.nodes.values() for r in i.ports() if r.is_output]
            ins = [r for i in scene.nodes.values() for r in i.ports() if not r.is_output]
            src, dst = rng.choice(outs), rng.choice(ins)
            if scene.link_problem(src, dst) is None:
                controller.push(Connect(doc, d.name, src.node_id, src.name, dst.node_id, dst.name))
        elif op == "add":
            canvas.add_block_at(rng.choice(["Linear", "ReLU"]), QPointF(rng.uniform(0, 900), 400))
        elif op in ("undo", "redo"):
            getattr(stack, op)()
        controller.wait_for_check()
        incremental = shown()
        scene._feedback.forget()
        scene.apply_result(controller.result, emit=False)
        assert shown() == incremental, op


# -- level of detail --------------------------------------------------------------------------
def test_zoomed_out_blocks_are_cards_with_names_that_stay_readable(open_canvas, qtbot):
    canvas = open_canvas(chain_project(60))
    view, scene = canvas.view, canvas.scene
    item = node_named(canvas, "l20")
    for zoom in (0.3, 0.45):
        view.set_zoom(zoom)
        view.centerOn(item)
        assert scene.sketched and item.opacity() == 0.0 and not out_edge(canvas, item).isVisible()
        image = view.viewport().grab().toImage()
        card = device_rect(canvas, item)
        assert card.width() < 80   # the block's own 12 px title would be under 6 px here
        assert dark_pixels(image, card) > 25, f"no readable name at {zoom:.0%}"
        # The card itself is drawn in its category's tint.
        center = image.pixelColor(card.center().x(), card.top() + 3)
        assert center == theme.tint(theme.category_color(item.look.category), 0.35)
    view.set_zoom(1.0)
    qtbot.waitUntil(lambda: not scene.lod.pending)      # out of view, it changes a few turns later
    assert not scene.sketched and item.opacity() == 1.0 and out_edge(canvas, item).isVisible()


def test_crossing_the_sketch_threshold_changes_the_blocks_in_view_at_once_and_the_rest_soon(open_canvas, qtbot):
    """30,000 calls into Qt at the moment the zoom crossed 50% made a 55 ms frame on 10,000 blocks:
    the items in view change at once, the others a chunk per turn of the event loop."""
    from ui.canvas.level_of_detail import CHUNK
    canvas = open_canvas(chain_project(2 * CHUNK))
    view, scene = canvas.view, canvas.scene
    view.set_zoom(0.6)
    view.centerOn(node_named(canvas, "l20"))
    qtbot.waitUntil(lambda: not scene.lod.pending)
    view.set_zoom(0.45)
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    in_view = [i for i in scene.nodes.values() if shown.intersects(i.sceneBoundingRect())]
    assert in_view and all(i.opacity() == 0.0 for i in in_view)
    assert scene.lod.pending
    later = [i for i in scene.nodes.values() if i.opacity() == 1.0]
    assert later                                              # out of view: not yet
    view.set_zoom(0.55)                                       # back before the rest is done
    view.set_zoom(0.45)
    qtbot.waitUntil(lambda: not scene.lod.pending)
    assert all(i.opacity() == 0.0 for i in scene.nodes.values())
    assert not any(e.isVisible() or e.label.isVisible() for e in scene.edges.values())
    view.set_zoom(1.2)
    qtbot.waitUntil(lambda: not scene.lod.pending)
    assert all(i.opacity() == 1.0 and i.cacheMode() == QGraphicsItem.CacheMode.DeviceCoordinateCache
               for i in scene.nodes.values())
    assert all(e.isVisible() and e.label.isVisible() for e in scene.edges.values())


def test_the_sketch_follows_edits(open_canvas, qtbot):
    canvas = open_canvas(chain_project(60))
    view, controller = canvas.view, canvas.controller
    item = node_named(canvas, "l20")
    view.set_zoom(0.45)
    view.centerOn(item)
    card = device_rect(canvas, item)
    before = view.viewport().grab().toImage().copy(card)
    controller.push(Rename(controller.document, "main", item.node_id, "wide"))
    after = view.viewport().grab().toImage().copy(card)
    assert after != before and node_named(canvas, "wide") is item
    # Moved: the card is drawn at its new place.
    controller.push(MoveNodes(controller.document, "main", {item.node_id: ((230.0, 320.0), (230.0, 420.0))}))
    image = view.viewport().grab().toImage()
    moved = device_rect(canvas, item)
    assert moved.top() > card.top() + 30
    assert image.pixelColor(moved.center().x(), moved.top() + 3) == \
        theme.tint(theme.category_color(item.look.category), 0.35)


def test_text_is_not_drawn_where_it_would_be_a_few_pixels_high(open_canvas):
    canvas = open_canvas(chain_project(60))
    canvas.view.set_zoom(0.08)
    item = node_named(canvas, "l20")
    canvas.view.centerOn(item)
    image = canvas.view.viewport().grab().toImage()
    assert dark_pixels(image, device_rect(canvas, item).adjusted(-4, -4, 4, 4)) == 0


def test_selected_and_hovered_blocks_show_their_name_at_any_zoom(open_canvas, qtbot):
    canvas = open_canvas(chain_project(60))
    view = canvas.view
    view.set_zoom(0.06)
    picked, hovered = node_named(canvas, "l20"), node_named(canvas, "r21")
    view.centerOn(picked)
    canvas.select_nodes([picked.node_id])
    assert picked.name_tag is not None and picked.name_tag.isVisible() and picked.name_tag.text == "l20"
    tag = view.mapFromScene(picked.mapToScene(QPointF(0, picked.top)))
    image = view.viewport().grab().toImage()
    assert dark_pixels(image, QRect(tag.x() - 15, tag.y() - 20, 30, 16)) > 15   # 20 px high, not 1
    over = view.mapFromScene(hovered.sceneBoundingRect().center())
    qtbot.mouseMove(view.viewport(), over + QPoint(0, 40))
    qtbot.mouseMove(view.viewport(), over)
    qtbot.waitUntil(lambda: hovered.hovered)
    assert hovered.name_tag.isVisible() and hovered.opacity() == 1.0
    # Clicking a block drawn by the sketch selects it: the item is still there to be hit.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.mapFromScene(hovered.sceneBoundingRect().center()))
    assert canvas.selected_node_ids() == [hovered.node_id]
    assert not picked.name_tag.isVisible()
    view.set_zoom(1.0)
    assert not hovered.name_tag.isVisible()


def test_a_rubber_band_selects_the_sketched_blocks_it_touches(open_canvas, qtbot):
    canvas = open_canvas(chain_project(60))
    view = canvas.view
    view.set_zoom(0.2)
    first, last = node_named(canvas, "l20"), node_named(canvas, "r23")   # one row: blocks 20 to 23
    view.centerOn(first)
    start = view.mapFromScene(first.mapToScene(first.rect.topLeft())) - QPoint(5, 10)   # in the gap
    end = view.mapFromScene(last.mapToScene(last.rect.bottomRight())) + QPoint(5, 4)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 7):
        qtbot.mouseMove(view.viewport(), start + (end - start) * (i / 6))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    titles = {canvas.scene.nodes[i].look.title for i in canvas.selected_node_ids()}
    assert titles == {"l20", "r21", "l22", "r23"}


# -- navigation ---------------------------------------------------------------------------------
def test_the_minimap_shows_the_definition_and_moves_the_view(open_canvas, qtbot):
    canvas = open_canvas(chain_project(120))
    minimap, view = canvas.minimap, canvas.view
    assert not minimap.isVisible()      # all of it is in view
    view.set_zoom(1.0)
    view.centerOn(node_named(canvas, "l0"))
    assert minimap.isVisible()
    assert minimap.geometry().bottomRight().x() <= view.width() and minimap.y() > view.height() / 2
    far = node_named(canvas, "l110")
    target = minimap.to_map().map(far.sceneBoundingRect().center())
    qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=target.toPoint())
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(far.sceneBoundingRect().center())
    # Dragging on it moves the view along.
    start = minimap.to_map().map(node_named(canvas, "l0").sceneBoundingRect().center()).toPoint()
    qtbot.mousePress(minimap, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(minimap, start + QPoint(0, 20))
    qtbot.mouseRelease(minimap, Qt.MouseButton.LeftButton, pos=start + QPoint(0, 20))
    moved_to = minimap.map_to_scene(QPointF(start + QPoint(0, 20)))
    assert abs(view.mapToScene(view.viewport().rect().center()).y() - moved_to.y()) < 2
    # The visible rectangle is drawn in the selection colour.
    image = minimap.grab().toImage()
    rect = minimap.to_map().mapRect(view.mapToScene(view.viewport().rect()).boundingRect()).toRect()
    edge_color = image.pixelColor(rect.left(), rect.center().y())
    assert edge_color.blue() > edge_color.red() + 60


def test_ctrl_f_finds_a_block_by_name_or_type_and_jumps_to_it(open_canvas, qtbot):
    canvas = open_canvas(chain_project(120))
    view, bar = canvas.view, canvas.find_bar
    canvas.activateWindow()       # a shortcut needs the window active (under Xvfb too)
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    qtbot.keyClick(view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert bar.isVisible() and bar.field.hasFocus()
    qtbot.keyClicks(bar.field, "r10")
    assert bar.count.text() == "5 found"       # r101, r103 ... r109 (blocks 0-119, ReLUs odd)
    bar.field.clear()
    qtbot.keyClicks(bar.field, "L11")
    assert bar.count.text() == "5 found"       # l110, l112 ... l118, in any case
    qtbot.keyClick(bar.field, Qt.Key.Key_Return)
    first = canvas.selected_node_ids()
    assert len(first) == 1 and canvas.scene.nodes[first[0]].look.title == "l110"
    center = view.mapToScene(view.viewport().rect().center())
    assert canvas.scene.nodes[first[0]].sceneBoundingRect().contains(center)
    assert view.zoom() >= 0.5       # far enough in to read it
    qtbot.keyClick(bar.field, Qt.Key.Key_Return)
    assert canvas.scene.nodes[canvas.selected_node_ids()[0]].look.title == "l112"
    assert bar.count.text() == "2 of 5"
    qtbot.keyClick(bar.field, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert canvas.scene.nodes[canvas.selected_node_ids()[0]].look.title == "l110"
    # By type: every ReLU.
    bar.field.clear()
    qtbot.keyClicks(bar.field, "relu")
    assert bar.count.text() == "60 found"
    bar.field.clear()
    qtbot.keyClicks(bar.field, "nothing like it")
    assert bar.count.text() == "No match"
    qtbot.keyClick(bar.field, Qt.Key.Key_Escape)
    assert not bar.isVisible() and view.hasFocus()


def test_find_is_in_the_view_menu_with_its_shortcut(make_window):
    window = make_window()
    found = [a for a in window.menus["view"].actions() if a.text().startswith("Find Block")]
    assert found and found[0].shortcut().toString() == "Ctrl+F"
    found[0].trigger()
    assert window.canvas.find_bar.isVisible()
