"""Renaming a code block's class: the code table, the class statement and every node using it, as one edit."""

from __future__ import annotations

import pytest

from netstudio.analysis import check
from netstudio.catalog.code_block import TEMPLATE
from netstudio.graph import EditError
from netstudio.graph.code_classes import (class_name_problem, rename_class_statement, rename_code_class, undo_rename,
                                          users_of)
from tests.engine.builders import chain_project

SOURCE = '''import torch


class Halve(nn.Module):
    """Halve is a name in a docstring; class Halve( here stays as written."""

    def __init__(self, factor=2.0):
        super().__init__()
        self.factor = factor

    def forward(self, X):
        return X / self.factor  # Halve
'''


def two_users():
    """Input → Code(Halve) → Code(Halve) → Code(Other) → output."""
    doc, ids = chain_project([("Code", {"class_name": "Halve", "args": {}}),
                              ("Code", {"class_name": "Halve", "args": {"factor": 4.0}}),
                              ("Code", {"class_name": "Other", "args": {}})],
                             code={"Halve": SOURCE, "Other": TEMPLATE.format(name="Other")})
    return doc, ids


def test_rename_moves_the_source_renames_the_statement_and_every_user_in_one_change():
    doc, (a, b, c) = two_users()
    assert check(doc.project).ok
    changes = []
    doc.events.changed.connect(lambda: changes.append(1))
    before = doc.project.to_dict()
    renamed = rename_code_class(doc, "Halve", "Shrink")
    assert len(changes) == 1                                        # one edit for the checker and the views
    code = doc.project.code
    assert "Halve" not in code and set(code) == {"Shrink", "Other"}
    assert "class Shrink(nn.Module):" in code["Shrink"] and "class Halve(" not in code["Shrink"].splitlines()[3]
    assert code["Shrink"].replace("class Shrink(nn.Module):", "class Halve(nn.Module):") == SOURCE  # only that
    d = doc.definition("main")
    assert [d.nodes[i].params["class_name"] for i in (a, b, c)] == ["Shrink", "Shrink", "Other"]
    assert d.nodes[b].params["args"] == {"factor": 4.0}
    assert check(doc.project).ok
    undo_rename(doc, renamed)
    assert doc.project.to_dict() == before
    assert list(doc.project.code) == ["Halve", "Other"] or set(doc.project.code) == {"Halve", "Other"}


@pytest.mark.parametrize("new, why", [
    ("Other", "Another class in this project is already named 'Other'"),
    ("Sequential", "Another class in this project is already named 'Sequential'"),   # the root's class
    ("2fast", "is not a valid name"),
    ("class", "is a Python keyword"),
    ("torch", "is reserved"),
    ("", "cannot be empty"),
    ("my.Layer", "contains '.'"),
])
def test_a_refused_name_changes_nothing_and_says_why_in_one_sentence(new, why):
    doc, _ = two_users()
    before = doc.project.to_dict()
    problem = class_name_problem(doc, "Halve", new)
    assert problem is not None and why in problem and problem.endswith(".") and "\n" not in problem
    with pytest.raises(EditError, match="^" + problem.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        rename_code_class(doc, "Halve", new)
    assert doc.project.to_dict() == before


def test_renaming_to_the_same_name_or_a_missing_class():
    doc, _ = two_users()
    before = doc.project.to_dict()
    rename_code_class(doc, "Halve", "Halve")
    assert doc.project.to_dict() == before
    assert class_name_problem(doc, "Nope", "Fine") == "There is no code class named 'Nope'."
    assert users_of(doc, "Other") and users_of(doc, "Nope") == []


def test_only_the_class_statement_is_renamed():
    assert rename_class_statement("class A(nn.Module):\n    pass\n", "A", "B") == "class B(nn.Module):\n    pass\n"
    # A subclass named like a prefix, and a nested class of the same name, stay as written.
    source = "class AB(nn.Module):\n    class A:\n        pass\n\nclass A(AB):\n    x = 'class A('\n"
    assert rename_class_statement(source, "A", "C") == source.replace("class A(AB)", "class C(AB)")
    # Source that does not parse yet: the first class statement of that name is renamed.
    broken = "class A(nn.Module):\n    def forward(self, X:\n"
    assert rename_class_statement(broken, "A", "Z").startswith("class Z(nn.Module):")
    assert rename_class_statement("x = 1\n", "A", "Z") == "x = 1\n"
