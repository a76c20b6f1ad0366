"""Big graphs (issue 11): above ``SYNC_REBUILD_LIMIT`` nodes an edit only makes the session stale,
and the one rebuild after several edits keeps every value just as rebuilding after each edit does."""

from __future__ import annotations

import threading

import torch

from netstudio import session as session_module
from netstudio.graph import Document
from netstudio.serialization import load_project
from netstudio.session import NetworkSession

from ..conftest import EXAMPLES


def trained() -> tuple[Document, NetworkSession]:
    """mlp_block with weights no seed draws (as after training)."""
    doc = Document(load_project(EXAMPLES / "mlp_block.netstudio", trusted=True))
    session = NetworkSession(doc)
    session.run_forward()
    with torch.no_grad():
        for i, p in enumerate(session.ensure_built().parameters()):
            p.copy_(torch.full_like(p, 0.5 + i))
    return doc, session


def three_edits(doc: Document) -> None:
    """Resize ``out``, rename ``hidden``, then resize ``out`` again (its first size is undone)."""
    nodes = {n.name: n.id for n in doc.definition("main").nodes.values()}
    doc.set_param("main", nodes["out"], "out_features", 5)
    doc.rename("main", nodes["hidden"], "encoder")
    doc.set_param("main", nodes["out"], "out_features", 7)


def test_a_big_graph_goes_stale_on_each_edit_and_rebuilds_once_asked(monkeypatch):
    doc, session = trained()
    before = {k: v.clone() for k, v in session.module.state_dict().items()}
    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    old_module, stale, rebuilt = session.module, [], []
    session.events.went_stale.connect(lambda: stale.append(session.stale))
    session.events.rebuilt.connect(lambda: rebuilt.append(True))
    three_edits(doc)
    assert stale == [True, True, True] and not rebuilt and session.module is old_module
    assert session.catch_up() and rebuilt == [True] and not session.stale
    state = session.module.state_dict()
    assert torch.equal(state["encoder.weight"], before["hidden.weight"])
    assert torch.equal(state["encoder.bias"], before["hidden.bias"])
    assert state["out.weight"].shape == (7, 256) and not torch.any(state["out.weight"] == before["out.weight"][0, 0])
    assert session.catch_up() and rebuilt == [True]   # nothing left to do


def test_the_deferred_rebuild_keeps_what_rebuilding_after_each_edit_keeps(monkeypatch):
    doc, session = trained()
    three_edits(doc)
    synchronous = session.module.state_dict()
    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    doc, session = trained()
    three_edits(doc)
    deferred = session.ensure_built().state_dict()
    assert synchronous.keys() == deferred.keys()
    for key, value in synchronous.items():
        assert torch.equal(deferred[key], value), key


def test_below_the_limit_every_edit_rebuilds_at_once():
    doc, session = trained()
    stale = []
    session.events.went_stale.connect(lambda: stale.append(True))
    three_edits(doc)
    assert not session.stale and not stale and session.module.state_dict()["out.weight"].shape == (7, 256)


def test_catching_up_never_waits_for_a_run_nor_builds_a_network_never_built(monkeypatch):
    monkeypatch.setattr(session_module, "SYNC_REBUILD_LIMIT", 1)
    doc = Document(load_project(EXAMPLES / "mlp_block.netstudio", trusted=True))
    session = NetworkSession(doc)
    assert session.catch_up() and session.module is None
    session.ensure_built()
    three_edits(doc)
    answer: list[bool] = []
    with session.lock:
        worker = threading.Thread(target=lambda: answer.append(session.catch_up()))
        worker.start()
        worker.join()
    assert answer == [False] and session.stale
