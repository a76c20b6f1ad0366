"""The undo command that renames a code block's class (``netstudio.graph.code_classes``).

One step renames the class in the project's code table and in its ``class X(``
statement, and points every Code node using it at the new name; undo puts all
of it back.  ``rename_code_class`` pushes it after checking the name, so a
refused name pushes nothing and comes back as one sentence.
"""

from __future__ import annotations

from netstudio.graph import Document
from netstudio.graph.code_classes import RenamedClass, class_name_problem, rename_code_class, undo_rename

from .commands import DocCommand


class RenameCodeClass(DocCommand):
    def __init__(self, doc: Document, old: str, new: str):
        super().__init__(doc, f"Rename class {old} to {new}")
        self.old, self.new = old, new
        self.renamed: RenamedClass | None = None

    def redo(self) -> None:
        self.renamed = rename_code_class(self.doc, self.old, self.new)

    def undo(self) -> None:
        if self.renamed is not None:
            undo_rename(self.doc, self.renamed)


def rename_class(controller, old: str, new: str) -> str | None:
    """Push the rename of code class ``old`` to ``new``; returns why not (one sentence), or None."""
    new = new.strip()
    if new == old:
        return None
    problem = class_name_problem(controller.document, old, new)
    if problem is None:
        controller.push(RenameCodeClass(controller.document, old, new))
    return problem
