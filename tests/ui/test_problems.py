"""The problems list shows recorded weight edits that no longer fit the graph."""

from __future__ import annotations

from ui.editors.problems import ProblemsPanel


def test_a_stale_recorded_edit_is_listed_as_a_warning(make_controller, show_widget, qtbot):
    controller = make_controller("param_access", run=True)
    panel = show_widget(ProblemsPanel(controller), (700, 200))
    doc = controller.document
    doc.set_setting("edits", [{"name": "0.weight", "op": "set", "value": 1.0, "index": [7, 0]}])
    first = doc.project.root_definition.chain()[0]
    doc.set_param("main", first.id, "out_features", 4)     # 0.weight is now (4, 4): index 7 is gone
    controller.session.ensure_built()                               # the rebuild skips the stale edit
    qtbot.waitUntil(lambda: any("no longer applies" in d.message for d in panel.diagnostics()))
    (diag,) = [d for d in panel.diagnostics() if "no longer applies" in d.message]
    assert diag.severity == "warning" and "out of range" in diag.message
