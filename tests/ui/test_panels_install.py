"""Every parameter panel docks the same way: its dock's name and title, its area, and a panel bound
to the window's controller (one ``install_panel`` serves them all)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ui.panels import checkpoint_inspector, heatmap, init_picker, param_tree, run_panel, shared_links

RIGHT, BOTTOM = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
PANELS = [
    (param_tree, "parameterTreeDock", "Parameters", RIGHT, "parameterTreePanel"),
    (heatmap, "heatmapDock", "Heatmap", BOTTOM, "heatmap"),
    (init_picker, "initializerPickerDock", "Initialize", RIGHT, "initializerPicker"),
    (shared_links, "sharedLinksDock", "Shared Parameters", RIGHT, "sharedLinks"),
    (run_panel, "runPanelDock", "Run", BOTTOM, "runPanel"),
    (checkpoint_inspector, "checkpointInspectorDock", "Checkpoint", BOTTOM, "checkpointInspector"),
]


@pytest.mark.parametrize("module, dock_name, title, area, panel_name", PANELS,
                         ids=[p[0].__name__.rsplit(".", 1)[-1] for p in PANELS])
def test_each_panel_docks_in_its_place(make_window, module, dock_name, title, area, panel_name):
    window = make_window(panels=False)
    dock = module.install(window)
    assert window.docks[dock_name] is dock and dock.objectName() == dock_name
    assert dock.windowTitle() == title and window.dockWidgetArea(dock) == area
    panel = dock.widget()
    assert panel.objectName() == panel_name and panel.controller is window.controller
    assert dock.toggleViewAction() in window.menus["view"].actions()
