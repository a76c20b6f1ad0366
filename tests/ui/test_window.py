"""The main window: its parts, the first start, the problems list, menus and the saved layout."""

from __future__ import annotations

import json
import shutil

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QGraphicsView, QLabel

from netstudio.serialization import load_project
from ui.shell import prompts
from ui.document.commands import RemoveNode, SetParam
from ui.shell.examples import EXAMPLES_DIR, FIRST_EXAMPLE


def test_the_parts_have_their_object_names(make_window):
    window = make_window()
    for name in ("palette", "properties", "problems", "history"):
        dock = window.findChild(QDockWidget, name)
        assert dock is not None and dock.isVisible(), name
    assert window.findChild(QGraphicsView, "canvas") is window.canvas.view
    assert window.centralWidget().isAncestorOf(window.canvas)


def test_create_window_returns_a_ready_window_on_the_mlp_example_at_first_start(make_window):
    window = make_window(show=False)
    assert not window.isVisible()
    assert window.files.example == FIRST_EXAMPLE
    assert window.controller.path is None  # Save asks where: the bundled file stays untouched
    assert window.controller.document.project.to_dict() == load_project(FIRST_EXAMPLE).to_dict()
    assert window.windowTitle() == "mlp.netstudio (example)[*] — NetStudio"
    assert not window.isWindowModified()


def test_status_bar_shows_nodes_validity_parameters_and_file(make_window):
    window = make_window()
    status = window.status
    assert status.nodes_label.text() == "5 nodes"
    assert status.validity_label.text() == "✓ valid"
    assert status.params_label.text() == "7,946 parameters"  # 20*256+256 + 256*10+10
    assert status.file_label.text() == "example: mlp.netstudio"
    linear = _node(window, "Linear")
    window.controller.push(SetParam(window.controller.document, "main", linear.id, "in_features", 3))
    window.controller.wait_for_check()
    assert status.validity_label.text() == "1 problem"


def test_open_example_lists_every_bundled_example_with_its_description(make_window):
    menu = make_window().files.examples_menu
    actions = menu.actions()
    assert len(actions) == 13
    assert [a.text() for a in actions] == sorted(p.name for p in EXAMPLES_DIR.glob("*.netstudio"))
    for action in actions:
        description = json.loads((EXAMPLES_DIR / action.text()).read_text())["description"]
        assert action.toolTip() == action.statusTip() == description


def test_opening_an_example_with_code_trusts_it_without_asking(make_window):
    window = make_window()
    action = next(a for a in window.files.examples_menu.actions() if a.text() == "chimera.netstudio")
    action.trigger()  # the autouse fixture fails the test if anything asks
    result = window.controller.wait_for_check()
    assert window.controller.document.project.name == "chimera"
    assert window.controller.document.project.trusted and result.ok
    assert not window.trust_bar.isVisible()


def test_clicking_a_nested_problem_opens_its_definition_and_selects_its_node(make_window, tmp_path,
                                                                             monkeypatch, qtbot):
    copy = tmp_path / "chimera.netstudio"
    shutil.copy(EXAMPLES_DIR / "chimera.netstudio", copy)
    monkeypatch.setattr(prompts, "ask_trust", lambda parent, names: False)
    window = make_window(copy)
    problems = window.problems
    item = problems.topLevelItem(0)
    diag = problems.diagnostics()[0]
    assert diag.definition == "FixedHiddenMLP" and item.text(0) == "FixedHiddenMLP/halve"
    project = window.controller.document.project
    path = project.first_instance_path("FixedHiddenMLP")
    assert path == ("n25",)  # the Block at position 2 of main
    assert window.canvas.current_definition == "main"
    rect = problems.visualItemRect(item)
    qtbot.mouseClick(problems.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.canvas.current_definition == "FixedHiddenMLP"
    assert window.canvas.current_path == path
    assert window.canvas.selected_node_ids() == [diag.node_id]
    assert window.controller.selection == ("FixedHiddenMLP", [diag.node_id])


def test_clicking_a_top_level_problem_selects_its_node(make_window, qtbot):
    window = make_window()
    second = [n for n in window.controller.document.project.root_definition.nodes.values() if n.type == "Linear"][1]
    window.controller.push(SetParam(window.controller.document, "main", second.id, "in_features", 3))
    window.controller.wait_for_check()
    item = window.problems.topLevelItem(0)
    assert "3" in item.text(1)
    qtbot.mouseClick(window.problems.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.problems.visualItemRect(item).center())
    assert window.controller.selection == ("main", [second.id])


def test_edit_menu_has_undo_redo_and_the_canvas_actions(make_window):
    window = make_window()
    actions = window.menus["edit"].actions()
    assert window.undo_action in actions and window.redo_action in actions
    assert window.undo_action.shortcut() == QKeySequence("Ctrl+Z")
    assert QKeySequence("Ctrl+Shift+Z") in window.redo_action.shortcuts()
    for name in ("copy", "paste", "delete", "rename", "group", "ungroup", "share_parameters", "edit_code"):
        assert window.canvas.actions[name] in actions, name
    view = window.menus["view"].actions()
    for name in ("zoom_in", "zoom_out", "fit", "auto_layout"):
        assert window.canvas.actions[name] in view, name


def test_undo_and_redo_through_the_menu_actions(make_window):
    window = make_window()
    linear = _node(window, "Linear")
    window.controller.push(SetParam(window.controller.document, "main", linear.id, "out_features", 32))
    window.undo_action.trigger()
    assert linear.params["out_features"] == 256
    window.redo_action.trigger()
    assert linear.params["out_features"] == 32


def test_view_menu_lists_every_panel_and_add_panel_adds_one(make_window, qtbot):
    window = make_window()
    view = window.menus["view"].actions()
    for dock in window.docks.values():
        assert dock.toggleViewAction() in view
    panel = window.make_dock("heatmap", "Heatmap", QLabel("weights"))
    window.add_panel(panel, Qt.DockWidgetArea.RightDockWidgetArea)
    assert window.docks["heatmap"] is panel
    assert panel.toggleViewAction() in window.menus["view"].actions()
    assert window.dockWidgetArea(panel) == Qt.DockWidgetArea.RightDockWidgetArea
    qtbot.waitUntil(lambda: panel in window.tabifiedDockWidgets(window.docks["properties"]))  # laid out lazily


def test_a_panel_added_after_start_up_goes_back_where_it_was(make_window, qtbot):
    window = make_window()
    window.add_panel(window.make_dock("heatmap", "Heatmap", QLabel("weights")), Qt.DockWidgetArea.RightDockWidgetArea)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.docks["heatmap"])
    window.close()
    again = make_window()
    panel = again.make_dock("heatmap", "Heatmap", QLabel("weights"))
    again.add_panel(panel, Qt.DockWidgetArea.RightDockWidgetArea)
    assert again.dockWidgetArea(panel) == Qt.DockWidgetArea.LeftDockWidgetArea


def test_window_layout_persists(make_window, qtbot):
    window = make_window()
    window.docks["history"].toggleViewAction().trigger()
    window.resize(780, 580)  # fits the smallest test screen (offscreen: 800x600)
    qtbot.waitUntil(lambda: window.size().width() == 780)
    assert not window.docks["history"].isVisible()
    window.close()
    again = make_window()
    assert not again.docks["history"].isVisible()
    assert (again.width(), again.height()) == (780, 580)


def test_create_window_opens_the_given_project(make_window, examples_dir):
    window = make_window(examples_dir / "tied.netstudio", show=False)
    assert window.controller.document.project.name == "tied"


def _node(window, type_name):
    return next(n for n in window.controller.document.project.root_definition.nodes.values() if n.type == type_name)


def test_instance_path_follows_containers_from_the_root(examples_dir):
    project = load_project(examples_dir / "chimera.netstudio")
    assert project.first_instance_path("main") == ()
    assert project.first_instance_path("NestMLP_net") == ("n23", "n11")
    project.definitions["main"].nodes.pop("n25")
    assert project.first_instance_path("FixedHiddenMLP") is None


def test_clicking_a_problem_of_a_whole_definition_opens_it(make_window, examples_dir, qtbot):
    window = make_window(examples_dir / "chimera.netstudio")
    doc = window.controller.document
    window.controller.push(RemoveNode(doc, "NestMLP", "n4"))  # NestMLP loses its Output
    window.controller.wait_for_check()
    rows = [i for i, d in enumerate(window.problems.diagnostics()) if d.definition == "NestMLP" and d.node_id is None]
    assert rows
    item = window.problems.topLevelItem(rows[0])
    qtbot.mouseClick(window.problems.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.problems.visualItemRect(item).center())
    assert (window.canvas.current_definition, window.canvas.current_path) == ("NestMLP", ("n23",))
