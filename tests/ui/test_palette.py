"""The block palette: every catalog block by category, search, double-click, and drag onto the canvas."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from netstudio.catalog import CATALOG, CATEGORIES
from ui.document.mime import BLOCK_MIME
from ui.editors.palette import TYPE_ROLE

pytestmark = pytest.mark.usefixtures("qtbot")


def node_types(window) -> list[str]:
    d = window.controller.document.project.definitions[window.canvas.current_definition]
    return [n.type for n in d.nodes.values()]


def test_every_block_is_listed_by_category_with_icon_and_description(make_window):
    tree = make_window().block_palette.tree
    groups = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    assert [g.text(0) for g in groups] == list(CATEGORIES)
    listed = {}
    for group in groups:
        for j in range(group.childCount()):
            item = group.child(j)
            spec = CATALOG[item.data(0, TYPE_ROLE)]
            assert spec.category == group.text(0)
            assert item.toolTip(0) == spec.description
            assert not item.icon(0).isNull()
            listed[spec.type_name] = item
    assert set(listed) == set(CATALOG)


def test_search_filters_by_name_and_description(make_window):
    palette = make_window().block_palette
    palette.search.setText("relu")
    shown = palette.visible_blocks()
    assert {"ReLU", "ReLU6", "LeakyReLU", "RReLU"} <= set(shown) and palette.best_match() == "ReLU"
    assert all("relu" in name.lower() or "relu" in CATALOG[name].description.lower() for name in shown)
    assert "Sigmoid" not in shown
    palette.search.setText("lstm")
    assert palette.visible_blocks()[:2] == ["LSTM", "LSTMCell"]
    palette.search.setText("NN.SEQUENTIAL")  # in Sequential's description only
    assert palette.visible_blocks() == ["Sequential"]
    palette.search.setText("no such block")
    assert palette.visible_blocks() == []
    assert all(palette.tree.topLevelItem(i).isHidden() for i in range(palette.tree.topLevelItemCount()))
    palette.search.clear()
    assert len(palette.visible_blocks()) == len(CATALOG)


def test_the_common_groups_start_open_a_search_opens_what_it_finds_and_clearing_it_restores(make_window):
    palette = make_window().block_palette
    tree = palette.tree
    opened = lambda: {tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())  # noqa: E731
                      if tree.topLevelItem(i).isExpanded()}
    assert opened() == {"Inputs and outputs", "Layers", "Convolution", "Activations", "Tensor operations",
                        "Containers", "Custom code"}
    tree.topLevelItem(list(CATEGORIES).index("Losses")).setExpanded(True)   # the user opens one
    palette.search.setText("lstm")
    assert opened() == {"Recurrent"}
    assert tree.topLevelItem(list(CATEGORIES).index("Recurrent")).toolTip(0).endswith("blocks")
    palette.search.clear()
    assert "Losses" in opened() and "Recurrent" not in opened() and "Layers" in opened()


def test_double_click_adds_the_block_at_the_centre(make_window, qtbot):
    window = make_window()
    tree = window.block_palette.tree
    item = tree.item_for("Dropout")
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    before = node_types(window)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # as a real double-click:
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # press, release, double
    assert node_types(window) == before + ["Dropout"]


def test_enter_in_the_search_box_adds_the_first_match(make_window, qtbot):
    window = make_window()
    window.block_palette.search.setText("tanh")
    before = node_types(window)
    qtbot.keyClick(window.block_palette.search, Qt.Key.Key_Return)
    assert node_types(window) == before + ["Tanh"]


def test_a_simulated_drop_on_the_canvas_adds_the_block(make_window):
    window = make_window()
    viewport = window.canvas.view.viewport()
    mime = QMimeData()
    mime.setData(BLOCK_MIME, b"GELU")
    before = node_types(window)
    pos = QPointF(viewport.rect().center())
    for kind in (QDropEvent.Type.DragEnter, QDropEvent.Type.DragMove):
        event = _drag_event(kind, pos, mime)
        QApplication.sendEvent(viewport, event)
        assert event.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, drop)
    assert node_types(window) == before + ["GELU"]


def _drag_event(kind, pos, mime):
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent
    cls = QDragEnterEvent if kind == QDropEvent.Type.DragEnter else QDragMoveEvent
    return cls(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
               Qt.KeyboardModifier.NoModifier)


def test_a_real_drag_from_the_palette_onto_the_canvas_adds_the_block(make_window, qtbot, qapp):
    """Press on the palette item and move past the drag distance: the tree starts a real
    QDrag, whose nested event loop runs the timer below, which moves over the canvas and
    releases the button there."""
    if qapp.platformName() != "xcb":
        pytest.skip("a real QDrag needs a window system: run under Xvfb with QT_QPA_PLATFORM=xcb")
    window = make_window()
    tree, viewport = window.block_palette.tree, window.canvas.view.viewport()
    item = tree.item_for("Sigmoid")
    tree.scrollToItem(item)
    start = tree.visualItemRect(item).center()
    target = viewport.rect().center()
    before = node_types(window)
    steps = []

    def drive():
        if len(steps) < 5:
            steps.append(1)
            QTest.mouseMove(viewport, target + QPoint(len(steps), len(steps)))
        else:
            timer.stop()
            QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)

    timer = QTimer(interval=30)
    timer.timeout.connect(drive)
    QTest.mousePress(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    timer.start()
    distance = QApplication.startDragDistance() + 5
    QTest.mouseMove(tree.viewport(), start + QPoint(distance, 0))  # returns when the drag is over
    qtbot.waitUntil(lambda: not timer.isActive(), timeout=5000)
    assert node_types(window) == before + ["Sigmoid"]
