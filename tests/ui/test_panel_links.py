"""Shared links: the list of ties, making and removing them, one element through
two names, and per-use gradients whose sum is autograd's gradient."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from netstudio.params.tied_gradients import WHY_SUM_EXPLANATION
from netstudio.run import Objective
from ui.panels import shared_links
from ui.panels.shared_links import SharedLinksPanel, parse_index


@pytest.fixture
def make_panel(make_controller, show_widget):
    def make(name: str, run: bool = True) -> SharedLinksPanel:
        return show_widget(SharedLinksPanel(make_controller(name, trusted=False, run=run)), (460, 900))
    return make


def params(panel: SharedLinksPanel) -> dict[str, torch.Tensor]:
    return dict(panel.session.module.named_parameters(remove_duplicate=False))


def node_id(panel: SharedLinksPanel, position: str) -> str:
    d = panel.controller.document.project.root_definition
    return next(n.id for n in d.nodes.values() if d.effective_name(n) == position)


def click_row(qtbot, panel: SharedLinksPanel, row: int) -> None:
    item = panel.tie_list.topLevelItem(row)
    rect = panel.tie_list.visualItemRect(item)
    qtbot.mouseClick(panel.tie_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_lists_the_tie_and_selecting_it_selects_both_nodes(qtbot, make_panel):
    panel = make_panel("tied")
    assert panel.tie_list.topLevelItemCount() == 1
    item = panel.tie_list.topLevelItem(0)
    assert [item.text(c) for c in range(3)] == ["Linear 4", "Linear 2", "main"]
    panel.tie_list.clearSelection()
    panel.controller.select("main", [])
    click_row(qtbot, panel, 0)
    assert panel.controller.selection == ("main", [node_id(panel, "4"), node_id(panel, "2")])


def test_setting_an_element_through_one_name_shows_through_the_other(qtbot, make_panel):
    panel = make_panel("tied")
    p = params(panel)
    assert p["2.weight"] is p["4.weight"]  # one tensor, two names
    old = p["2.weight"][0, 0].item()
    panel.alias_combo.setCurrentIndex(panel.alias_combo.findData("2.weight"))
    panel.index_edit.clear()
    qtbot.keyClicks(panel.index_edit, "0, 0")
    panel.value_spin.lineEdit().selectAll()
    qtbot.keyClicks(panel.value_spin.lineEdit(), "100")
    qtbot.keyClick(panel.value_spin.lineEdit(), Qt.Key.Key_Return)
    qtbot.mouseClick(panel.set_button, Qt.MouseButton.LeftButton)
    p = params(panel)
    assert p["2.weight"][0, 0].item() == 100 and p["4.weight"][0, 0].item() == 100
    assert torch.equal(p["2.weight"][0], p["4.weight"][0])  # net[2].weight.data[0] == net[4].weight.data[0]
    table = panel.alias_table
    assert [(table.item(r, 0).text(), table.item(r, 1).text(), table.item(r, 2).text())
            for r in range(table.rowCount())] == [("2.weight", "100", "yes"), ("4.weight", "100", "yes")]
    assert panel.controller.document.project.edits == [
        {"name": "2.weight", "op": "set", "value": 100.0, "index": [0, 0]}]
    panel.controller.undo_stack.undo()
    p = params(panel)
    assert p["2.weight"][0, 0].item() == pytest.approx(old) and p["4.weight"][0, 0].item() == pytest.approx(old)
    assert panel.controller.document.project.edits == []
    assert table.item(1, 1).text() == f"{old:.6g}"


def test_a_bad_index_is_refused_in_one_sentence(qtbot, make_panel):
    panel = make_panel("tied")
    panel.index_edit.clear()
    qtbot.keyClicks(panel.index_edit, "0, 99")
    qtbot.mouseClick(panel.set_button, Qt.MouseButton.LeftButton)
    assert panel.status.text() == "Index [0, 99] is out of range for '2.weight' of shape (8, 8)."
    assert panel.controller.undo_stack.count() == 0
    assert parse_index("[1][2]") == (1, 2)


def test_stop_sharing_and_share_again_as_undo_commands(qtbot, make_panel):
    panel = make_panel("tied")
    doc = panel.controller.document
    n2, n4 = node_id(panel, "2"), node_id(panel, "4")
    click_row(qtbot, panel, 0)
    qtbot.mouseClick(panel.untie_button, Qt.MouseButton.LeftButton)
    assert doc.ties() == []
    panel.session.run_forward()
    p = params(panel)
    assert p["2.weight"] is not p["4.weight"]
    assert not panel.tie_list.isVisible() and panel.empty_label.isVisible()
    # Linear 2 and Linear 4 have the same type, hyperparameters and shapes: they can share again
    panel.node_a.setCurrentIndex(panel.node_a.findData(n4))
    assert [panel.node_b.itemData(i) for i in range(panel.node_b.count())] == [n2]
    assert panel.tie_button.isEnabled()
    qtbot.mouseClick(panel.tie_button, Qt.MouseButton.LeftButton)
    assert doc.ties() == [("main", n4, n2)]
    assert panel.tie_list.topLevelItemCount() == 1
    panel.session.run_forward()
    p = params(panel)
    assert p["2.weight"] is p["4.weight"]
    stack = panel.controller.undo_stack
    assert stack.count() == 2
    stack.undo()
    assert doc.ties() == []
    stack.undo()
    assert doc.ties() == [("main", n4, n2)]


def test_only_compatible_nodes_are_offered(make_panel):
    panel = make_panel("param_access")  # Linear(4, 8) and Linear(8, 1): different hyperparameters
    assert panel.tie_list.topLevelItemCount() == 0 and panel.empty_label.isVisible()
    assert panel.node_a.count() == 0 and not panel.tie_button.isEnabled()
    assert panel.alias_combo.count() == 0 and not panel.set_button.isEnabled()


def test_gradients_of_each_use_add_up_to_the_total(qtbot, make_panel):
    panel = make_panel("tied")
    qtbot.mouseClick(panel.grad_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.runner.busy and bool(panel.gradients), timeout=20000)
    grads = panel.gradients
    assert set(grads) == {"2.weight", "2.bias"}
    for name, g in grads.items():
        assert [u.call_site for u in g.uses] == ["2", "4"]
        summed = g.uses[0].grad + g.uses[1].grad
        assert torch.allclose(summed, g.total, atol=1e-6)
        assert not torch.allclose(g.uses[0].grad, g.total)  # each use alone is only a part
    autograd = panel.session.run_backward(Objective("sum"))
    assert torch.allclose(autograd["2.weight"], grads["2.weight"].total, atol=1e-6)
    table = panel.grad_table
    rows = [tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]
    assert rows[0] == ("2.weight", "use 2", f"{grads['2.weight'].uses[0].grad.norm().item():.6g}")
    assert rows[1][1] == "use 4" and rows[3] == ("2.weight", "total",
                                                 f"{grads['2.weight'].total.norm().item():.6g}")
    assert "2.weight: total = Σ uses ✓" in panel.grad_check.text()
    assert panel.why.text() == WHY_SUM_EXPLANATION and "sum" in panel.why.text()


def test_gradients_on_a_deferred_network_create_the_parameters_first(qtbot, make_panel):
    panel = make_panel("tied", run=False)
    assert not panel.session.materialized
    qtbot.mouseClick(panel.grad_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.runner.busy, timeout=20000)
    assert panel.session.materialized and set(panel.gradients) == {"2.weight", "2.bias"}


def test_install_docks_the_panel(make_window):
    window = make_window(panels=False)
    dock = shared_links.install(window)
    assert isinstance(dock, QDockWidget) and window.docks[dock.objectName()] is dock
    assert isinstance(dock.widget(), SharedLinksPanel) and dock.widget().objectName() == "sharedLinks"
