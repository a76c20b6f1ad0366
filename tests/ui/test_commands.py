"""Each undo command puts the project back exactly as it was, and redo does the edit again (issue #9).

The commands are pushed on a plain ``QUndoStack`` over a ``Document``: what is
checked is the project itself (``to_dict``), before, after, after undo and
after redo.
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QUndoStack

from netstudio.graph import Document
from netstudio.serialization import load_project
from ui.document.commands import SetCode

CODE = "class Halve(nn.Module):\n    def forward(self, X):\n        return X / 2\n"
OTHER = "class Halve(nn.Module):\n    def forward(self, X):\n        return X * 0.5\n"


@pytest.fixture
def doc(examples_dir) -> Document:
    return Document(load_project(examples_dir / "mlp.netstudio"))


@pytest.fixture
def stack(qapp):
    stack = QUndoStack()
    yield stack
    stack.clear()


def test_undo_of_set_code_for_a_new_class_removes_the_class(doc, stack):
    assert "Halve" not in doc.project.code
    changed = []
    doc.events.code_changed.connect(changed.append)
    stack.push(SetCode(doc, "Halve", CODE))
    assert doc.project.code["Halve"] == CODE
    stack.undo()
    assert "Halve" not in doc.project.code     # no old code: the class goes, not an empty text
    stack.redo()
    assert doc.project.code["Halve"] == CODE
    assert changed == ["Halve"] * 3


def test_undo_of_set_code_puts_the_old_code_back(doc, stack):
    doc.set_code("Halve", CODE)
    stack.push(SetCode(doc, "Halve", OTHER))
    assert doc.project.code["Halve"] == OTHER
    stack.undo()
    assert doc.project.code["Halve"] == CODE
    stack.redo()
    assert doc.project.code["Halve"] == OTHER
    assert stack.text(0) == "Edit code of Halve"



# ---------------------------------------------------------------- every document command round-trips

def state(doc) -> dict:
    """The project as data; edges sorted (an edge put back by undo comes last, which means nothing)."""
    data = doc.project.to_dict()
    for d in data["definitions"].values():
        d["edges"] = sorted(d["edges"], key=lambda e: e["id"])
    return data


def round_trip(doc, stack, command, check_after=None):
    """Push ``command``; undo must give back the project as it was, redo the project it made."""
    before = state(doc)
    stack.push(command)
    after = state(doc)
    assert after != before
    if check_after:
        assert check_after()
    stack.undo()
    assert state(doc) == before
    stack.redo()
    assert state(doc) == after
    return after


def test_node_edge_name_param_tie_and_move_commands_round_trip(doc, stack):
    from ui.document.commands import AddNode, Connect, Disconnect, MoveNodes, RemoveNode, Rename, SetParam, Tie
    main = doc.project.root_definition
    first = main.chain()[0]
    add = AddNode(doc, "main", "Linear", (10.0, 20.0), {"out_features": 3}, "extra")
    round_trip(doc, stack, add, lambda: doc.node("main", add.node.id).name == "extra")
    assert stack.text(stack.index() - 1) == "Add Linear"
    round_trip(doc, stack, RemoveNode(doc, "main", add.node.id))
    edge = next(iter(main.edges.values()))
    round_trip(doc, stack, Disconnect(doc, "main", edge.id))
    stack.undo()                               # the edge is back: connect it again as a new one
    spare = doc.add_node("main", "ReLU", "spare")
    round_trip(doc, stack, Connect(doc, "main", first.id, "out", spare.id, "in"))
    round_trip(doc, stack, Rename(doc, "main", spare.id, "renamed"))
    assert stack.text(stack.index() - 1) == "Rename to 'renamed'"
    round_trip(doc, stack, SetParam(doc, "main", first.id, "out_features", 7))     # had a value
    round_trip(doc, stack, SetParam(doc, "main", first.id, "bias", False))         # had none: undo forgets it
    other = doc.add_node("main", "Linear", "other", {"out_features": 7})
    round_trip(doc, stack, Tie(doc, "main", other.id, first.id))
    assert stack.text(stack.index() - 1) == "Share parameters"
    round_trip(doc, stack, Tie(doc, "main", other.id, None))
    assert stack.text(stack.index() - 1) == "Stop sharing parameters"
    one = MoveNodes(doc, "main", {spare.id: (doc.node("main", spare.id).position, (5.0, 6.0))})
    round_trip(doc, stack, one)
    assert one.text() == "Move renamed"
    two = MoveNodes(doc, "main", {spare.id: ((5.0, 6.0), (1.0, 1.0)), other.id: (doc.node("main", other.id).position,
                                                                               (2.0, 2.0))})
    round_trip(doc, stack, two)
    assert two.text() == "Move"


def test_a_snapshot_command_is_one_step_with_stable_ids(doc, stack):
    from ui.document.commands import SnapshotCommand
    made = []

    def action(d):
        made.append(d.add_node("main", "ReLU", "r1").id)
        made.append(d.add_node("main", "ReLU", "r2").id)
        return "done"
    cmd = SnapshotCommand(doc, "Two nodes", action)
    outcome = cmd.outcome
    after = round_trip(doc, stack, cmd)
    assert outcome == {"result": "done", "error": None} and len(made) == 2   # the action ran once
    assert set(made) <= set(doc.project.root_definition.nodes) and state(doc) == after


@pytest.mark.parametrize("message, expected", [("not here", "not here"), ("", "ValueError")])
def test_a_refusing_snapshot_action_leaves_the_project_and_the_stack_as_they_were(doc, stack, message, expected):
    from ui.document.commands import SnapshotCommand
    before = doc.project.to_dict()

    def action(d):
        d.add_node("main", "ReLU", "half_done")
        raise ValueError(message)
    cmd = SnapshotCommand(doc, "Refused", action)
    outcome = cmd.outcome
    stack.push(cmd)
    assert outcome == {"result": None, "error": expected}
    assert doc.project.to_dict() == before and stack.count() == 0


def test_a_refusing_action_that_changed_nothing_does_not_reset_the_document(doc, stack):
    from ui.document.commands import SnapshotCommand
    resets = []
    doc.events.reset.connect(lambda *a: resets.append(a))

    def action(d):
        raise ValueError("no")
    stack.push(SnapshotCommand(doc, "Refused", action))
    assert resets == [] and stack.count() == 0


def test_push_snapshot_and_rename_class_through_a_controller(make_controller):
    from ui.document.commands import push_snapshot, rename_class
    controller = make_controller("mlp")
    doc = controller.document
    assert push_snapshot(controller, "Add", lambda d: d.add_node("main", "ReLU", "x").name) == ("x", None)
    assert push_snapshot(controller, "No", lambda d: (_ for _ in ()).throw(ValueError("refused"))) == (None, "refused")
    assert controller.undo_stack.count() == 1
    doc.set_code("Halve", CODE)
    assert rename_class(controller, "Halve", " Halve ") is None and controller.undo_stack.count() == 1
    assert rename_class(controller, "Halve", "not a name").endswith(".")
    assert rename_class(controller, "Missing", "Other") == "There is no code class named 'Missing'."
    assert rename_class(controller, "Halve", "Half") is None
    assert "Half" in doc.project.code and "Halve" not in doc.project.code
    assert controller.undo_stack.text(controller.undo_stack.index() - 1) == "Rename class Halve to Half"
    controller.undo_stack.undo()
    assert doc.project.code == {"Halve": CODE}
    controller.undo_stack.redo()
    assert "class Half(" in doc.project.code["Half"]

# ---------------------------------------------------------------- initializers on a lazy network

def lazy_assignments():
    from netstudio.init.assignments import InitAssignment
    from netstudio.init.scopes import Scope
    return [InitAssignment(Scope(module_type="Linear", leaf="weight"), "normal", {"mean": 0.0, "std": 1.0}),
            InitAssignment(Scope(module_type="Linear", leaf="bias"), "uniform", {"a": -1.0, "b": 1.0})]


def assert_live_equals_replay(controller, example_input):
    import torch

    from netstudio.compiler import compile_project
    controller.session.run_forward()
    live = controller.session.ensure_built().state_dict()
    replayed = compile_project(controller.document.project)
    replayed(example_input)
    state = replayed.state_dict()
    assert list(state) == list(live)
    for name, value in state.items():
        assert torch.equal(live[name], value), name


def test_initializers_on_an_eager_network_equal_their_replay(make_controller):
    import torch

    from ui.document.weight_commands import ApplyInitializers, push_weight_command
    controller = make_controller("mlp")
    for assignment in lazy_assignments():
        assert push_weight_command(controller, ApplyInitializers(controller, [assignment])) is None
    assert_live_equals_replay(controller, torch.rand(2, 20))


@pytest.mark.parametrize("one_command", [False, True])
def test_initializers_on_a_lazy_network_equal_their_replay(make_controller, one_command):
    import torch

    from ui.document.weight_commands import ApplyInitializers, push_weight_command
    controller = make_controller("lazy_mlp")
    batches = [lazy_assignments()] if one_command else [[a] for a in lazy_assignments()]
    for batch in batches:
        assert push_weight_command(controller, ApplyInitializers(controller, batch)) is None
    assert_live_equals_replay(controller, torch.rand(2, 20))


def test_an_undone_initializer_does_not_fill_lazy_parameters_later(make_controller):
    import torch

    from netstudio.init.assignments import InitAssignment
    from netstudio.init.scopes import Scope
    from ui.document.weight_commands import ApplyInitializers, push_weight_command
    controller = make_controller("lazy_mlp")
    threes = InitAssignment(Scope(module_type="Linear", leaf="bias"), "constant", {"value": 3.0})
    assert push_weight_command(controller, ApplyInitializers(controller, [threes])) is None
    controller.undo_stack.undo()
    assert controller.document.project.initializers == []
    controller.session.run_forward()
    assert not torch.all(controller.session.ensure_built()[0].bias == 3.0)


# ---------------------------------------------------------------- weight commands

def weights(controller) -> dict:
    return {k: v.clone() for k, v in controller.session.ensure_built().state_dict().items()}


def same(a: dict, b: dict) -> bool:
    import torch
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_an_initializer_command_keeps_only_what_changed_and_undoes_and_redoes_it(make_controller):
    from ui.document.weight_commands import ApplyInitializers, push_weight_command
    controller = make_controller("mlp")
    start = weights(controller)
    [_, bias] = lazy_assignments()
    command = ApplyInitializers(controller, [bias])
    assert command.text() == "Initialize with uniform"
    assert push_weight_command(controller, command) is None
    assert set(command.before) == set(command.after) == {"0.bias", "2.bias"}
    assert command.initialized == ("0.bias", "2.bias") and command.deferred == ()
    done = weights(controller)
    assert not same(done, start) and same({k: done[k] for k in ("0.weight", "2.weight")},
                                          {k: start[k] for k in ("0.weight", "2.weight")})
    recorded = controller.document.project.initializers
    assert len(recorded) == 1
    controller.undo_stack.undo()
    assert same(weights(controller), start) and controller.document.project.initializers == []
    controller.undo_stack.redo()
    assert same(weights(controller), done) and controller.document.project.initializers == recorded
    assert ApplyInitializers(controller, [bias], text="Preset").text() == "Preset"


def test_a_command_pushed_without_execute_runs_on_its_first_redo(make_controller):
    from ui.document.weight_commands import ApplyInitializers
    controller = make_controller("mlp")
    start = weights(controller)
    command = ApplyInitializers(controller, [lazy_assignments()[1]])
    controller.push(command)
    assert not same(weights(controller), start) and len(controller.document.project.initializers) == 1
    assert set(command.after) == {"0.bias", "2.bias"}
    controller.undo_stack.undo()
    assert same(weights(controller), start)


def test_a_refused_initializer_changes_no_weight_and_no_setting(make_controller):
    from netstudio.init.assignments import InitAssignment
    from netstudio.init.scopes import Scope
    from ui.document.weight_commands import ApplyInitializers, push_weight_command
    controller = make_controller("mlp")
    start = weights(controller)
    ok = InitAssignment(Scope(module_type="Linear", leaf="weight"), "zeros")
    bad = InitAssignment(Scope(module_type="Linear", leaf="bias"), "xavier_uniform")   # biases are vectors
    error = push_weight_command(controller, ApplyInitializers(controller, [ok, bad]))
    assert "Xavier uniform needs at least 2 dimensions" in error
    assert same(weights(controller), start)
    assert controller.document.project.initializers == [] and controller.undo_stack.count() == 0
    nothing = InitAssignment(Scope(module_type="Conv2d"), "zeros")
    assert push_weight_command(controller, ApplyInitializers(controller, [nothing])) == \
        "No parameter matches this scope, so nothing was initialized."


def test_an_initializer_on_a_network_that_cannot_be_built_says_why(make_controller):
    from ui.document.weight_commands import ApplyInitializers, push_weight_command
    controller = make_controller("mlp")
    first = controller.document.project.root_definition.chain()[0]
    controller.document.set_param("main", first.id, "in_features", 3)     # the input has 20
    error = push_weight_command(controller, ApplyInitializers(controller, [lazy_assignments()[0]]))
    assert error and error == controller.session.error


def test_a_busy_network_refuses_at_once(make_controller):
    import time

    from tests.ui.conftest import lock_held_elsewhere
    from ui.document.weight_commands import BUSY_MESSAGE, ApplyInitializers, push_weight_command
    controller = make_controller("mlp")
    controller.session.ensure_built()
    with lock_held_elsewhere(controller.session):
        start = time.monotonic()
        assert push_weight_command(controller, ApplyInitializers(controller, [lazy_assignments()[0]])) == BUSY_MESSAGE
        assert time.monotonic() - start < 0.5
    assert controller.undo_stack.count() == 0


def test_an_edit_command_says_what_it_sets_and_keeps_one_tensor(make_controller):
    from netstudio.params.direct_edits import DirectEdit
    from ui.document.weight_commands import ApplyEdit, push_weight_command
    controller = make_controller("mlp")
    start = weights(controller)
    edit = DirectEdit("0.weight", "set", 42.0, (0, 1))
    command = ApplyEdit(controller, edit)
    assert command.text() == "Set 0.weight[0, 1] = 42"
    assert ApplyEdit(controller, DirectEdit("2.bias", "fill", 0.5)).text() == "Set 2.bias = 0.5"
    assert ApplyEdit(controller, edit, text="Mine").text() == "Mine"
    assert push_weight_command(controller, command) is None
    assert list(command.before) == list(command.after) == ["0.weight"]
    assert controller.session.ensure_built()[0].weight[0, 1] == 42
    controller.undo_stack.undo()
    assert same(weights(controller), start) and controller.document.project.edits == []
    controller.undo_stack.redo()
    assert controller.session.ensure_built()[0].weight[0, 1] == 42 and len(controller.document.project.edits) == 1


def test_importing_weights_into_a_lazy_network_keeps_every_new_tensor_for_redo(make_controller):
    import torch

    from netstudio.compiler import compile_project
    from ui.document.weight_commands import ImportWeights, push_weight_command
    controller = make_controller("lazy_mlp")
    source = compile_project(controller.document.project)
    source(torch.rand(2, 20))
    state = {k: v + 1 for k, v in source.state_dict().items()}
    command = ImportWeights(controller, state)
    assert push_weight_command(controller, command) is None
    assert set(command.after) == set(state) and command.report is not None
    assert same(weights(controller), state)
    controller.undo_stack.undo()
    controller.undo_stack.redo()
    assert same(weights(controller), state)


# ---------------------------------------------------------------- the controller

def test_a_new_controller_is_unmodified_and_checks_once(make_controller):
    controller = make_controller("mlp")
    assert not controller.modified and not controller.busy
    result = controller.wait_for_check()
    assert result is controller.result and result.ok
    assert controller._timer.isSingleShot() and not controller._timer.isActive()


def test_weights_changed_by_a_run_make_the_project_modified_once(make_controller):
    from netstudio.params.direct_edits import DirectEdit
    controller = make_controller("mlp")
    seen = []
    controller.modified_changed.connect(seen.append)
    controller.session.apply_edit(DirectEdit("0.bias", "fill", 1.0))
    controller.session.apply_edit(DirectEdit("0.bias", "fill", 2.0))
    assert seen == [True] and controller.modified
    controller.mark_saved()
    assert seen[-1] is False and not controller.modified
    seen.clear()
    controller.session.apply_edit(DirectEdit("0.bias", "fill", 3.0))
    assert seen == [True]
    controller.forget_unsaved_weights()
    assert not controller._weights_unsaved


def test_runs_make_the_controller_busy_and_stop_runs_cancels_them(make_controller):
    controller = make_controller("mlp")
    busy, cancelled = [], []
    controller.busy_changed.connect(busy.append)
    idle = controller.stop_runs()
    assert idle.done()                              # nothing to stop
    cancel = lambda: cancelled.append(1)            # noqa: E731
    controller.run_started(cancel)
    controller.run_started()
    assert busy == [True] and controller.busy
    stopping = controller.stop_runs()
    assert cancelled == [1] and not stopping.done()
    controller.run_finished()
    assert not stopping.done()
    controller.run_finished(cancel)
    assert stopping.done() and busy == [True, False] and not controller.busy
    controller.run_finished()                       # never below zero (it says idle again)
    controller.run_started()
    assert busy == [True, False, False, True]
    controller.run_finished()
    assert controller.stop_runs().done() and cancelled == [1]   # a finished run is not cancelled again


def test_only_the_latest_checks_result_is_kept(make_controller):
    from netstudio.analysis import CheckResult
    controller = make_controller("mlp")
    controller.wait_for_check()
    got = []
    controller.checked.connect(got.append)
    controller._start_check()
    controller._start_check()
    latest = controller._generation
    stale = CheckResult()
    controller._on_checked(latest - 1, stale)
    assert controller.result is not stale and got[-1:] != [stale]
    controller.wait_for_check()
    assert controller.result is not stale


def test_a_check_job_delivers_its_result_or_one_failure_diagnostic(make_controller, monkeypatch):
    import ui.document.controller as controller_module
    controller = make_controller("mlp")
    got = []
    controller_module._CheckJob(controller.document.project.copy(), 7, lambda *a: got.append(a)).run()
    assert got[0][0] == 7 and got[0][1].ok

    def boom(project):
        raise RuntimeError("boom")
    monkeypatch.setattr(controller_module, "check", boom)
    controller_module._CheckJob(controller.document.project.copy(), 8, lambda *a: got.append(a)).run()
    generation, result = got[1]
    assert generation == 8 and [(d.severity, d.message, d.definition) for d in result.diagnostics] == [
        ("error", "checking failed: boom", "main")]


def test_a_selection_in_a_definition_that_is_gone_goes_back_to_the_root(make_controller, examples_dir):
    from netstudio.serialization import load_project
    controller = make_controller("nest_mlp")
    inner = "NestMLP_net"
    controller.select(inner, [])
    controller.document.replace(load_project(examples_dir / "mlp.netstudio"))
    assert controller.selection == ("main", [])
    controller.select("main", ["n3"])
    controller.document.replace(load_project(examples_dir / "mlp.netstudio"))
    assert controller.selection == ("main", ["n3"])


def test_a_closed_controller_follows_the_document_no_more(make_controller):
    from netstudio.params.direct_edits import DirectEdit
    controller = make_controller("mlp")
    controller.wait_for_check()
    controller.close()
    controller.document.set_setting("name", "changed")
    assert not controller._timer.isActive()
    seen = []
    controller.modified_changed.connect(seen.append)
    controller.session.ensure_built()
    controller.session.apply_edit(DirectEdit("0.bias", "fill", 1.0))
    assert seen == []


# ---------------------------------------------------------------- the relay (ui/document/relay.py)

def test_a_coalesced_listener_waits_even_on_its_own_thread(qtbot):
    from psygnal import Signal, SignalGroup
    from PySide6.QtCore import QObject

    from ui.document.relay import listen

    class Events(SignalGroup):
        changed = Signal(object)
    events, owner, got = Events(), QObject(), []
    listen(owner, events.changed, got.append, coalesce_ms=20)
    events.changed.emit(1)
    events.changed.emit(1)
    assert got == []                      # not at once, even from the owner's thread
    qtbot.waitUntil(lambda: got == [1])
    qtbot.wait(60)
    assert got == [1]                     # one burst, one call


def test_a_listener_whose_owner_is_gone_is_never_called(qtbot):
    import shiboken6
    from psygnal import Signal, SignalGroup
    from PySide6.QtCore import QObject

    from ui.document.relay import listen

    class Events(SignalGroup):
        changed = Signal(object)
    events, owner, got = Events(), QObject(), []
    connection = listen(owner, events.changed, got.append, direct=True)
    events.changed.emit(1)
    shiboken6.delete(owner)
    events.changed.emit(2)
    assert got == [1]
    connection.disconnect()
