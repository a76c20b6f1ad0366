"""What the canvas shows: nodes, edges with inferred shapes, badges, ties, and
that it follows the document (and lets go of it when closed)."""

from __future__ import annotations

import gc
from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication

from netstudio.graph import Document
from netstudio.serialization import load_project
from ui.canvas import CanvasWidget
from ui.canvas import theme
from ui.canvas.edge_item import TieLinkItem
from ui.canvas.node_item import CHEVRON_W
from ui.document.commands import AddNode, Connect, Rename, SetParam, Tie
from ui.document.controller import DocumentController

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"




def by_title(canvas) -> dict[str, str]:
    return {item.look.title: node_id for node_id, item in canvas.scene.nodes.items()}


def test_mlp_shows_its_nodes_edges_and_shapes(open_canvas):
    canvas = open_canvas("mlp")
    d = canvas.controller.document.project.root_definition
    assert set(canvas.scene.nodes) == set(d.nodes)
    assert set(canvas.scene.edges) == set(d.edges)
    assert canvas.view.objectName() == "canvas"
    # Unnamed children of a Sequential show their index, with their type.
    titles = {item.look.title: item.look.subtitle for item in canvas.scene.nodes.values()}
    assert titles == {"X": "Input", "0": "Linear", "1": "ReLU", "2": "Linear", "output": "Output"}
    labels = {(e.src_item.look.title, e.dst_item.look.title): e.label_text for e in canvas.scene.edges.values()}
    assert labels == {("X", "0"): "(2, 20)", ("0", "1"): "(2, 256)", ("1", "2"): "(2, 256)",
                      ("2", "output"): "(2, 10)"}
    ids = by_title(canvas)
    first = canvas.node_item(ids["0"])
    assert ("out_features", "256") in first.look.params
    assert first.status.stats == "5,376 params"
    assert canvas.node_item(ids["2"]).status.stats == "2,570 params"
    # Items sit at the model positions; edges run from output port to input port.
    for node_id, item in canvas.scene.nodes.items():
        assert item.pos() == QPointF(*d.nodes[node_id].position)
    edge = next(e for e in canvas.scene.edges.values() if e.dst_item is first)
    path = edge.path()
    start, end = path.elementAt(0), path.elementAt(path.elementCount() - 1)
    assert QPointF(start.x, start.y) == canvas.node_item(ids["X"]).output_pos("out")
    assert QPointF(end.x, end.y) == first.input_pos("in")


def test_lazy_and_nested_counts(open_canvas):
    canvas = open_canvas("chimera")
    ids = by_title(canvas)
    assert canvas.node_item(ids["1"]).status.stats == "deferred · 340 params"
    assert canvas.node_item(ids["0"]).status.stats == "3,952 params"          # all of NestMLP
    assert canvas.node_item(ids["0"]).look.subtitle == "Block · NestMLP"
    # Container ports come from the definition's Input/Output names.
    assert canvas.node_item(ids["0"]).look.inputs == ("X",)
    labels = sorted(e.label_text for e in canvas.scene.edges.values())
    assert labels == ["()", "(2, 16)", "(2, 20)", "(2, 20)"]


def test_multi_port_nodes_label_their_ports(open_canvas):
    canvas = open_canvas("fixed_hidden_mlp")
    ids = by_title(canvas)
    matmul = canvas.node_item(ids["matmul"])
    assert matmul.look.inputs == ("a", "b")
    assert matmul.in_label_w > 0                              # names drawn when there are several
    assert matmul.input_pos("b").y() - matmul.input_pos("a").y() == theme.PORT_SPACING
    edge = next(e for e in canvas.scene.edges.values() if e.dst_item is matmul and e.dst_port == "b")
    assert edge.label_text == "(20, 20)"


def test_shape_mismatch_shows_a_red_badge_with_the_message(open_canvas):
    canvas = open_canvas("mlp")
    controller, doc = canvas.controller, canvas.controller.document
    ids = by_title(canvas)
    item = canvas.node_item(ids["2"])
    assert item.badge is None
    applied = []
    canvas.scene.check_applied.connect(lambda: applied.append(1))
    controller.push(SetParam(doc, "main", ids["2"], "in_features", 128))
    controller.wait_for_check()
    assert applied
    assert item.badge is not None and item.badge.isVisible()
    assert item.badge.severity == "error"
    assert "Linear expects 128 input features, receives 256" in item.badge.toolTip()
    assert "Linear expects 128" in item.toolTip()
    assert item.badge.color == QColor(theme.ERROR)
    # The output edge has no shape any more.
    out_edge = next(e for e in canvas.scene.edges.values() if e.src_item is item)
    assert out_edge.label_text == "?"
    # Pixels: the badge is drawn in red on the node's top-right corner.
    image = canvas.view.grab().toImage()
    corner = canvas.view.mapFromScene(item.mapToScene(item.badge.pos()))
    assert _near(image, corner.x(), corner.y(), QColor(theme.ERROR))
    controller.undo_stack.undo()
    controller.wait_for_check()
    assert item.badge is None
    assert out_edge.label_text == "(2, 10)"


def test_a_warning_gets_an_amber_badge(open_canvas):
    canvas = open_canvas("mlp")
    controller, doc = canvas.controller, canvas.controller.document
    controller.push(AddNode(doc, "main", "ReLU", (400, 300)))
    controller.push(AddNode(doc, "main", "ReLU", (700, 300)))
    d = doc.project.root_definition
    new = list(d.nodes)[-2:]
    controller.push(Connect(doc, "main", new[0], "out", new[1], "in"))
    controller.wait_for_check()
    warned, broken = canvas.node_item(new[1]), canvas.node_item(new[0])
    badge = warned.badge
    assert badge is not None and badge.isVisible()
    assert "its output is not used" in badge.toolTip()
    assert badge.severity == "warning" and badge.color == QColor(theme.WARNING)
    assert broken.badge.severity == "error" and broken.badge.color == QColor(theme.ERROR)  # input not connected
    # Pixels: amber on the warned node's corner, red on the other's (left of the white "!" in each).
    canvas.view.set_zoom(1.0)
    canvas.view.centerOn(warned.sceneBoundingRect().united(broken.sceneBoundingRect()).center())
    image = canvas.view.viewport().grab().toImage()

    def badge_pixel(item):
        p = canvas.view.mapFromScene(item.badge.mapToScene(QPointF(-theme.BADGE_RADIUS / 2, 0)))
        return QColor(image.pixel(p.x(), p.y()))

    assert _distance(badge_pixel(warned), QColor(theme.WARNING)) <= 12
    assert _distance(badge_pixel(broken), QColor(theme.ERROR)) <= 12


def test_untrusted_code_blocks_look_disabled(open_canvas):
    canvas = open_canvas("fixed_hidden_mlp", trusted=False)
    item = canvas.node_item(by_title(canvas)["halve"])
    assert item.look.disabled and item.opacity() < 1
    assert item.badge is not None and "not trusted" in item.badge.toolTip()
    canvas.controller.document.set_setting("trusted", True)
    canvas.controller.wait_for_check()
    assert not item.look.disabled and item.opacity() == 1
    assert item.badge is None


def test_tied_nodes_are_joined_by_a_dashed_link_with_badges(open_canvas):
    canvas = open_canvas("tied")
    ids = by_title(canvas)
    links = [i for i in canvas.scene.items() if isinstance(i, TieLinkItem)]
    assert len(links) == 1
    link = links[0]
    assert {link.node_item.node_id, link.target_item.node_id} == {ids["2"], ids["4"]}
    a, b = canvas.node_item(ids["2"]), canvas.node_item(ids["4"])
    assert a.tie_badge is not None and b.tie_badge is not None
    assert a.tie_badge.color == b.tie_badge.color == link.color
    assert "Shares the parameters of '2'" == b.tie_badge.toolTip()
    assert b.status.stats == "72 params · shared"
    # The link follows a moved node.
    before = link.path().elementAt(0)
    canvas.controller.push(Tie(canvas.controller.document, "main", ids["4"], None))
    assert not [i for i in canvas.scene.items() if isinstance(i, TieLinkItem)]
    assert a.tie_badge is None and b.tie_badge is None
    canvas.controller.undo_stack.undo()
    link = next(i for i in canvas.scene.items() if isinstance(i, TieLinkItem))
    assert link.path().elementAt(0).x == before.x


def test_scene_follows_document_edits_made_elsewhere(open_canvas):
    canvas = open_canvas("mlp")
    controller, doc = canvas.controller, canvas.controller.document
    ids = by_title(canvas)
    controller.push(Rename(doc, "main", ids["1"], "act"))
    assert canvas.node_item(ids["1"]).look.title == "act"
    controller.push(SetParam(doc, "main", ids["0"], "out_features", 64))
    assert ("out_features", "64") in canvas.node_item(ids["0"]).look.params
    controller.wait_for_check()
    labels = sorted(e.label_text for e in canvas.scene.edges.values())
    assert labels == ["(2, 20)", "(2, 64)", "(2, 64)", "?"]      # the last Linear wants 256 features
    assert canvas.node_item(ids["0"]).status.stats == "1,344 params"
    assert "receives 64" in canvas.node_item(ids["2"]).badge.toolTip()
    # Whole-project replacement (open, revert, snapshot undo) rebuilds.
    doc.replace(load_project(EXAMPLES / "tied.netstudio", trusted=True))
    assert len(canvas.scene.nodes) == 9
    assert canvas.breadcrumb.labels == ["tied"]


def test_only_changed_items_update_on_a_new_check(open_canvas):
    canvas = open_canvas("tied")
    controller, doc = canvas.controller, canvas.controller.document
    ids = by_title(canvas)
    calls = []
    items = list(canvas.scene.nodes.values())
    for item in items:
        original = item.update
        item.update = lambda *a, _o=original, _i=item: (calls.append(_i.node_id), _o(*a))
    controller.push(SetParam(doc, "main", ids["6"], "out_features", 3))
    controller.wait_for_check()
    # The last Linear's look and stats changed; nodes upstream were left alone.
    assert ids["6"] in calls
    assert not {ids["0"], ids["1"], ids["2"], ids["X"]} & set(calls)


def test_rendering_draws_nodes_in_their_category_colour(open_canvas):
    canvas = open_canvas("mlp", size=(1400, 600))
    canvas.view.set_zoom(1.0)
    ids = by_title(canvas)
    item = canvas.node_item(ids["1"])
    canvas.view.centerOn(item)
    QApplication.processEvents()
    image = canvas.view.grab().toImage()
    strip = canvas.view.mapFromScene(item.mapToScene(QPointF(0, item.rect.top() + 1.5)))
    assert _near(image, strip.x(), strip.y(), theme.category_color("Activations"), tolerance=40)
    body = canvas.view.mapFromScene(item.mapToScene(QPointF(item.rect.right() - 12, item.rect.bottom() - 5)))
    assert _near(image, body.x(), body.y(), QColor(theme.NODE_FILL), tolerance=8)
    # Text is drawn in the header (dark pixels where the title is).
    title = canvas.view.mapFromScene(item.mapToScene(QPointF(item.rect.left() + 36, item.rect.top() + 14)))
    dark = sum(1 for dx in range(0, 14) for dy in range(-5, 6)
               if QColor(image.pixel(title.x() + dx, title.y() + dy)).lightness() < 110)
    assert dark > 3


def test_render_whole_view_into_an_image(open_canvas):
    """``view.render`` paints what the view shows onto a white image: the gridded background, each
    block's card in its category colour with its ports, and each edge in the edge colour."""
    canvas = open_canvas("chimera", size=(1000, 500))
    view = canvas.view
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    view.render(painter)
    painter.end()

    def at(scene_point: QPointF) -> tuple[int, int]:
        p = view.mapFromScene(scene_point)
        return p.x(), p.y()

    # An empty corner: the background colour crossed by both kinds of grid line, nothing else.
    corner = {QColor(image.pixel(x, y)).name() for x in range(40) for y in range(40)}
    assert theme.BACKGROUND in corner and {theme.GRID_LINE, theme.GRID_LINE_MAJOR} <= corner
    assert corner <= {theme.BACKGROUND, theme.GRID_LINE, theme.GRID_LINE_MAJOR}
    assert len(canvas.scene.nodes) == 5 and len(canvas.scene.edges) == 4
    for item in canvas.scene.nodes.values():
        colour, rect, title = theme.category_color(item.look.category), item.rect, item.look.title
        assert view.viewport().rect().contains(view.mapFromScene(item.sceneBoundingRect()).boundingRect()), title
        # The category strip along the top, the tinted header beside the title, the white card below.
        assert _near(image, *at(item.mapToScene(QPointF(rect.center().x(), rect.top() + 1.5))), colour, 40), title
        beside = CHEVRON_W + 6 if item.look.expandable else 14     # left of a block's expand arrow
        header = item.mapToScene(QPointF(rect.right() - beside, rect.top() + theme.HEADER_HEIGHT / 2))
        assert _near(image, *at(header), theme.tint(colour, 0.13), 12, radius=0), title
        assert _near(image, *at(item.mapToScene(QPointF(rect.right() - 12, rect.bottom() - 5))),
                     QColor(theme.NODE_FILL), 8), title
    for edge in canvas.scene.edges.values():
        # The output port it leaves is a dot in its block's colour; the line is the edge colour over the
        # background (anti-aliased: a blend of the two, mostly edge).
        src = theme.category_color(edge.src_item.look.category)
        assert _near(image, *at(edge.src_item.output_pos(edge.src_port)), src, 30, radius=0)
        assert _coverage(image, *at(edge.path().pointAtPercent(0.2)), QColor(theme.EDGE),
                         QColor(theme.BACKGROUND)) >= 0.6, edge.label_text


def test_no_callbacks_left_on_the_document_after_the_widget_goes(qtbot):
    doc = Document(load_project(EXAMPLES / "mlp.netstudio", trusted=True))
    controller = DocumentController(doc)
    signals = ("node_added", "node_removed", "node_changed", "edge_added", "edge_removed", "definition_removed",
               "definition_changed", "code_changed", "settings_changed", "reset", "changed")
    before = {s: len(getattr(doc.events, s)) for s in signals}
    canvas = CanvasWidget(controller)
    canvas.show()
    during = {s: len(getattr(doc.events, s)) for s in signals}
    assert all(during[s] == before[s] + 1 for s in signals)
    canvas.close()
    assert {s: len(getattr(doc.events, s)) for s in signals} == before
    canvas.show()       # shown again: follows the document again, up to date
    doc.add_node("main", "ReLU")
    assert len(canvas.scene.nodes) == 6
    canvas.deleteLater()
    qtbot.waitUntil(lambda: {s: len(getattr(doc.events, s)) for s in signals} == before)
    del canvas
    gc.collect()
    doc.add_node("main", "ReLU")   # no callback into a deleted scene
    controller.wait_for_check()
    controller.undo_stack.clear()


def test_a_second_canvas_on_the_same_document_stays_in_sync(open_canvas, qtbot):
    canvas = open_canvas("mlp")
    other = CanvasWidget(canvas.controller)
    qtbot.addWidget(other)
    canvas.add_block_at("Tanh", QPointF(300, 300))
    new = canvas.selected_node_ids()[0]
    assert new in other.scene.nodes
    assert other.selected_node_ids() == [new]   # selection goes through the controller
    other.close()


def _distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def _around(image: QImage, x: int, y: int, radius: int):
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            if 0 <= x + dx < image.width() and 0 <= y + dy < image.height():
                yield QColor(image.pixel(x + dx, y + dy))


def _near(image: QImage, x: int, y: int, colour: QColor, tolerance: int = 30, radius: int = 2) -> bool:
    return any(_distance(c, colour) <= tolerance for c in _around(image, x, y, radius))


def _coverage(image: QImage, x: int, y: int, ink: QColor, paper: QColor, radius: int = 2) -> float:
    """How much of ``ink`` the most inked pixel near (x, y) holds, counting only pixels that are
    ``ink`` blended over ``paper`` (what anti-aliasing makes of a thin line): 0 when there is none."""
    best = 0.0
    for c in _around(image, x, y, radius):
        channels = [(c.red(), ink.red(), paper.red()), (c.green(), ink.green(), paper.green()),
                    (c.blue(), ink.blue(), paper.blue())]
        t = sum((p - v) * (p - i) for v, i, p in channels) / sum((p - i) ** 2 for _, i, p in channels)
        t = min(max(t, 0.0), 1.0)
        if sum(abs(v - (p + (i - p) * t)) for v, i, p in channels) <= 8:
            best = max(best, t)
    return best


def test_deferred_layers_stop_showing_deferred_once_the_network_ran(open_canvas, qtbot):
    canvas = open_canvas("lazy_mlp")
    ids = by_title(canvas)
    first = canvas.node_item(ids["0"])
    assert first.status.stats == "deferred · 5,376 params"
    canvas.controller.session.run_forward()     # the seed's first net(X) materializes the layers
    qtbot.waitUntil(lambda: first.status.stats == "5,376 params")


def test_opening_a_project_fits_it_into_view(make_window, examples_dir, qtbot):
    """The zoom and pan of the previous project do not carry over: the new one is shown whole."""
    window = make_window(panels=False)
    canvas, view = window.canvas, window.canvas.view

    def shown_whole() -> bool:
        visible = view.mapToScene(view.viewport().rect()).boundingRect()
        return visible.contains(canvas.scene.items_bounds())

    for open_next in (lambda: window.files.load(examples_dir / "tied.netstudio"),
                      lambda: window.files.load(examples_dir / "chimera.netstudio"),
                      window.files.actions["new"].trigger):
        view.set_zoom(3.0)
        view.centerOn(5000, -3000)              # far away from every block
        assert not shown_whole()
        window.controller.mark_saved()
        open_next()
        assert shown_whole() and view.zoom() <= 1.0


def test_share_candidates_are_listed_when_the_menu_opens_not_on_selection(open_canvas, monkeypatch):
    from ui.canvas import canvas_widget
    canvas = open_canvas("tied")
    asked = []
    real = canvas_widget.tie_candidates
    monkeypatch.setattr(canvas_widget, "tie_candidates", lambda project, d, node_id, result=None:
                        asked.append(node_id) or real(project, d, node_id, result))
    ids = by_title(canvas)
    for title in ("0", "2", "6", "0"):
        canvas.select_nodes([ids[title]])
    assert asked == [] and canvas.actions["share_parameters"].isEnabled()   # selecting asks nothing
    canvas.select_nodes([ids["6"]])
    canvas._share_menu.aboutToShow.emit()                                      # the menu opens
    assert asked == [ids["6"]]
    offered = [a.data() for a in canvas._share_menu.actions() if a.data()]
    assert offered == [] and not canvas._share_menu.actions()[0].isEnabled()   # out_features 1 vs 8
