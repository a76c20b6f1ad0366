"""The parameter tree: rows, totals, tied and deferred tensors, filter, linked selection, saving."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import QPersistentModelIndex, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from netstudio.files.tensor_io import load_tensors
from netstudio.graph import Document
from netstudio.serialization import load_project
from tests.ui.conftest import lock_held_elsewhere
from ui.document.controller import DocumentController
from ui.panels import param_tree, save_tensors
from ui.panels.param_tree import ParamTreePanel
from ui.panels.param_tree_model import (DEVICE, DTYPE, ELEMENTS, INITIALIZER, NAME, SHAPE, SHARED, SIZE,
                                        ParamTreeModel)


@pytest.fixture
def make_controller(examples_dir):
    controllers = []

    def make(name: str) -> DocumentController:
        controller = DocumentController(Document(load_project(examples_dir / f"{name}.netstudio")))
        controllers.append(controller)
        return controller

    yield make
    for controller in controllers:
        controller.close()


@pytest.fixture
def make_panel(qtbot, make_controller):
    def make(name: str, run: bool = False) -> ParamTreePanel:
        controller = make_controller(name)
        if run:
            controller.session.run_forward()
        panel = ParamTreePanel(controller)
        qtbot.addWidget(panel)
        panel.resize(900, 500)
        panel.view.expandAll()
        return panel
    return make


def cell(panel: ParamTreePanel, name: str, column: int) -> str:
    index = panel.index_of(name)
    assert index.isValid(), f"no row {name!r}"
    return index.siblingAtColumn(column).data()


def live(panel: ParamTreePanel, name: str) -> torch.Tensor:
    return dict(panel.session.ensure_built().named_parameters(remove_duplicate=False))[name]


def test_lists_every_parameter_with_its_shape_and_totals(make_panel):
    panel = make_panel("param_access", run=True)
    assert panel.view.objectName() == "parameterTree"
    assert panel.visible_names() == ["", "0", "0.weight", "0.bias", "1", "2", "2.weight", "2.bias"]
    assert [cell(panel, n, SHAPE) for n in ("0.weight", "0.bias", "2.weight", "2.bias")] == \
        ["(8, 4)", "(8,)", "(1, 8)", "(1,)"]
    assert cell(panel, "0.weight", NAME) == "weight"
    assert cell(panel, "0", NAME) == "0 (Linear)"
    assert cell(panel, "0.weight", DTYPE) == "float32"
    assert cell(panel, "0.weight", DEVICE) == "cpu"
    assert cell(panel, "0.weight", ELEMENTS) == "32"
    assert cell(panel, "0.weight", INITIALIZER) == "default"
    # the root row totals the network: 8*4 + 8 + 8 + 1 elements of 4 bytes
    assert cell(panel, "", ELEMENTS) == "49"
    assert cell(panel, "", SIZE) == "196 B"
    assert cell(panel, "0", ELEMENTS) == "40"
    assert cell(panel, "1", ELEMENTS) == ""  # ReLU has no tensors


def test_tied_parameter_appears_once_with_all_its_names(make_panel):
    panel = make_panel("tied", run=True)
    names = panel.visible_names()
    assert names.count("2.weight") == 1 and "4.weight" not in names and "4.bias" not in names
    assert cell(panel, "2.weight", SHARED) == "4.weight"
    assert cell(panel, "2.bias", SHARED) == "4.bias"
    assert cell(panel, "4", SHARED) == "2"          # the shared module at its second place
    # the shared layer counts once: (20*8+8) + (8*8+8) + (8+1)
    assert cell(panel, "", ELEMENTS) == "249"


def test_deferred_parameters_update_in_place_after_a_run(make_panel, qtbot):
    panel = make_panel("lazy_mlp")
    assert cell(panel, "0.weight", SHAPE) == "?"
    assert cell(panel, "0.weight", ELEMENTS) == "deferred"
    assert cell(panel, "", ELEMENTS) == "deferred"
    panel.select_names(["2.weight"])
    collapsed = panel.index_of("0")
    panel.view.collapse(collapsed)
    row = QPersistentModelIndex(panel.model.index_of("2.weight"))
    resets = []
    panel.model.modelReset.connect(lambda: resets.append(1))

    panel.session.run_forward()
    qtbot.waitUntil(lambda: cell(panel, "0.weight", SHAPE) == "(256, 20)")

    assert cell(panel, "2.weight", SHAPE) == "(10, 256)"
    assert cell(panel, "0.weight", ELEMENTS) == "5,120"
    assert cell(panel, "", ELEMENTS) == f"{256 * 20 + 256 + 10 * 256 + 10:,}"
    assert cell(panel, "0", NAME) == "0 (Linear)"          # was LazyLinear
    assert resets == [] and row.isValid()                  # in place: same rows, no reset
    assert panel.selected_names() == ["2.weight"]
    assert not panel.view.isExpanded(panel.index_of("0")) and panel.view.isExpanded(panel.index_of("2"))


def test_rebuild_keeps_expansion_and_selection(make_panel, qtbot):
    panel = make_panel("param_access", run=True)
    panel.view.collapse(panel.index_of("0"))
    panel.select_names(["2.weight"])
    doc = panel.controller.document
    doc.set_param("main", "n3", "out_features", 16)
    qtbot.waitUntil(lambda: cell(panel, "0.weight", SHAPE) == "(16, 4)")
    assert cell(panel, "2.weight", SHAPE) == "(1, 16)"
    assert panel.selected_names() == ["2.weight"]
    assert not panel.view.isExpanded(panel.index_of("0")) and panel.view.isExpanded(panel.index_of("2"))


def test_structural_rebuild_restores_expansion_and_selection(make_panel, qtbot):
    panel = make_panel("tied", run=True)
    panel.view.collapse(panel.index_of("0"))
    panel.select_names(["2.weight"])
    resets = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    panel.controller.document.untie("main", "n7")   # module 4 gets tensors of its own: new rows
    qtbot.waitUntil(lambda: panel.index_of("4.weight").isValid())
    assert resets and cell(panel, "2.weight", SHARED) == ""
    assert panel.selected_names() == ["2.weight"]
    assert not panel.view.isExpanded(panel.index_of("0")) and panel.view.isExpanded(panel.index_of("2"))


def test_filter_narrows_rows_by_name(make_panel):
    panel = make_panel("param_access", run=True)
    panel.set_filter("bias")
    assert panel.filter_edit.text() == "bias"
    assert panel.visible_names() == ["", "0", "0.bias", "2", "2.bias"]
    panel.set_filter("2.W")  # case-insensitive, on the dotted name
    assert panel.visible_names() == ["", "2", "2.weight"]
    panel.set_filter("")
    assert len(panel.visible_names()) == 8


def test_filter_matches_aliases_of_tied_tensors(make_panel):
    panel = make_panel("tied", run=True)
    panel.set_filter("4.weight")
    assert "2.weight" in panel.visible_names()


def test_clicking_a_parameter_selects_its_node_and_emits_the_tensor(make_panel, qtbot):
    panel = make_panel("param_access", run=True)
    panel.show()
    qtbot.waitExposed(panel)
    controller = panel.controller
    canvas = []
    controller.selection_changed.connect(lambda d, ids: canvas.append((d, ids)))
    index = panel.index_of("2.weight")
    rect = panel.view.visualRect(index)
    with qtbot.waitSignal(controller.tensor_selected, timeout=1000) as signal:
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    ref = signal.args[0]
    assert ref.name == "2.weight" and ref.source == "network" and ref.live
    assert ref.value() is live(panel, "2.weight")
    assert ref.grad() is None
    assert canvas == [("main", ["n5"])]
    assert controller.selection == ("main", ["n5"])
    assert panel.selected_names() == ["2.weight"]  # no feedback loop undid the selection


def test_tensor_reference_reads_the_live_value_at_call_time(make_panel, qtbot):
    panel = make_panel("param_access", run=True)
    with qtbot.waitSignal(panel.controller.tensor_selected) as signal:
        panel.select_names(["0.bias"])
    ref = signal.args[0]
    with torch.no_grad():
        live(panel, "0.bias").fill_(3.0)
    assert torch.equal(ref.value(), torch.full((8,), 3.0))


def test_module_rows_select_nodes_but_emit_no_tensor(make_panel, qtbot):
    panel = make_panel("tied", run=True)
    emitted = []
    panel.controller.tensor_selected.connect(emitted.append)
    panel.select_names(["4"])
    assert panel.controller.selection == ("main", ["n7"])
    assert emitted == []


def test_canvas_selection_selects_the_module_rows(make_panel):
    panel = make_panel("param_access", run=True)
    emitted, canvas = [], []
    panel.controller.tensor_selected.connect(emitted.append)
    panel.controller.selection_changed.connect(lambda d, ids: canvas.append(ids))
    panel.view.collapseAll()
    panel.controller.select("main", ["n3", "n5"])
    assert panel.selected_names() == ["0", "2"]
    assert panel.view.isExpanded(panel.index_of(""))
    assert canvas == [["n3", "n5"]] and emitted == []   # selecting rows did not echo back
    panel.controller.select("main", [])
    assert panel.selected_names() == []


def test_canvas_selection_in_a_nested_definition(make_panel):
    panel = make_panel("rgnet", run=True)
    panel.view.collapseAll()
    panel.controller.select("block1", ["n5"])  # one node, used in four blocks
    assert panel.selected_names() == ["0.block 0.0", "0.block 1.0", "0.block 2.0", "0.block 3.0"]
    assert panel.view.isExpanded(panel.index_of("0.block 2"))


def test_initializer_column_follows_node_and_project_settings(make_panel, qtbot):
    panel = make_panel("param_access", run=True)
    doc = panel.controller.document
    doc.set_init("main", "n3", "weight", {"scheme": "normal", "args": {"std": 0.01}})
    qtbot.waitUntil(lambda: cell(panel, "0.weight", INITIALIZER) == "normal(mean=0, std=0.01)")
    assert cell(panel, "0.bias", INITIALIZER) == "default"
    doc.set_setting("initializers", [{"scope": {"leaf": "bias"}, "scheme": "zeros"}])
    qtbot.waitUntil(lambda: cell(panel, "2.bias", INITIALIZER) == "zeros")
    assert cell(panel, "0.bias", INITIALIZER) == "zeros"
    assert cell(panel, "0.weight", INITIALIZER) == "normal(mean=0, std=0.01)"


def test_invalid_network_shows_the_error_instead_of_the_tree(make_panel, qtbot):
    panel = make_panel("param_access", run=True)
    doc = panel.controller.document
    doc.set_param("main", "n3", "out_features", 0)
    qtbot.waitUntil(lambda: panel.stack.currentWidget() is panel.error_label)
    assert panel.session.error and panel.session.error in panel.error_label.text()
    doc.set_param("main", "n3", "out_features", 8)
    qtbot.waitUntil(lambda: panel.stack.currentWidget() is panel.view)
    assert panel.index_of("0.weight").isValid()


def test_save_selected_tensors_round_trips(make_panel, tmp_path, monkeypatch):
    panel = make_panel("tied", run=True)
    target = tmp_path / "picked.safetensors"
    monkeypatch.setattr(save_tensors, "choose_save_path", lambda parent, suggested: str(target))
    monkeypatch.setattr(save_tensors, "show_error", lambda parent, message: pytest.fail(message))
    panel.select_names(["2.weight", "0.bias"])
    panel.save_selected()
    loaded = load_tensors(target)
    assert set(loaded) == {"2.weight", "4.weight", "0.bias"}   # a tied tensor under each of its names
    assert torch.equal(loaded["2.weight"], live(panel, "2.weight").detach())
    assert torch.equal(loaded["0.bias"], live(panel, "0.bias").detach())
    assert loaded["4.weight"] is loaded["2.weight"]            # stored once, still tied

    pt = tmp_path / "module.pt"
    monkeypatch.setattr(save_tensors, "choose_save_path", lambda parent, suggested: str(pt))
    panel.select_names(["6"])
    panel.save_selected()
    loaded = load_tensors(pt)
    assert set(loaded) == {"6.weight", "6.bias"}
    assert torch.equal(loaded["6.bias"], live(panel, "6.bias").detach())


def test_saving_deferred_tensors_explains_why_not(make_panel, monkeypatch):
    panel = make_panel("lazy_mlp")
    messages = []
    monkeypatch.setattr(save_tensors, "show_error", lambda parent, message: messages.append(message))
    monkeypatch.setattr(save_tensors, "choose_save_path", lambda *a: pytest.fail("asked for a path"))
    panel.select_names(["0.weight"])
    panel.save_selected()
    assert len(messages) == 1 and messages[0].endswith(".") and "\n" not in messages[0]


def test_updates_come_from_a_worker_thread_safely(make_panel, qtbot):
    """weights_changed emitted on another thread reaches the tree through the GUI thread."""
    import threading
    panel = make_panel("lazy_mlp")
    worker = threading.Thread(target=panel.session.run_forward)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: cell(panel, "0.weight", SHAPE) == "(256, 20)")


def test_busy_network_is_read_later_not_waited_for(make_panel, qtbot):
    panel = make_panel("lazy_mlp")
    with lock_held_elsewhere(panel.session):
        panel.refresh()            # returns at once instead of blocking the UI
        assert panel._retry.isActive()
    panel.session.run_forward()
    qtbot.waitUntil(lambda: cell(panel, "0.weight", SHAPE) == "(256, 20)")


def test_lazy_children_are_made_on_demand(make_controller):
    controller = make_controller("rgnet")
    model = ParamTreeModel()
    model.set_tree(controller.session.tree())
    root = model.index(0, 0)
    assert root.internalPointer()._children is None
    assert model.rowCount(root) == 2
    assert root.internalPointer()._children is None  # counting rows makes none
    assert model.index(0, 0, root).data() == "0 (Sequential)"


class FakeWindow(QMainWindow):
    def __init__(self, controller):
        super().__init__()
        self.controller = controller
        self.added = []
        self.menuBar().addMenu("&File")

    def add_panel(self, dock, area):
        self.addDockWidget(area, dock)
        self.added.append((dock.objectName(), area))


def test_install_docks_the_panel(qtbot, make_controller):
    window = FakeWindow(make_controller("param_access"))
    qtbot.addWidget(window)
    dock = param_tree.install(window)
    assert isinstance(dock, QDockWidget) and dock.objectName() == "parameterTreeDock"
    assert dock.windowTitle() == "Parameters"
    assert isinstance(dock.widget(), ParamTreePanel)
    assert window.added == [("parameterTreeDock", Qt.DockWidgetArea.RightDockWidgetArea)]


def counted(monkeypatch, owner, name: str) -> list:
    """Replace ``owner.name`` by a wrapper that records each call; returns the record."""
    calls, real = [], getattr(owner, name)
    monkeypatch.setattr(owner, name, lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    return calls


def test_a_new_panel_reads_the_network_once(qtbot, make_controller, monkeypatch):
    """Building the network while the panel reads it (a rebuilt event in the middle) is one read, not two."""
    controller = make_controller("mlp")
    trees = counted(monkeypatch, controller.session, "tree")
    inits = counted(monkeypatch, param_tree, "initializer_names")
    panel = ParamTreePanel(controller)
    qtbot.addWidget(panel)
    assert len(trees) == 1 and len(inits) == 1
    assert cell(panel, "0.weight", SHAPE) == "(256, 20)"


def test_runs_update_the_rows_without_walking_the_graph_again(make_panel, monkeypatch, qtbot):
    """Initializer names come from a walk of the graph: redone after an edit, not after each run or step."""
    panel = make_panel("lazy_mlp")
    inits = counted(monkeypatch, param_tree, "initializer_names")
    for _ in range(3):
        panel.session.run_forward()
        qtbot.waitUntil(lambda: cell(panel, "0.weight", SHAPE) == "(256, 20)")
        qtbot.waitUntil(lambda: not panel._soon.isActive())   # each run's refresh has happened
    assert inits == []
    panel.controller.document.set_init("main", "n3", "weight", {"scheme": "zeros"})
    qtbot.waitUntil(lambda: len(inits) == 1)
