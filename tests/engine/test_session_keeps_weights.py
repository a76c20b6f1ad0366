"""No edit loses trained weights: they follow their node, come back on undo, and stored tensors
that fit nowhere are kept until the user discards them.  Saves copy whole steps, never torn ones."""

from __future__ import annotations

import threading

import pytest
import torch

from netstudio.graph import Document
from netstudio.limits import format_bytes
from netstudio.run import make_regression
from netstudio.serialization import load_project
from netstudio.session import NetworkSession
from netstudio.tensor_keeper import TensorKeeper
from netstudio.unplaced import UnplacedTensor

from ..conftest import EXAMPLES


def trained(example: str = "mlp_block") -> tuple[Document, NetworkSession, dict[str, torch.Tensor]]:
    """A session whose weights differ from anything the seed draws (as after training)."""
    doc = Document(load_project(EXAMPLES / f"{example}.netstudio", trusted=True))
    session = NetworkSession(doc)
    session.run_forward()
    with torch.no_grad():
        for i, p in enumerate(session.ensure_built().parameters()):
            p.copy_(torch.full_like(p, 0.5 + i))
    session.weights_modified = True
    return doc, session, {k: v.clone() for k, v in session.ensure_built().state_dict().items()}


def node_named(doc: Document, name: str, definition: str = "main"):
    return next(n for n in doc.definition(definition).nodes.values() if n.name == name)


def test_rename_keeps_the_weights_and_so_does_its_undo():
    doc, session, before = trained()
    hidden = node_named(doc, "hidden")
    doc.rename("main", hidden.id, "encoder")
    assert torch.equal(session.ensure_built().state_dict()["encoder.weight"], before["hidden.weight"])
    doc.rename("main", hidden.id, "hidden")
    for key, value in before.items():
        assert torch.equal(session.ensure_built().state_dict()[key], value), key


def test_resizing_and_resizing_back_brings_the_trained_values_back():
    doc, session, before = trained()
    out = node_named(doc, "out")
    doc.set_param("main", out.id, "out_features", 5)
    assert session.ensure_built().state_dict()["out.weight"].shape == (5, 256)
    assert torch.equal(session.ensure_built().state_dict()["hidden.weight"], before["hidden.weight"])
    doc.set_param("main", out.id, "out_features", 10)
    assert torch.equal(session.ensure_built().state_dict()["out.weight"], before["out.weight"])
    assert torch.equal(session.ensure_built().state_dict()["out.bias"], before["out.bias"])


def test_a_removed_node_restored_by_undo_has_its_weights():
    doc, session, before = trained()
    removed = doc.remove_node("main", node_named(doc, "out").id)
    assert session.ensure_built() is None   # the graph is invalid without it
    doc.restore_node(removed)
    for key, value in before.items():
        assert torch.equal(session.ensure_built().state_dict()[key], value), key


def test_inserting_into_a_sequential_shifts_positions_not_values():
    doc, session, before = trained("mlp")
    d = doc.definition("main")
    first = d.chain()[0]
    doc.add_node("main", "Identity", index=0)   # becomes position 0 once wired in
    inp = d.inputs[0]
    edge = next(e for e in d.edges.values() if e.src == inp.id)
    doc.disconnect("main", edge.id)
    new = next(n for n in d.nodes.values() if n.type == "Identity")
    doc.connect("main", inp.id, "out", new.id, "in")
    doc.connect("main", new.id, "out", first.id, "in")
    state = session.ensure_built().state_dict()
    assert torch.equal(state["1.weight"], before["0.weight"])
    assert torch.equal(state["3.weight"], before["2.weight"])


def test_a_new_seed_draws_afresh_and_undoing_it_brings_the_values_back():
    doc, session, before = trained()
    doc.set_setting("seed", 123)
    assert not torch.equal(session.ensure_built().state_dict()["hidden.weight"], before["hidden.weight"])
    doc.set_setting("seed", 0)
    for key, value in before.items():
        assert torch.equal(session.ensure_built().state_dict()[key], value), key


def test_nested_instances_keep_their_own_values():
    """chimera uses NestMLP's definition: an edit inside it, and its undo, keep each instance's values."""
    doc, session, before = trained("chimera")
    inner, linear = next((d.name, n) for d in doc.project.definitions.values() if d.name != doc.project.root
                         for n in d.nodes.values() if n.type == "Linear")
    doc.set_param(inner, linear.id, "bias", False)
    doc.set_param(inner, linear.id, "bias", True)
    for key, value in before.items():
        assert torch.equal(session.ensure_built().state_dict()[key], value), key


def test_kept_values_over_their_budget_are_dropped_and_said():
    keeper = TensorKeeper(budget=lambda: 100)
    old = torch.nn.Linear(10, 10)
    ids = {"weight": ((), "n1", "weight"), "bias": ((), "n1", "bias")}
    keeper.carry_over(old, ids, 0, torch.nn.Linear(10, 10), {}, 0)
    assert keeper.kept_bytes <= 100
    assert len(keeper.dropped) == 1
    assert "weight (10, 10)" in keeper.dropped[0] and format_bytes(400) in keeper.dropped[0]


def test_stored_tensors_that_fit_nowhere_are_kept_saved_and_placed_when_they_fit(tmp_path):
    doc = Document(load_project(EXAMPLES / "mlp_block.netstudio"))
    donor = NetworkSession(Document(load_project(EXAMPLES / "mlp_block.netstudio")))
    donor.run_forward()
    stored = {k: v + 1 for k, v in donor.ensure_built().state_dict().items()}
    stored["out.weight"] = torch.ones(3, 256)       # another shape
    stored["out.bias"] = torch.ones(3)
    stored["ghost.weight"] = torch.zeros(2, 2)        # not in the network
    session = NetworkSession(doc, weights=stored)
    state = session.ensure_built().state_dict()
    assert torch.equal(state["hidden.weight"], stored["hidden.weight"])
    assert set(session.unplaced) == {"out.weight", "out.bias", "ghost.weight"}
    assert session.unplaced["out.weight"].reason == "the network's is (10, 256)"
    assert session.unplaced["ghost.weight"].reason == "the network has no tensor of that name"
    assert any("'ghost.weight' (2, 2) does not fit" in n and "until you discard it" in n for n in session.notices)
    snapshot = session.request_snapshot().result(timeout=5)
    assert set(snapshot.unplaced) == {"out.weight", "out.bias", "ghost.weight"}
    assert torch.equal(snapshot.weights["hidden.weight"], stored["hidden.weight"])
    doc.set_param("main", node_named(doc, "out").id, "out_features", 3)   # now it fits
    assert torch.equal(session.ensure_built().state_dict()["out.weight"], torch.ones(3, 256))
    assert set(session.unplaced) == {"ghost.weight"}
    gone = session.discard_unplaced()
    assert not session.unplaced and set(gone) == {"ghost.weight"}
    session.restore_unplaced(gone)
    assert set(session.unplaced) == {"ghost.weight"}


def test_placing_an_unplaced_tensor_never_overwrites_trained_values():
    doc, session, before = trained()
    session.unplaced = {"hidden.weight": UnplacedTensor(torch.zeros_like(before["hidden.weight"]), "test")}
    doc.set_param("main", node_named(doc, "out").id, "out_features", 4)
    assert torch.equal(session.ensure_built().state_dict()["hidden.weight"], before["hidden.weight"])
    assert "hidden.weight" in session.unplaced


class _PausingSGD(torch.optim.SGD):
    """An SGD whose step updates the first parameter, then waits: a save now would be torn."""

    paused = threading.Event()
    go_on = threading.Event()

    def step(self, closure=None):
        params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        with torch.no_grad():
            params[0].add_(params[0].grad, alpha=-self.param_groups[0]["lr"])
            _PausingSGD.paused.set()
            _PausingSGD.go_on.wait(10)
            for p in params[1:]:
                p.add_(p.grad, alpha=-self.param_groups[0]["lr"])


def test_a_save_during_training_copies_whole_steps(monkeypatch):
    """The snapshot waits for the step under way to finish: every tensor from the same step."""
    doc, session, _ = trained()
    task = make_regression(20, 10, n_samples=64)
    monkeypatch.setattr(torch.optim, "SGD", _PausingSGD)
    after_step: list[dict[str, torch.Tensor]] = []

    def progress(step, loss):
        after_step.append({k: v.detach().clone() for k, v in session.ensure_built().state_dict().items()})
    runner = threading.Thread(target=session.run_training, args=(task,),
                              kwargs=dict(steps=1, lr=0.1, progress=progress))
    runner.start()
    assert _PausingSGD.paused.wait(10)
    future = session.request_snapshot()
    assert not future.done()                # the step under way is not whole yet
    _PausingSGD.go_on.set()
    snapshot = future.result(timeout=10)
    runner.join(10)
    for key, value in after_step[0].items():
        assert torch.equal(snapshot.weights[key], value), key


def test_state_and_restore_state_undo_a_start_over():
    doc, session, before = trained()
    state = session.state()
    session.start_over(None)
    assert not session.weights_modified
    session.restore_state(state)
    assert session.weights_modified
    for key, value in before.items():
        assert torch.equal(session.ensure_built().state_dict()[key], value), key


@pytest.mark.parametrize("example", ["tied", "rgnet", "fixed_hidden_mlp", "lazy_mlp"])
def test_an_unrelated_edit_keeps_every_tensor_of_every_example(example):
    doc, session, before = trained(example)
    doc.set_setting("description", "edited")
    node = next(n for n in doc.project.root_definition.nodes.values() if n.type == "Output")
    doc.rename(doc.project.root, node.id, "result")
    for key, value in before.items():
        assert torch.equal(session.ensure_built().state_dict()[key], value), key
