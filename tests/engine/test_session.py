"""The session keeps the compiled network in step with the document."""

from __future__ import annotations

import pytest
import torch

from netstudio.errors import NetStudioError
from netstudio.graph import Document
from netstudio.init.assignments import InitAssignment
from netstudio.init.scopes import Scope
from netstudio.params.direct_edits import DirectEdit
from netstudio.run import Objective, make_regression
from netstudio.serialization import load_project, load_project_and_weights, save_project
from netstudio.session import NetworkSession


@pytest.fixture
def session(examples_dir):
    doc = Document(load_project(examples_dir / "param_access.netstudio"))
    s = NetworkSession(doc)
    yield s
    s.close()


def test_deferred_until_the_first_forward(session):
    tree = session.tree()
    assert tree.has_deferred and not session.materialized
    out = session.run_forward()
    assert out.shape == (2, 1) and session.materialized
    assert [tuple(p.shape) for p in session.ensure_built().parameters()] == [(8, 4), (8,), (1, 8), (1,)]


def test_deferred_now_reads_the_network_once_until_a_forward_materializes_it(session, monkeypatch):
    """The canvas asks once per block: the answer must not cost a walk of every tensor each time."""
    import netstudio.session as session_module
    session.ensure_built()
    walks = []
    real = session_module.tensors_of
    monkeypatch.setattr(session_module, "tensors_of", lambda module: walks.append(1) or real(module))
    assert all(session.deferred_now for _ in range(50)) and len(walks) == 1
    session.run_forward()
    assert not session.deferred_now                    # the forward's weights_changed cleared the answer
    session.document.set_param("main", next(n.id for n in session.document.project.root_definition.nodes.values()
                                            if n.type == "Linear"), "out_features", 9)
    session.ensure_built()
    before = len(walks)
    assert session.deferred_now == any(getattr(t, "is_lazy", False) or type(t).__name__.startswith("Uninit")
                                       for t in session.module.parameters())
    assert len(walks) == before + 1                    # a new module gets its own answer, read once


def test_graph_edits_rebuild_and_keep_surviving_weights(session):
    session.run_forward()
    first = session.ensure_built()[0].weight.detach().clone()
    rebuilt = []
    session.events.rebuilt.connect(lambda: rebuilt.append(1))
    doc = session.document
    last = doc.project.root_definition.chain()[2]
    doc.set_param("main", last.id, "out_features", 3)
    assert rebuilt == [1]  # once the module exists, graph edits rebuild it at once
    session.run_forward()
    assert session.output.shape == (2, 3)
    assert torch.equal(session.ensure_built()[0].weight, first)
    # Moving a node does not rebuild.
    count = len(rebuilt)
    doc.move("main", last.id, (5.0, 5.0))
    assert len(rebuilt) == count


def test_invalid_graph_gives_a_reason_not_an_exception(session):
    doc = session.document
    first = doc.project.root_definition.chain()[0]
    doc.set_param("main", first.id, "in_features", 99)
    assert session.ensure_built() is None and "expects 99 input features" in session.error
    with pytest.raises(NetStudioError):
        session.run_forward()


def test_initializer_is_recorded_applied_and_undoable(session):
    session.run_forward()
    before = session.apply_initializer(InitAssignment(Scope(module_type="Linear", leaf="weight"), "constant",
                                                      {"value": 1.0})).before
    assert torch.all(session.ensure_built()[0].weight == 1) and len(session.document.project.initializers) == 1
    session.restore_tensors(before)
    assert not torch.all(session.ensure_built()[0].weight == 1)


def test_direct_edit_shows_through_tied_names(examples_dir):
    s = NetworkSession(Document(load_project(examples_dir / "tied.netstudio")))
    s.run_forward()
    s.apply_edit(DirectEdit("2.weight", "set", 100.0, (0, 0)))
    assert s.ensure_built()[4].weight[0, 0] == 100
    s.close()


def test_backward_and_training(session):
    grads = session.run_backward(Objective("sum"))
    assert set(grads) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    task = make_regression(4, 1, n_samples=64, seed=0)
    result = session.run_training(task, "sgd", lr=0.05, steps=15, batch_size=16)
    assert result.steps_done == 15 and result.losses[-1] < result.losses[0]
    assert session.weights_modified


def test_weights_survive_save_and_load(session, tmp_path):
    task = make_regression(4, 1, n_samples=64, seed=0)
    session.run_training(task, steps=5)
    path = tmp_path / "trained.netstudio"
    save_project(session.document.project, path, weights=session.weights_for_saving())
    project, weights = load_project_and_weights(path)
    again = NetworkSession(Document(project), weights)
    again.set_input()
    session.set_input()
    torch.testing.assert_close(again.run_forward(), session.run_forward())
    again.close()


def test_tied_weights_survive_save_and_load(examples_dir, tmp_path):
    s = NetworkSession(Document(load_project(examples_dir / "tied.netstudio")))
    s.run_forward()
    s.apply_edit(DirectEdit("2.weight", "set", 7.0, (1, 1)))
    path = tmp_path / "tied.netstudio"
    save_project(s.document.project, path, weights=s.weights_for_saving())
    project, weights = load_project_and_weights(path)
    assert weights["2.weight"] is weights["4.weight"]
    again = NetworkSession(Document(project), weights)
    module = again.ensure_built()
    assert module[2] is module[4] and module[4].weight[1, 1] == 7
    s.close(), again.close()


def test_move_to_cpu_keeps_results(session):
    session.run_forward()
    out = session.output.clone()
    session.move_to("cpu")
    assert torch.equal(session.run_forward(), out)
    with pytest.raises(NetStudioError):
        session.move_to("cuda:7")


def test_trained_lazy_weights_survive_an_unrelated_edit(examples_dir):
    s = NetworkSession(Document(load_project(examples_dir / "lazy_mlp.netstudio")))
    s.run_training(make_regression(20, 10, n_samples=32, seed=1), steps=3, batch_size=8)
    trained = s.ensure_built()[0].weight.detach().clone()
    last = s.document.project.root_definition.chain()[2]
    s.document.set_param("main", last.id, "out_features", 10)   # no change: no rebuild
    s.document.set_param("main", last.id, "bias", False)          # rebuild; layer 0 keeps its weights
    assert s.ensure_built()[2].bias is None
    assert torch.equal(s.ensure_built()[0].weight, trained)
    s.close()


def test_live_initializers_equal_their_replay(examples_dir, tmp_path):
    s = NetworkSession(Document(load_project(examples_dir / "param_access.netstudio")))
    s.run_forward()
    s.apply_initializer(InitAssignment(Scope(module_type="Linear", leaf="weight"), "normal", {"mean": 0.0, "std": 1.0}))
    s.apply_initializer(InitAssignment(Scope.parameter("2.weight"), "uniform", {"a": -1.0, "b": 1.0}))
    path = tmp_path / "p.netstudio"
    save_project(s.document.project, path, weights=s.weights_for_saving())
    again = NetworkSession(Document(load_project(path)))
    again.run_forward()
    for name, value in s.ensure_built().state_dict().items():
        assert torch.equal(again.ensure_built().state_dict()[name], value), name
    s.close(), again.close()


def test_live_initializer_on_a_lazy_network_waits_for_materialization(examples_dir):
    s = NetworkSession(Document(load_project(examples_dir / "lazy_mlp.netstudio")))
    s.apply_initializer(InitAssignment(Scope(module_type="Linear", leaf="bias"), "constant", {"value": 3.0}))
    s.run_forward()
    assert torch.all(s.ensure_built()[0].bias == 3) and torch.all(s.ensure_built()[2].bias == 3)
    s.close()


def test_runs_replicate_over_several_gpus(session, monkeypatch):
    """With two GPUs and the network on one, runs go through nn.DataParallel (faked here on the CPU)."""
    import netstudio.session as session_module
    used = []

    def fake_replicate(module):
        used.append(module)
        return module

    monkeypatch.setattr(session_module, "replicate_for_all_gpus", fake_replicate)
    session.run_forward()
    assert used == []            # on the CPU nothing is replicated
    session.device = torch.device("cuda", 0)
    session._runner(session.ensure_built())
    assert used == [session.ensure_built()]


def test_weights_survive_a_moment_of_invalid_graph_and_saving_then(session, tmp_path):
    task = make_regression(4, 1, n_samples=32, seed=2)
    session.run_training(task, steps=3, batch_size=8)
    trained = session.ensure_built()[0].weight.detach().clone()
    doc = session.document
    first = doc.project.root_definition.chain()[0]
    doc.set_param("main", first.id, "in_features", 99)      # invalid for a moment
    assert session.ensure_built() is None and session.error
    path = tmp_path / "while-invalid.netstudio"
    save_project(doc.project, path, weights=session.weights_for_saving())
    assert load_project_and_weights(path)[1]["0.weight"].equal(trained)
    doc.reset_param("main", first.id, "in_features")         # valid again: the weights come back
    assert torch.equal(session.ensure_built()[0].weight, trained)


def test_a_failing_rebuild_never_raises_into_document_events(session):
    session.run_forward()
    session.apply_edit(DirectEdit("0.weight", "set", 5.0, (7, 0)))
    heard = []
    session.document.events.changed.connect(lambda: heard.append(1))
    first = session.document.project.root_definition.chain()[0]
    session.document.set_param("main", first.id, "out_features", 4)   # the recorded edit no longer fits
    assert heard == [1]
    assert session.ensure_built() is not None and session.ensure_built()[0].weight.shape == (4, 4)
    assert session.skipped and "out of range" in session.skipped[0]


def test_node_initializer_set_after_a_run_reaches_the_live_weights(session):
    session.run_forward()
    first = session.document.project.root_definition.chain()[0]
    session.document.set_init("main", first.id, "weight", {"scheme": "constant", "args": {"value": 0.5}})
    assert torch.all(session.ensure_built()[0].weight == 0.5)


def test_a_new_seed_draws_the_weights_afresh(session):
    session.run_forward()
    before = session.ensure_built()[0].weight.detach().clone()
    session.document.set_setting("seed", 123)
    session.run_forward()
    assert not torch.equal(session.ensure_built()[0].weight, before)
