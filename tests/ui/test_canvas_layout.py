"""Auto layout on the canvas (issue 11): long edges are routed through their bend points around
the blocks, one undo step restores positions and routes, a drag drops the routes of the moved
block's edges (undo brings them back), and a large graph is laid out on a worker while the
window goes on."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QPainterPath, QPainterPathStroker
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from netstudio.graph import Document, Project
from ui.canvas import editing
from ui.canvas.edge_item import CORNER, link_path

DEFERRED_DELETE = QEvent.Type.DeferredDelete.value


def skip_project(chain: int = 4, tail: int = 0) -> tuple[Project, dict[str, str]]:
    """X → relu0 → ... → add.a, and a skip X → add.b passing ``chain`` blocks: a long edge; then
    ``tail`` more blocks after the add.  Spread out on one row, so opening the canvas lays nothing
    out by itself."""
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    d = doc.definition("main")
    x, out = d.inputs[0], d.outputs[0]
    doc.set_param("main", x.id, "shape", [2, 8])
    ids, prev = {"X": x.id}, x.id
    for k in range(chain):
        node = doc.add_node("main", "ReLU", f"relu{k}", position=(200.0 * (k + 1), 0.0))
        doc.connect("main", prev, "out", node.id, "in")
        ids[node.name], prev = node.id, node.id
    add = doc.add_node("main", "Add", "add", position=(200.0 * (chain + 1), 0.0))
    doc.connect("main", prev, "out", add.id, "a")
    ids["skip"] = doc.connect("main", x.id, "out", add.id, "b").id
    ids["add"] = prev = add.id
    for k in range(tail):
        node = doc.add_node("main", "ReLU", f"tail{k}", position=(200.0 * (chain + 2 + k), 0.0))
        doc.connect("main", prev, "out", node.id, "in")
        ids[node.name], prev = node.id, node.id
    doc.move("main", out.id, (200.0 * (chain + tail + 2), 0.0))
    doc.connect("main", prev, "out", out.id, "in")
    return doc.project, ids


def node_rects(canvas, *but: str) -> dict:
    return {i: item.rect.translated(item.pos()) for i, item in canvas.scene.nodes.items() if i not in but}


def hits(path: QPainterPath, rects: dict) -> list[str]:
    stroke = QPainterPathStroker()
    stroke.setWidth(1.0)
    outline = stroke.createStroke(path)
    return [i for i, rect in rects.items() if outline.intersects(rect)]


def routes(canvas) -> dict:
    return {e: edge.bends for e, edge in canvas.scene.model.edges.items()}


def test_long_edges_are_routed_around_the_blocks(open_canvas):
    canvas = open_canvas(big_project(20))
    canvas.auto_layout()
    assert canvas.controller.undo_stack.undoText() == "Auto layout"
    d = canvas.scene.model
    routed = [e for e in d.edges if d.edges[e].bends]
    assert len(routed) >= 4
    spared = 0
    for edge_id, item in canvas.scene.edges.items():
        others = node_rects(canvas, item.src_item.node_id, item.dst_item.node_id)
        assert hits(item.path(), others) == [], edge_id          # no edge passes behind a block
        bends = d.edges[edge_id].bends
        if not bends:
            assert len(item.points) == 2
            continue
        # Drawn through its bends (its rounded corners pass within a corner's radius of them).
        assert item.points[1:-1] == [QPointF(x, y) for x, y in bends]
        near = QPainterPathStroker()
        near.setWidth(2 * CORNER)
        outline = near.createStroke(item.path())
        assert all(outline.contains(QPointF(x, y)) for x, y in bends), edge_id
        assert outline.contains(item.label.pos())                 # the label sits on the route
        spared += bool(hits(link_path(item.points[0], item.points[-1]), others))
    assert spared >= 2          # where the plain curve would have passed behind a block
    # The zoomed-out sketch draws each route as its polyline.
    lines = canvas.scene.sketch().lines
    assert len(lines) == len(d.edges) + sum(len(d.edges[e].bends) for e in routed)


def test_undo_of_auto_layout_restores_positions_and_routes(open_canvas):
    project, ids = skip_project()
    mine = ((100.0, -200.0), (900.0, -200.0))     # a route drawn before, through blocks that will move
    Document(project).set_bends("main", {ids["skip"]: mine})
    canvas = open_canvas(project)
    d = canvas.scene.model
    assert canvas.scene.edges[ids["skip"]].points[1:-1] == [QPointF(*p) for p in mine]   # drawn when opened
    before = ({i: n.position for i, n in d.nodes.items()}, routes(canvas))
    canvas.auto_layout()
    after = ({i: n.position for i, n in d.nodes.items()}, routes(canvas))
    assert after != before and after[1][ids["skip"]]
    stack = canvas.controller.undo_stack
    stack.undo()
    assert ({i: n.position for i, n in d.nodes.items()}, routes(canvas)) == before
    assert canvas.scene.edges[ids["skip"]].points[1:-1] == [QPointF(*p) for p in mine]
    stack.redo()
    assert ({i: n.position for i, n in d.nodes.items()}, routes(canvas)) == after
    assert len(canvas.scene.edges[ids["skip"]].points) == len(after[1][ids["skip"]]) + 2
    assert not canvas.auto_layout() and stack.count() == 1     # laid out already: no second step


def test_dragging_a_block_drops_its_routes_and_undo_brings_them_back(open_canvas):
    project, ids = skip_project()
    canvas = open_canvas(project)
    canvas.auto_layout()
    stack = canvas.controller.undo_stack
    d = canvas.scene.model
    routed = routes(canvas)
    item = canvas.node_item(ids["add"])
    skip = canvas.scene.edges[ids["skip"]]
    viewport = canvas.view.viewport()
    start = canvas.view.mapFromScene(item.mapToScene(QPointF(0, 14)))
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 7):
        QTest.mouseMove(viewport, start + QPoint(10 * k, 15 * k))
        if k == 3:      # mid-drag: the stale route is no longer drawn, the model still has it
            assert len(skip.points) == 2 and d.edges[ids["skip"]].bends
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(60, 90))
    assert stack.undoText().startswith("Move")
    assert d.edges[ids["skip"]].bends == () and len(skip.points) == 2
    assert {e: b for e, b in routes(canvas).items() if b} == \
        {e: b for e, b in routed.items() if b and ids["add"] not in (d.edges[e].src, d.edges[e].dst)}
    stack.undo()
    assert routes(canvas) == routed
    assert skip.points[1:-1] == [QPointF(x, y) for x, y in routed[ids["skip"]]]
    stack.redo()
    assert d.edges[ids["skip"]].bends == () and len(skip.points) == 2


def test_routes_are_plain_curves_while_a_block_is_expanded(open_canvas):
    """Expanding makes room by moving blocks on the canvas, not the model's bend points: while a
    block is expanded, every edge is a plain curve; collapsed, the routes are back."""
    project, ids = skip_project(tail=3)
    doc = Document(project)
    block = doc.group("main", [ids["tail1"], ids["tail2"]]).id      # right of the skip: it moves neither end
    canvas = open_canvas(doc.project)
    canvas.auto_layout()
    routed = {e: item for e, item in canvas.scene.edges.items() if canvas.scene.model.edges[e].bends}
    assert ids["skip"] in routed and all(len(item.points) > 2 for item in routed.values())
    ends = [(item.points[0], item.points[-1]) for item in routed.values()]
    canvas.scene.set_expanded([block])
    assert canvas.scene.is_expanded(block)
    assert all(len(item.points) == 2 for item in routed.values())
    assert [(item.points[0], item.points[-1]) for item in routed.values()] == ends   # not moved, yet plain
    assert all(canvas.scene.model.edges[e].bends for e in routed)          # the model keeps them
    canvas.scene.set_expanded([block], False)
    assert all(len(item.points) > 2 for item in routed.values())


def big_project(n: int) -> Project:
    """A residual-like graph of ``n`` blocks, spread on one row."""
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    d = doc.definition("main")
    x = d.inputs[0]
    with doc.batch():
        for e in list(d.edges):
            doc.disconnect("main", e)
        prev, adds = x.id, []
        for k in range(n - 2):
            node = doc.add_node("main", "Add" if k % 3 == 2 else "ReLU", f"b{k}", position=(200.0 * k, 0.0))
            doc.connect("main", prev, "out", node.id, "a" if node.type == "Add" else "in")
            if node.type == "Add":
                adds.append((node.id, prev))
            prev = node.id
        for add, before in adds:          # each Add's second input skips back two blocks
            src = doc.incoming("main", before)[0].src
            doc.connect("main", src, "out", add, "b")
        doc.connect("main", prev, "out", d.outputs[0].id, "in")
    return doc.project


def test_a_large_graph_is_laid_out_on_a_worker_while_the_window_goes_on(open_canvas, qtbot):
    canvas = open_canvas(big_project(2000))
    d = canvas.scene.model
    assert len(d.nodes) == 2000
    before = {i: n.position for i, n in d.nodes.items()}
    ticks = []
    timer = QTimer(interval=1)
    timer.timeout.connect(lambda: ticks.append(canvas.layout_job is not None))
    timer.start()
    canvas.auto_layout()
    job = canvas.layout_job
    assert job is not None and job.running
    assert {i: n.position for i, n in d.nodes.items()} == before      # not yet: the GUI thread went on
    assert canvas.view.hint_text == "Arranging 2,000 blocks…"
    canvas.auto_layout()                                              # once is enough
    assert canvas.layout_job is job
    qtbot.waitUntil(lambda: canvas.layout_job is None, timeout=60000)
    timer.stop()
    assert any(ticks)                     # the event loop ran while the layout was computed
    assert canvas.controller.undo_stack.undoText() == "Auto layout"
    assert {i: n.position for i, n in d.nodes.items()} != before
    assert any(e.bends for e in d.edges.values())
    assert canvas.view.hint_text == ""
    canvas.controller.undo_stack.undo()
    assert {i: n.position for i, n in d.nodes.items()} == before and not any(e.bends for e in d.edges.values())


def test_an_edit_during_the_layout_drops_its_result(open_canvas, qtbot):
    canvas = open_canvas(big_project(editing.LAYOUT_OFF_THREAD_ABOVE + 100))
    d = canvas.scene.model
    stack = canvas.controller.undo_stack
    count = stack.count()
    canvas.auto_layout()
    job = canvas.layout_job
    assert job is not None
    node_id = next(iter(d.nodes))
    canvas.controller.document.move("main", node_id, (-500.0, -500.0))
    qtbot.waitUntil(lambda: canvas.layout_job is None, timeout=60000)
    assert stack.count() == count and d.nodes[node_id].position == (-500.0, -500.0)
    assert "changed while they were being arranged" in canvas.view.hint_text


def test_closing_the_canvas_during_a_layout_is_safe(make_controller, qtbot, monkeypatch):
    """Closed, the canvas drops the result to come; deleted, it waits for the worker and is never
    called back."""
    from ui.canvas import CanvasWidget
    applied = []
    monkeypatch.setattr(editing, "apply_layout", lambda *args, **kwargs: applied.append(args) or True)
    controller = make_controller(big_project(editing.LAYOUT_OFF_THREAD_ABOVE + 100))
    for delete in (False, True):
        canvas = CanvasWidget(controller)
        canvas.show()
        qtbot.waitExposed(canvas)
        canvas.auto_layout()
        job = canvas.layout_job
        assert job is not None and job.running
        if delete:
            canvas.hide()
            canvas.deleteLater()
            QApplication.sendPostedEvents(None, DEFERRED_DELETE)   # the canvas, its job, its pool (waited for)
            assert not shiboken6.isValid(canvas) and not shiboken6.isValid(job)
        else:
            canvas.close()
            assert job.wait()
        qtbot.wait(50)
        assert applied == []
        if not delete:
            canvas.deleteLater()
            QApplication.sendPostedEvents(None, DEFERRED_DELETE)


def test_a_large_piled_up_project_is_arranged_on_the_worker_and_stays_unmodified(open_canvas, qtbot):
    project = big_project(editing.LAYOUT_OFF_THREAD_ABOVE + 100)
    for node in project.root_definition.nodes.values():
        node.position = (0.0, 0.0)
    canvas = open_canvas(project)
    qtbot.waitUntil(lambda: canvas.layout_job is None, timeout=60000)
    d = canvas.scene.model
    assert len({n.position for n in d.nodes.values()}) == len(d.nodes)
    assert canvas.controller.undo_stack.undoText() == "Arrange blocks"
    assert not canvas.controller.modified


def test_a_piled_up_project_file_opens_laid_out_with_its_routes_and_nothing_to_undo(make_window, tmp_path):
    """Opening a file whose blocks pile up lays them out before any view draws them: the canvas is built
    once at the final places (no block moved after), with the long edges routed, no undo step."""
    from netstudio.serialization import save_project
    project, ids = skip_project(chain=4)
    for node in project.root_definition.nodes.values():
        node.position = (0.0, 0.0)
    path = tmp_path / "piled.netstudio"
    save_project(project, path)
    window = make_window()
    moved = []
    window.controller.document.events.node_changed.connect(
        lambda definition, node_id, field: field == "position" and moved.append(node_id))
    assert window.files.load(path)
    d = window.canvas.scene.model
    assert not editing.needs_layout(d) and len({n.position for n in d.nodes.values()}) == len(d.nodes)
    assert d.edges[ids["skip"]].bends                    # the long edge goes around the blocks
    assert moved == [] and window.controller.undo_stack.count() == 0 and not window.controller.modified
    scene = window.canvas.scene
    assert all(scene.nodes[i].pos() == QPointF(*n.position) for i, n in d.nodes.items())
