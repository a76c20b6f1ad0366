"""Big graphs (issue 11): the network of a graph above ``SYNC_REBUILD_LIMIT`` nodes is built on the
controller's build thread, never on the GUI thread: the first time the parameter tree asks for it, and
once the edits pause.  A build for a version the user has edited since is dropped, never shown."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
import torch
from PySide6.QtCore import QCoreApplication

from netstudio import session as session_module
from netstudio.compiler import build as compiler_build
from netstudio.graph import Document, Project
from ui.document.commands import SetParam
from ui.panels.param_tree import ParamTreePanel
from ui.panels.param_tree_model import SHAPE

from .test_controller_rebuild import edit, trained


def chain(n_blocks: int, width: int = 8) -> Project:
    """Linear/ReLU x n (half of the blocks Linear), as the open benchmark builds it."""
    doc = Document(Project(definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    d = doc.definition("main")
    doc.set_param("main", d.inputs[0].id, "shape", [2, width])
    for e in list(d.edges):
        doc.disconnect("main", e)
    prev = d.inputs[0].id
    for i in range(n_blocks):
        node = doc.add_node("main", "Linear" if i % 2 == 0 else "ReLU", None,
                            {"in_features": width, "out_features": width} if i % 2 == 0 else {})
        doc.connect("main", prev, "out", node.id, "in")
        prev = node.id
    doc.connect("main", prev, "out", d.outputs[0].id, "in")
    return doc.project


@pytest.fixture
def compiles(monkeypatch):
    """Every compile of a network: the thread it ran on, and whether it checked the project itself."""
    calls: list[dict] = []
    real_compile, real_check = session_module.compile_project, compiler_build.check

    def compile_project(project, *args, **kwargs):
        calls.append({"gui": threading.current_thread() is threading.main_thread(), "checked": False})
        return real_compile(project, *args, **kwargs)

    def check(*args, **kwargs):
        if calls:
            calls[-1]["checked"] = True
        return real_check(*args, **kwargs)
    monkeypatch.setattr(session_module, "compile_project", compile_project)
    monkeypatch.setattr(compiler_build, "check", check)
    return calls


@contextmanager
def held_builds(monkeypatch):
    """Builds wait inside their compile (holding the network, as they do) until the block ends."""
    entered, release = threading.Event(), threading.Event()
    entered.release = release
    real = session_module.compile_project

    def compile_project(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            entered.set()
            release.wait(20)
        return real(*args, **kwargs)
    monkeypatch.setattr(session_module, "compile_project", compile_project)
    try:
        yield entered
    finally:
        release.set()


def tree_panel(qtbot, controller) -> ParamTreePanel:
    panel = ParamTreePanel(controller)
    qtbot.addWidget(panel)
    panel.resize(700, 400)
    return panel


def tree_shown(panel: ParamTreePanel) -> bool:
    return panel.stack.currentWidget() is panel.view and panel.model.tree is not None


def test_the_tree_of_a_3000_block_project_is_built_off_the_gui_thread_and_lists_every_parameter(
        qtbot, make_controller, compiles):
    controller = make_controller(chain(3000))
    panel = tree_panel(qtbot, controller)
    assert panel.stack.currentWidget() is panel.building_label
    assert "Building the network" in panel.building_label.text() and "3,002 nodes" in panel.building_label.text()
    assert controller.session.module is None
    qtbot.waitUntil(lambda: tree_shown(panel), timeout=60000)
    assert compiles and not any(c["gui"] for c in compiles)   # never built on the GUI thread
    assert not any(c["checked"] for c in compiles)             # the check of the same version was reused
    panel.view.expandAll()
    names = panel.visible_names()
    tensors = [n for n in names if n.endswith((".weight", ".bias"))]
    assert len(tensors) == 2 * 1500
    assert set(tensors) == set(dict(controller.session.module.named_parameters()))


def watched_chain(make_controller, monkeypatch):
    """A 12-block chain built on the worker (a small limit), and the shapes of ``linear_6.weight``
    in each network installed."""
    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 10)
    controller = make_controller(chain(12))
    shown: list[tuple] = []
    controller.session.events.rebuilt.connect(
        lambda: shown.append(tuple(controller.session.module.state_dict()["linear_6.weight"].shape)))
    return controller, shown


def test_an_edit_during_the_first_build_never_shows_the_network_it_outdated(qtbot, make_controller, monkeypatch):
    controller, shown = watched_chain(make_controller, monkeypatch)
    with held_builds(monkeypatch) as entered:
        panel = tree_panel(qtbot, controller)
        qtbot.waitUntil(entered.is_set, timeout=10000)   # the first build is under way
        doc = controller.document
        last = next(n.id for n in doc.definition("main").nodes.values() if n.name == "linear_6")
        controller.push(SetParam(doc, "main", last, "out_features", 5))
        controller.wait_for_check()   # the edit's check is in before the outdated build ends
        assert panel.stack.currentWidget() is panel.building_label
    qtbot.waitUntil(lambda: tree_shown(panel) and not controller.session.stale, timeout=20000)
    assert shown == [(5, 8)]   # the outdated build was dropped, not installed
    panel.view.expandAll()
    assert panel.index_of("linear_6.weight").siblingAtColumn(SHAPE).data() == "(5, 8)"


def test_the_controller_drops_a_build_the_document_outdated_and_builds_again(qtbot, make_controller, monkeypatch):
    controller, shown = watched_chain(make_controller, monkeypatch)
    doc = controller.document
    last = next(n.id for n in doc.definition("main").nodes.values() if n.name == "linear_6")
    with held_builds(monkeypatch) as entered:
        assert controller.session.network_now() is None   # a view asks once
        qtbot.waitUntil(entered.is_set, timeout=10000)
        controller.push(SetParam(doc, "main", last, "out_features", 5))
        controller.wait_for_check()
    qtbot.waitUntil(lambda: not controller.session.stale and not controller.building, timeout=20000)
    assert shown == [(5, 8)]


def test_the_deferred_rebuild_runs_off_the_gui_thread_and_the_tree_keeps_the_last_rows_meanwhile(
        qtbot, make_controller, monkeypatch, compiles):
    controller = trained(make_controller)
    panel = tree_panel(qtbot, controller)
    panel.view.expandAll()
    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    compiles.clear()
    edit(controller)   # out resized to 5
    qtbot.wait(100)    # the tree's refresh after the edits builds nothing
    assert controller.session.stale and not compiles
    assert panel.index_of("out.weight").siblingAtColumn(SHAPE).data() == "(10, 256)"
    qtbot.waitUntil(lambda: not controller.session.stale, timeout=10000)
    assert compiles and not any(c["gui"] for c in compiles)
    qtbot.waitUntil(lambda: panel.index_of("out.weight").siblingAtColumn(SHAPE).data() == "(5, 256)",
                    timeout=5000)


def test_an_initializer_setting_changed_during_a_build_is_applied_as_without_one(
        qtbot, make_controller, monkeypatch):
    """A node's initializer setting applies to the live network at once; during a build (which holds the
    network) it is applied right after, and the network ends up as with synchronous rebuilds."""
    def setting(controller) -> None:
        nodes = {n.name: n.id for n in controller.document.definition("main").nodes.values()}
        controller.document.set_init("main", nodes["hidden"], "weight", {"scheme": "zeros"})

    small = trained(make_controller)
    edit(small)
    setting(small)
    expected = small.session.module.state_dict()
    assert torch.count_nonzero(expected["hidden.weight"]) == 0

    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    big = trained(make_controller)
    big._rebuild_timer.setInterval(10)
    with held_builds(monkeypatch) as entered:
        edit(big)
        qtbot.waitUntil(entered.is_set, timeout=10000)
        setting(big)
    qtbot.waitUntil(lambda: not big.session.stale and not big.building, timeout=10000)
    qtbot.waitUntil(lambda: not big.session._missed_inits, timeout=5000)
    state = big.session.module.state_dict()
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key


def test_a_save_during_a_build_gets_the_weights_once_it_is_done(qtbot, make_controller, monkeypatch):
    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    controller = trained(make_controller)
    controller.session.weights_modified = True
    controller._rebuild_timer.setInterval(10)
    with held_builds(monkeypatch) as entered:
        edit(controller)
        qtbot.waitUntil(entered.is_set, timeout=10000)
        future = controller.session.request_snapshot()
        assert not future.done()   # the build holds the network
    snapshot = future.result(timeout=10)
    assert snapshot.weights is not None and snapshot.weights["out.weight"].shape == (5, 256)


def test_ensure_built_during_a_build_waits_for_it_instead_of_building_again(
        qtbot, make_controller, monkeypatch, compiles):
    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    controller = trained(make_controller)
    controller._rebuild_timer.setInterval(10)
    compiles.clear()
    with held_builds(monkeypatch) as entered:
        edit(controller)
        qtbot.waitUntil(entered.is_set, timeout=10000)
        threading.Timer(0.3, entered.release.set).start()
        module = controller.session.ensure_built()   # waits for the build under way, then has nothing to do
    assert module is not None and module.state_dict()["out.weight"].shape == (5, 256)
    assert len(compiles) == 1 and not compiles[0]["gui"]


def test_a_closed_controller_starts_no_build(make_controller, qtbot, compiles):
    controller = make_controller(chain(3000))
    controller.session.network_now()   # a view asks for the network: it is built once the check is in
    QCoreApplication.processEvents()   # the check starts...
    controller.close()                 # ... and its result comes in after the window closed
    qtbot.wait(100)
    assert not compiles and controller.session.module is None


def test_the_tree_a_build_made_follows_the_first_forward(qtbot, make_controller, monkeypatch):
    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    controller = make_controller("lazy_mlp")
    panel = tree_panel(qtbot, controller)
    qtbot.waitUntil(lambda: tree_shown(panel), timeout=10000)
    panel.view.expandAll()
    assert panel.index_of("0.weight").siblingAtColumn(SHAPE).data() == "?"
    controller.session.run_forward()
    qtbot.waitUntil(lambda: panel.index_of("0.weight").siblingAtColumn(SHAPE).data() == "(256, 20)", timeout=5000)
