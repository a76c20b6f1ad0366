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


def test_a_refused_snapshot_command_keeps_no_state_and_runs_its_action_when_redone(doc):
    """A refusal records no 'after' state: redone again (outside a stack), the action gets another try."""
    from ui.document.commands import SnapshotCommand
    before, tries = state(doc), []

    def action(d):
        tries.append(len(tries))
        if len(tries) == 1:
            raise ValueError("not yet")
        return d.add_node("main", "ReLU", "late").name
    cmd = SnapshotCommand(doc, "Retry", action)
    cmd.redo()
    assert cmd.outcome == {"result": None, "error": "not yet"} and cmd.isObsolete() and state(doc) == before
    cmd.redo()
    assert tries == [0, 1] and cmd.outcome["result"] == "late"
    assert "late" in [n.name for n in doc.project.root_definition.nodes.values()]


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
