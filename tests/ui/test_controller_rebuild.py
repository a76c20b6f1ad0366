"""Big graphs (issue 11): the controller rebuilds a network the session left stale once the edits
pause, never while a run holds it, and with the values rebuilding after each edit would give."""

from __future__ import annotations

import torch

from netstudio import session as session_module
from ui.document.commands import Rename, SetParam


def trained(make_controller):
    """A controller on mlp_block whose weights no seed draws (as after training)."""
    controller = make_controller("mlp_block", run=True)
    with torch.no_grad():
        for i, p in enumerate(controller.session.module.parameters()):
            p.copy_(torch.full_like(p, 0.5 + i))
    return controller


def edit(controller) -> None:
    """Resize ``out``, rename ``hidden``, then undo the rename."""
    doc = controller.document
    nodes = {n.name: n.id for n in doc.definition("main").nodes.values()}
    controller.push(SetParam(doc, "main", nodes["out"], "out_features", 5))
    controller.push(Rename(doc, "main", nodes["hidden"], "encoder"))
    controller.undo_stack.undo()


def test_edits_on_a_big_graph_rebuild_once_they_pause_with_the_values_of_a_rebuild_per_edit(
        make_controller, qtbot, monkeypatch):
    small = trained(make_controller)
    before = {k: v.clone() for k, v in small.session.module.state_dict().items()}
    edit(small)
    assert not small.session.stale and not small._rebuild_timer.isActive()
    expected = small.session.module.state_dict()

    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    big = trained(make_controller)
    old_module, rebuilt = big.session.module, []
    big.session.events.rebuilt.connect(lambda: rebuilt.append(True))
    edit(big)
    assert big.session.stale and big.session.module is old_module and not rebuilt
    assert big._rebuild_timer.isActive()
    qtbot.waitUntil(lambda: not big.session.stale, timeout=5000)
    assert rebuilt == [True]
    state = big.session.module.state_dict()
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key
    assert torch.equal(state["hidden.weight"], before["hidden.weight"])
    assert state["out.weight"].shape == (5, 256) and not torch.any(state["out.weight"] == before["out.weight"][0, 0])


def test_a_run_holding_the_network_defers_the_rebuild_to_its_end(make_controller, qtbot, monkeypatch):
    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    controller = trained(make_controller)
    controller._rebuild_timer.setInterval(10)
    controller.run_started()
    edit(controller)
    qtbot.waitUntil(lambda: controller._rebuild_after_runs, timeout=5000)
    assert controller.session.stale and not controller._rebuild_timer.isActive()
    controller.run_finished()
    qtbot.waitUntil(lambda: not controller.session.stale, timeout=5000)


def test_a_closed_controller_rebuilds_no_more(make_controller, monkeypatch):
    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    controller = trained(make_controller)
    edit(controller)
    controller.close()
    assert not controller._rebuild_timer.isActive()
