"""The mouse wheel scrolls a panel; it never changes a spin box or combo box the person is not editing.

The events are real wheel events, delivered by the platform to the window as a
mouse would (``QTest.wheelEvent``), so Qt picks the widget under the pointer.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QScrollArea


def under_pointer(window, widget) -> bool:
    """Whether the pointer at ``widget``'s centre is over ``widget`` (or a part of it), nothing in front."""
    hit = window.childAt(widget.mapTo(window, widget.rect().center()))
    return hit is not None and (hit is widget or widget.isAncestorOf(hit))


def wheel_over(window, widget, steps: int) -> None:
    """Turn the wheel ``steps`` notches (negative: towards the person, scrolling down) over ``widget``."""
    assert under_pointer(window, widget)
    centre = widget.mapTo(window, widget.rect().center())
    QTest.wheelEvent(window.windowHandle(), QPointF(centre), QPoint(0, 120 * steps))
    QApplication.processEvents()


def initialize_panel(make_window, qtbot):
    window = make_window()
    window.perspectives.switch("inspect")   # where Initialize shows
    dock = window.docks["initializerPickerDock"]
    dock.raise_()
    window.resize(1200, 560)   # short enough that the panel scrolls
    panel = dock.widget()
    panel.set_scheme("xavier_uniform", gain=1.0)
    scroll = panel.findChild(QScrollArea)
    qtbot.waitUntil(lambda: panel.arg_form.fields["gain"].isVisible() and scroll.verticalScrollBar().maximum() > 0)
    return window, panel, scroll.verticalScrollBar()


def test_the_wheel_scrolls_the_panel_instead_of_changing_xavier_gain(make_window, qtbot):
    window, panel, bar = initialize_panel(make_window, qtbot)
    gain = panel.arg_form.fields["gain"]
    assert gain.focusPolicy() == Qt.FocusPolicy.StrongFocus          # the wheel gives it no focus
    bar.setValue(bar.maximum() // 2)
    panel.findChild(QScrollArea).ensureWidgetVisible(gain)
    qtbot.waitUntil(lambda: under_pointer(window, gain))
    start = bar.value()
    wheel_over(window, gain, -1 if start < bar.maximum() else 1)
    qtbot.waitUntil(lambda: bar.value() != start)                  # the panel scrolled...
    assert gain.value() == 1.0 and not gain.hasFocus()             # ...and the gain stayed
    assert panel.arg_form.values()["gain"] == 1.0


def test_the_wheel_over_a_combo_box_scrolls_too(make_window, qtbot):
    window, panel, bar = initialize_panel(make_window, qtbot)
    combo = panel.scheme_combo
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus
    bar.setValue(0)
    panel.findChild(QScrollArea).ensureWidgetVisible(combo)
    qtbot.waitUntil(lambda: under_pointer(window, combo))
    start, scheme = bar.value(), combo.currentData()
    wheel_over(window, combo, -1 if start < bar.maximum() else 1)
    qtbot.waitUntil(lambda: bar.value() != start)
    assert combo.currentData() == scheme == "xavier_uniform"


def test_a_focused_spin_box_still_takes_the_wheel(make_window, qtbot):
    window, panel, bar = initialize_panel(make_window, qtbot)
    gain = panel.arg_form.fields["gain"]
    panel.findChild(QScrollArea).ensureWidgetVisible(gain)
    qtbot.waitUntil(lambda: under_pointer(window, gain))
    window.activateWindow()
    qtbot.mouseClick(gain.lineEdit(), Qt.MouseButton.LeftButton)   # the person clicks into it to edit
    qtbot.waitUntil(gain.hasFocus)
    start = bar.value()
    wheel_over(window, gain, 1)
    qtbot.waitUntil(lambda: gain.value() != 1.0)
    assert gain.value() > 1.0 and bar.value() == start
