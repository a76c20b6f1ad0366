"""Weight commands: initializers, direct edits and imports as undo steps (ui/document/weight_commands.py).

Each command does its work once, before it is pushed; undo puts back the
tensors and the project's list as they were, redo the values it made (never
drawing new random numbers), and a refusal changes nothing.
"""

from __future__ import annotations

import pytest


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


def test_an_initializer_undone_and_redone_on_a_lazy_network_still_equals_its_replay(make_controller):
    import torch

    from ui.document.weight_commands import ApplyInitializers, push_weight_command
    controller = make_controller("lazy_mlp")
    first = ApplyInitializers(controller, [lazy_assignments()[1]])
    both = ApplyInitializers(controller, lazy_assignments())       # recorded second: its draws differ
    assert push_weight_command(controller, first) is None and push_weight_command(controller, both) is None
    assert both.deferred == ("0.weight", "2.weight", "0.bias", "2.bias") and both.initialized == ()
    controller.undo_stack.undo()
    controller.undo_stack.undo()
    controller.undo_stack.redo()
    controller.undo_stack.redo()
    assert len(controller.document.project.initializers) == 3
    assert_live_equals_replay(controller, torch.rand(2, 20))


def test_an_initializer_refused_half_way_fills_no_lazy_parameter_later(make_controller):
    import torch

    from netstudio.init.assignments import InitAssignment
    from netstudio.init.scopes import Scope
    from ui.document.weight_commands import ApplyInitializers, push_weight_command
    controller = make_controller("lazy_mlp")
    controller.document.set_param("main", "n5", "in_features", 256)    # the last layer is eager now
    threes = InitAssignment(Scope(module_type="Linear", leaf="bias"), "constant", {"value": 3.0})
    bad = InitAssignment(Scope(module_type="Linear", leaf="bias"), "xavier_uniform")   # refused by the eager bias
    error = push_weight_command(controller, ApplyInitializers(controller, [threes, bad]))
    assert "Xavier uniform needs at least 2 dimensions" in error
    assert controller.document.project.initializers == [] and controller.undo_stack.count() == 0
    controller.session.run_forward()
    net = controller.session.ensure_built()
    assert not torch.all(net[0].bias == 3.0) and not torch.all(net[2].bias == 3.0)


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
    notices = []
    controller.session.events.weights_changed.connect(notices.append)
    assert push_weight_command(controller, command) is None
    assert len(notices) == 1            # done once, in execute(): the push itself changes nothing more
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
    notices = []
    controller.session.events.weights_changed.connect(notices.append)
    controller.push(command)
    assert len(notices) == 1            # the work is done once
    done = weights(controller)
    assert not same(done, start) and len(controller.document.project.initializers) == 1
    assert set(command.after) == {"0.bias", "2.bias"}
    controller.undo_stack.undo()
    assert same(weights(controller), start) and controller.document.project.initializers == []
    controller.undo_stack.redo()
    assert same(weights(controller), done) and len(controller.document.project.initializers) == 1


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


def test_an_initializer_on_a_network_never_built_says_why(make_controller, examples_dir):
    from netstudio.serialization import load_project
    from ui.document.weight_commands import ApplyInitializers, push_weight_command
    project = load_project(examples_dir / "mlp.netstudio")
    project.root_definition.chain()[0].params["in_features"] = 3          # the input has 20: it never built
    controller = make_controller(project)
    error = push_weight_command(controller, ApplyInitializers(controller, [lazy_assignments()[0]]))
    assert controller.session.ensure_built() is None
    assert error == controller.session.error and "20" in error and controller.undo_stack.count() == 0


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
