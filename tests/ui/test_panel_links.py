"""Shared links: the list of ties, making and removing them, one element through
two names, and per-use gradients whose sum is autograd's gradient."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt

from netstudio.params.tied_gradients import WHY_SUM_EXPLANATION
from netstudio.run import Objective
from netstudio.run.typed_text import parse_index
from ui.panels.shared_links import SharedLinksPanel, tie_list


@pytest.fixture
def make_panel(panel_maker):
    return panel_maker(SharedLinksPanel, (460, 900))


def params(panel: SharedLinksPanel) -> dict[str, torch.Tensor]:
    return dict(panel.session.ensure_built().named_parameters(remove_duplicate=False))


def node_id(panel: SharedLinksPanel, position: str) -> str:
    d = panel.controller.document.project.root_definition
    return next(n.id for n in d.nodes.values() if d.effective_name(n) == position)


def open_candidates(panel: SharedLinksPanel) -> list[str]:
    """Open the "uses" list, as a click does (its items are computed then), and read it."""
    panel.node_b.showPopup()
    panel.node_b.hidePopup()
    return [panel.node_b.itemData(i) for i in range(panel.node_b.count())]


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
    # (not Linear 0: it is deferred too, but fed 20 features where they get 8)
    panel.controller.wait_for_check()
    panel.node_a.setCurrentIndex(panel.node_a.findData(n4))
    assert not panel.tie_button.isEnabled() and "Open “uses”" in panel.tie_hint.text()
    assert open_candidates(panel) == [n2]
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
    panel.controller.wait_for_check()
    assert panel.tie_list.topLevelItemCount() == 0 and panel.empty_label.isVisible()
    assert panel.node_a.count() == 2 and open_candidates(panel) == [] and not panel.tie_button.isEnabled()
    assert "cannot share with any" in panel.tie_hint.text()
    assert panel.alias_combo.count() == 0 and not panel.set_button.isEnabled()


def test_deferred_layers_fed_different_widths_are_not_offered(make_controller, show_widget):
    """Two deferred Linear(?, 4), one fed 20 features and one 8: the same hyperparameters, but tying
    them fails the checker, so neither the panel nor the canvas offers it; fed 8 and 8 they are offered."""
    from tests.engine.test_tie_candidates import fork
    from ui.canvas import CanvasWidget
    deferred = {"in_features": None, "out_features": 4}
    for widths, offered in (((20, 8), False), ((8, 8), True)):
        doc, a, b = fork(widths, deferred, deferred)
        controller = make_controller(doc.project)
        panel = show_widget(SharedLinksPanel(controller), (460, 900))
        canvas = show_widget(CanvasWidget(controller), (900, 600))
        controller.wait_for_check()
        panel.node_a.setCurrentIndex(panel.node_a.findData(a))
        shown = open_candidates(panel)
        assert shown == ([b] if offered else []) and panel.tie_button.isEnabled() == offered
        menu = canvas.build_context_menu(a)
        share = next(action.menu() for action in menu.actions() if action.menu() is not None)
        assert [action.data() for action in share.actions() if action.data()] == ([b] if offered else [])
        assert share.isEnabled() == offered
        canvas.select_nodes([a, b])
        assert canvas.actions["share_parameters"].isEnabled() == offered
        menu.deleteLater()
        canvas.close()


def shown_gradients(panel: SharedLinksPanel) -> dict[str, dict[str, str]]:
    """The table as {parameter label: {use: number as shown}}."""
    table, out = panel.grad_table, {}
    for r in range(table.rowCount()):
        out.setdefault(table.item(r, 0).text(), {})[table.item(r, 1).text()] = table.item(r, 2).text()
    return out


def assert_rows_add_up(rows: dict[str, str]) -> None:
    """The uses' numbers, as written, add up to the total as written (to within the last decimal)."""
    total = rows.pop("total")
    decimals = len(total.partition(".")[2])
    assert all(len(text.partition(".")[2]) == decimals for text in rows.values())   # one column of decimals
    assert abs(sum(float(t) for t in rows.values()) - float(total)) <= (len(rows) + 1) * 0.5 * 10.0 ** -decimals


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
    # By default, each parameter's element of largest total gradient: one number per use, and the total.
    total = grads["2.weight"].total
    row, col = divmod(int(total.abs().argmax()), total.shape[1])
    table = shown_gradients(panel)
    rows = table[f"2.weight[{row}, {col}]"]
    assert list(rows) == ["use 2", "use 4", "total"]
    assert float(rows["total"]) == pytest.approx(total[row, col].item(), abs=1e-5)
    assert float(rows["use 4"]) == pytest.approx(grads["2.weight"].uses[1].grad[row, col].item(), abs=1e-5)
    for rows in table.values():
        assert_rows_add_up(rows)
    assert "✓" in panel.grad_check.text() and "✗" not in panel.grad_check.text()
    # One element the user picks, then the sum of all elements: the rows still add up.
    panel.element_combo.setCurrentIndex(panel.element_combo.findData("index"))
    assert panel.element_index.isVisible()
    panel.element_index.clear()
    qtbot.keyClicks(panel.element_index, "1, 2")
    qtbot.keyClick(panel.element_index, Qt.Key.Key_Return)
    rows = shown_gradients(panel)["2.weight[1, 2]"]
    assert float(rows["use 2"]) == pytest.approx(grads["2.weight"].uses[0].grad[1, 2].item(), abs=1e-5)
    assert_rows_add_up(rows)
    panel.element_combo.setCurrentIndex(panel.element_combo.findData("sum"))
    table = shown_gradients(panel)
    assert set(table) == {"Σ 2.weight", "Σ 2.bias"}
    assert float(table["Σ 2.bias"]["total"]) == pytest.approx(grads["2.bias"].total.sum().item(), rel=1e-4)
    for rows in table.values():
        assert_rows_add_up(rows)
    assert panel.why.text() == WHY_SUM_EXPLANATION and "sum" in panel.why.text()


def test_an_index_outside_the_gradient_is_said_in_one_sentence(qtbot, make_panel):
    panel = make_panel("tied")
    qtbot.mouseClick(panel.grad_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.runner.busy and bool(panel.gradients), timeout=20000)
    panel.element_combo.setCurrentIndex(panel.element_combo.findData("index"))
    panel.element_index.clear()
    qtbot.keyClicks(panel.element_index, "0, 99")
    qtbot.keyClick(panel.element_index, Qt.Key.Key_Return)
    assert panel.status.text() == "Index [0, 99] is out of range for '2.weight' of shape (8, 8)."


def test_gradients_on_a_deferred_network_create_the_parameters_first(qtbot, make_panel):
    panel = make_panel("tied", run=False)
    assert not panel.session.materialized
    qtbot.mouseClick(panel.grad_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.runner.busy, timeout=20000)
    assert panel.session.materialized and set(panel.gradients) == {"2.weight", "2.bias"}


def test_candidates_are_asked_when_the_list_opens_for_the_node_picked_only(qtbot, make_controller, show_widget,
                                                                          monkeypatch):
    """On a long chain of alike blocks, building the panel, picking a node and new check results ask for
    no candidates; opening "uses" asks once, for the node picked, and a new check result asks again."""
    from tests.engine.builders import chain_project
    asked = []
    real = tie_list.tie_candidates
    monkeypatch.setattr(tie_list, "tie_candidates", lambda project, d, node_id, result=None:
                        asked.append(node_id) or real(project, d, node_id, result))
    doc, ids = chain_project([("Linear", {"in_features": 8, "out_features": 8})] * 300, shape=(2, 8))
    controller = make_controller(doc.project)
    panel = show_widget(SharedLinksPanel(controller), (460, 900))
    controller.wait_for_check()
    panel.node_a.setCurrentIndex(panel.node_a.findData(ids[7]))
    assert panel.node_a.count() == 300 and asked == []
    assert len(open_candidates(panel)) == 299 and asked == [ids[7]]
    open_candidates(panel)
    assert asked == [ids[7]]                                     # nothing changed: the list stands
    with qtbot.waitSignal(controller.checked):
        controller.document.set_param("main", ids[299], "out_features", 4)   # it no longer fits: a new result
    assert asked == [ids[7]] and panel.node_b.currentData() == ids[0]   # the choice stays until it opens
    assert len(open_candidates(panel)) == 298 and asked == [ids[7]] * 2


def test_one_shape_index_per_check_result(qtbot, make_controller, show_widget, monkeypatch):
    """Asking for several nodes' candidates reads the check result once, not once per node."""
    from netstudio.analysis import tie_candidates
    from tests.engine.builders import chain_project
    built = []

    class Counted(tie_candidates.ShapeIndex):
        def __init__(self, result):
            built.append(result)
            super().__init__(result)

    monkeypatch.setattr(tie_candidates, "ShapeIndex", Counted)
    doc, ids = chain_project([("Linear", {"in_features": 8, "out_features": 8})] * 50, shape=(2, 8))
    controller = make_controller(doc.project)
    panel = show_widget(SharedLinksPanel(controller), (460, 900))
    controller.wait_for_check()
    for node in ids[:10]:
        panel.node_a.setCurrentIndex(panel.node_a.findData(node))
        assert len(open_candidates(panel)) == 49
    assert built == [controller.result]


def test_the_tie_list_walks_the_project_once_however_many_ties(make_controller, show_widget, monkeypatch):
    """Each tie's tooltip names its module paths; they come from one walk of the project, not one per tie."""
    from tests.engine.builders import chain_project
    doc, ids = chain_project([("Linear", {"in_features": 8, "out_features": 8})] * 60, shape=(2, 8))
    for node in ids[1:40]:
        doc.tie("main", node, ids[0])
    walks = []
    real = tie_list.node_places
    monkeypatch.setattr(tie_list, "node_places", lambda project: walks.append(1) or real(project))
    panel = show_widget(SharedLinksPanel(make_controller(doc.project)), (460, 900))
    walks.clear()
    panel.ties.refresh()
    assert panel.tie_list.topLevelItemCount() == 39 and len(walks) == 1
    assert panel.tie_list.topLevelItem(5).toolTip(0) == "module path 6"


def test_an_edit_reads_the_ties_and_the_shared_names_once(make_panel, monkeypatch):
    """An edit changes the document, then the rebuilt network: each list is read again once, not per event."""
    panel = make_panel("tied")
    ties, names = [], []
    real_sharers, real_names = tie_list.untied_sharers, panel.aliases.shared_names
    monkeypatch.setattr(tie_list, "untied_sharers", lambda d: ties.append(1) or real_sharers(d))
    monkeypatch.setattr(panel.aliases, "shared_names", lambda: names.append(1) or real_names())
    panel.session.ensure_built()
    panel.controller.document.rename("main", node_id(panel, "0"), "first")
    assert len(ties) == 1 and len(names) == 1
    assert panel.alias_combo.count() == 4 and panel.tie_list.topLevelItemCount() == 1


def test_opening_a_project_with_ties_selects_nothing(make_window, examples_dir, qtbot):
    """The tie list has its first tie ready for Stop Sharing, but opening a project is not a click: the
    canvas and Properties keep an empty selection (chimera once opened on "2 blocks selected", inside
    a nested definition, none of them in view)."""
    window = make_window(examples_dir / "chimera.netstudio")
    panel = window.findChild(SharedLinksPanel)
    assert panel.ties.selected_tie() is not None and panel.ties.untie_button.isEnabled()
    assert window.controller.selection[1] == [] and window.canvas.selected_node_ids() == []
    # A click on the tie still shows its two blocks.
    item = panel.ties.tie_list.topLevelItem(0)
    item.setSelected(False)
    item.setSelected(True)
    definition, node, target = panel.ties.selected_tie()
    assert window.controller.selection == (definition, [node, target])
