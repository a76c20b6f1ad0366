"""Help → Guide: docs/guide.md rendered in the app, one section per part of the chapter."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction

from ui.shell import guide
from ui.shell.examples import EXAMPLES_DIR
from ui.shell.guide import GuideWindow, read_guide, section_headings

SECTIONS = [
    "Layers and Blocks",
    "A Custom Block",
    "The Sequential Block",
    "Executing Code in the Forward Propagation Function",
    "Nested Blocks",
    "Parameter Access",
    "Parameter Initialization",
    "Tied Parameters",
    "Deferred Initialization",
    "Custom Layers",
    "File I/O",
    "GPUs",
    "Open Your Own Model",
]


def test_help_guide_opens_the_rendered_guide_with_every_section(qtbot, make_window, open_dialogs):
    window = make_window(panels=False)
    action = guide.install(window)
    assert isinstance(action, QAction) and action.text() == "&Guide"
    assert window.menus["help"].actions()[0] is action
    action.trigger()
    (shown,) = open_dialogs("guide")
    qtbot.waitExposed(shown)
    assert isinstance(shown, GuideWindow)
    text = shown.text()
    for heading in SECTIONS:
        assert heading in text, heading
    assert "#" not in text.splitlines()[0]  # rendered Markdown, not the source
    contents = [shown.contents.item(i).text() for i in range(shown.contents.count())]
    assert contents == SECTIONS
    action.trigger()  # a second Help → Guide shows the same window
    assert open_dialogs("guide") == [shown]
    shown.close()


def test_picking_a_section_scrolls_to_its_heading(qtbot, make_window, open_dialogs):
    window = make_window(panels=False)
    guide.install(window).trigger()
    (shown,) = open_dialogs("guide")
    qtbot.waitExposed(shown)
    item = shown.contents.item(SECTIONS.index("Parameter Access"))
    rect = shown.contents.visualItemRect(item)
    qtbot.mouseClick(shown.contents.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert shown.browser.verticalScrollBar().value() > 0
    top = shown.browser.cursorForPosition(QPoint(20, 20)).block().text()
    assert top == "Parameter Access"
    shown.close()


def test_the_guide_names_only_bundled_examples():
    markdown = read_guide()
    assert section_headings(markdown) == SECTIONS
    bundled = {p.name for p in EXAMPLES_DIR.glob("*.netstudio")}
    named = {word.strip("*,.():") for word in markdown.split() if word.strip("*,.():").endswith(".netstudio")}
    assert named and named <= bundled
    for name in ("mlp", "my_sequential", "fixed_hidden_mlp", "nest_mlp", "chimera", "rgnet", "param_access",
                 "tied", "lazy_mlp", "centered", "my_linear"):
        assert f"**{name}.netstudio**" in markdown, name
