"""Undoing the first edit of a defaulted setting puts the default back (the node forgets the key).

Undo once wrote a bare ``object()`` marker into the settings: the project could
no longer be saved or fingerprinted, and the app rebuilt the network for ever.
This test undoes a first edit of every parameter of every block in the catalog.
"""

from __future__ import annotations

import json

import pytest

from netstudio.catalog import CATALOG
from netstudio.catalog.params import ParamSpec
from ui.document.commands import SetParam


def another_value(p: ParamSpec):
    """A storable value different from the default, of the parameter's kind."""
    d = p.default
    return {
        "int": lambda: 3 if d != 3 else 4,
        "float": lambda: 0.25 if d != 0.25 else 0.5,
        "bool": lambda: not d,
        "choice": lambda: next((c for c in p.choices if c != d), d),
        "str": lambda: "Other",
        "shape": lambda: [3, 4],
        "ints": lambda: [2, 2],
        "values": lambda: [[1.0, 2.0]],
        "json": lambda: {"k": 1},
    }[p.kind]()


CASES = [(spec.type_name, p) for spec in CATALOG.values() for p in spec.params]


@pytest.mark.parametrize("type_name, param", CASES, ids=[f"{t}.{p.name}" for t, p in CASES])
def test_undo_of_a_first_edit_forgets_the_key(type_name, param, make_controller):
    controller = make_controller("mlp_block")
    doc = controller.document
    node = doc.add_node("main", type_name, position=(0.0, 0.0))
    before = dict(node.params)
    had = param.name in before
    controller.push(SetParam(doc, "main", node.id, param.name, another_value(param)))
    controller.undo_stack.undo()
    assert node.params == before
    assert (param.name in node.params) == had
    json.dumps(doc.project.to_dict())          # still storable
    assert controller.session.ensure_built() is not None or controller.session.error   # builds once, settles
    controller.undo_stack.redo()
    assert node.params[param.name] == another_value(param)
