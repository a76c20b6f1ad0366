"""The parameter panels docked in the main window: parameter tree, heatmap,
initializer picker, shared-parameter links, device selector, run panel,
checkpoint inspector, weight import and the Runs view.

They import pyqtgraph, which costs a few hundred milliseconds, so the app adds
them just after the window first appears (``install_panels``) instead of
before: the canvas is usable at once and the panels follow.
"""

from __future__ import annotations


def install_panels(window) -> None:
    """Dock every panel in ``window`` (a ``MainWindow``) and add their menu entries."""
    from ui.panels import (checkpoint_inspector, device_selector, heatmap, import_weights, init_picker,
                           param_tree, run_panel, runs, shared_links)
    for module in (param_tree, heatmap, init_picker, shared_links, run_panel, checkpoint_inspector,
                   device_selector, import_weights, runs):
        module.install(window)
    window.perspectives.restore()  # now that every dock is there, lay them out as the perspective has them
