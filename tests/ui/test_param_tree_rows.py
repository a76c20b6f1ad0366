"""The parameter tree's module rows say "deferred" when a tensor below them (by any of its names) still
waits for its first forward: worked out in one walk of the tree, not one per row (issue 11)."""

from __future__ import annotations

import pytest

from netstudio.graph import Document
from netstudio.params.tree import ModuleEntry, ParamTree
from netstudio.serialization import load_project
from netstudio.session import NetworkSession
from ui.panels.param_tree_model import ELEMENTS, ParamTreeModel


def deferred_below(entry: ModuleEntry, tree: ParamTree) -> bool:
    """The definition, one walk of every tensor per module."""
    prefix = entry.name + "." if entry.name else ""
    return any(t.deferred for t in tree.entries() if not entry.name or t.name.startswith(prefix)
               or any(a.startswith(prefix) for a in t.aliases))


def modules(entry: ModuleEntry):
    yield entry
    for child in entry.children:
        yield from modules(child)


@pytest.mark.parametrize("example", ["lazy_mlp", "chimera", "tied", "rgnet", "mlp"])
def test_module_rows_say_deferred_exactly_when_a_tensor_below_them_is(qapp, examples_dir, example):
    session = NetworkSession(Document(load_project(examples_dir / f"{example}.netstudio", trusted=True)))
    tree = session.tree()
    model = ParamTreeModel()
    model.set_tree(tree)
    for entry in modules(tree.root):
        text = model.index_of(entry.name).siblingAtColumn(ELEMENTS).data()
        assert ("deferred" in text) == deferred_below(entry, tree), (entry.name, text)
    if example == "lazy_mlp":
        session.run_forward()
        model.update_tree(session.tree())
        assert not any("deferred" in model.index_of(e.name).siblingAtColumn(ELEMENTS).data()
                       for e in modules(session.tree().root))
