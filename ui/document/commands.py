"""Undo commands: every edit the app makes is one of these, and each calls the
document API only.  Views never change the model directly; they follow its events.

Composite edits (delete a selection, paste, group, ungroup) are one undo step:
either a macro of smaller commands, or a snapshot/restore of the project.
A drag is one ``MoveNodes`` when it ends.  Weight changes have their own
commands in ``weight_commands``.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from PySide6.QtGui import QUndoCommand

from netstudio.graph import Document, Node
from netstudio.graph.code_classes import RenamedClass, class_name_problem, rename_code_class, undo_rename
from netstudio.graph.document import RemovedNode

class DocCommand(QUndoCommand):
    """Base: holds the document; subclasses implement redo/undo with document calls."""

    def __init__(self, doc: Document, text: str):
        super().__init__(text)
        self.doc = doc


class AddNode(DocCommand):
    def __init__(self, doc: Document, definition: str, type_name: str, position: tuple[float, float],
                 params: dict[str, Any] | None = None, name: str | None = None):
        super().__init__(doc, f"Add {type_name}")
        self.definition, self.type_name, self.position = definition, type_name, position
        self.params, self.name = params, name
        self.node: Node | None = None

    def redo(self) -> None:
        if self.node is None:
            self.node = self.doc.add_node(self.definition, self.type_name, self.name, self.params, self.position)
        else:
            self.doc.insert_node(self.definition, self.node.copy())

    def undo(self) -> None:
        self.doc.remove_node(self.definition, self.node.id)


class RemoveNode(DocCommand):
    def __init__(self, doc: Document, definition: str, node_id: str):
        super().__init__(doc, f"Delete {doc.node(definition, node_id).name or doc.node(definition, node_id).type}")
        self.definition, self.node_id = definition, node_id
        self.removed: RemovedNode | None = None

    def redo(self) -> None:
        self.removed = self.doc.remove_node(self.definition, self.node_id)

    def undo(self) -> None:
        self.doc.restore_node(self.removed)


class Connect(DocCommand):
    def __init__(self, doc: Document, definition: str, src: str, src_port: str, dst: str, dst_port: str):
        super().__init__(doc, "Connect")
        self.args = (definition, src, src_port, dst, dst_port)
        self.edge_id: str | None = None

    def redo(self) -> None:
        edge = self.doc.connect(*self.args, edge_id=self.edge_id)
        self.edge_id = edge.id

    def undo(self) -> None:
        self.doc.disconnect(self.args[0], self.edge_id)


class Disconnect(DocCommand):
    def __init__(self, doc: Document, definition: str, edge_id: str):
        super().__init__(doc, "Disconnect")
        self.definition, self.edge_id = definition, edge_id
        self.edge = None

    def redo(self) -> None:
        self.edge = self.doc.disconnect(self.definition, self.edge_id)

    def undo(self) -> None:
        self.doc.restore_edge(self.definition, self.edge)


class MoveNodes(DocCommand):
    """Move nodes, one undo step per drag or nudge.  Moving drops the bend points of the moved
    blocks' edges (``Document.move``); undo puts them back with the blocks."""

    def __init__(self, doc: Document, definition: str, moves: dict[str, tuple[tuple[float, float], tuple[float, float]]]):
        super().__init__(doc, "Move" if len(moves) > 1 else f"Move {doc.node(definition, next(iter(moves))).name}")
        self.definition = definition
        self.moves = dict(moves)  # node id -> (old, new)
        self.dropped: dict[str, tuple] = {}   # edge id -> the bends the moves dropped

    def redo(self) -> None:
        dropped: dict[str, tuple] = {}
        with self.doc.batch():
            for node_id, (_, new) in self.moves.items():
                dropped.update(self.doc.move(self.definition, node_id, new))
        self.dropped = dropped

    def undo(self) -> None:
        with self.doc.batch():
            for node_id, (old, _) in self.moves.items():
                self.doc.move(self.definition, node_id, old)
            _put_back_bends(self.doc, self.definition, self.dropped)


class ArrangeNodes(DocCommand):
    """Auto layout: new positions of the blocks and new bend points of the edges, one undo step."""

    def __init__(self, doc: Document, definition: str, positions: dict[str, tuple[float, float]],
                 bends: dict[str, tuple], text: str = "Auto layout"):
        super().__init__(doc, text)
        self.definition = definition
        d = doc.definition(definition)
        self.moves = {i: (d.nodes[i].position, p) for i, p in positions.items()
                      if i in d.nodes and d.nodes[i].position != p}   # node id -> (old, new)
        self.bends = {e: tuple(points) for e, points in bends.items() if e in d.edges}
        self.old_bends: dict[str, tuple] = {}

    def changes(self) -> bool:
        """Whether it changes anything (else there is no need to push it)."""
        d = self.doc.definition(self.definition)
        return bool(self.moves) or any(d.edges[e].bends != points for e, points in self.bends.items())

    def redo(self) -> None:
        with self.doc.batch():
            dropped: dict[str, tuple] = {}
            for node_id, (_, new) in self.moves.items():
                dropped.update(self.doc.move(self.definition, node_id, new))
            changed = self.doc.set_bends(self.definition, self.bends)
        self.old_bends = {**changed, **dropped}    # what the edges had before this step

    def undo(self) -> None:
        with self.doc.batch():
            for node_id, (old, _) in self.moves.items():
                self.doc.move(self.definition, node_id, old)
            _put_back_bends(self.doc, self.definition, self.old_bends)


def _put_back_bends(doc: Document, definition: str, bends: dict[str, tuple]) -> None:
    """Undo: the bends as they were, on the edges that are still there."""
    edges = doc.definition(definition).edges
    kept = {e: points for e, points in bends.items() if e in edges}
    if kept:
        doc.set_bends(definition, kept)


class Rename(DocCommand):
    def __init__(self, doc: Document, definition: str, node_id: str, name: str):
        super().__init__(doc, f"Rename to {name!r}")
        self.definition, self.node_id, self.name = definition, node_id, name
        self.old = doc.node(definition, node_id).name

    def redo(self) -> None:
        self.doc.rename(self.definition, self.node_id, self.name)

    def undo(self) -> None:
        self.doc.rename(self.definition, self.node_id, self.old)


class SetParam(DocCommand):
    """Set one hyperparameter; undo puts back the old value, or the default if it had none."""

    def __init__(self, doc: Document, definition: str, node_id: str, key: str, value: Any):
        super().__init__(doc, f"Set {key}")
        self.definition, self.node_id, self.key, self.value = definition, node_id, key, copy.deepcopy(value)
        params = doc.node(definition, node_id).params
        self.had_value = key in params
        self.old = copy.deepcopy(params[key]) if self.had_value else None

    def redo(self) -> None:
        self.doc.set_param(self.definition, self.node_id, self.key, self.value)

    def undo(self) -> None:
        if self.had_value:
            self.doc.set_param(self.definition, self.node_id, self.key, self.old)
        else:
            self.doc.reset_param(self.definition, self.node_id, self.key)


class Tie(DocCommand):
    def __init__(self, doc: Document, definition: str, node_id: str, target_id: str | None):
        node = doc.node(definition, node_id)
        super().__init__(doc, "Share parameters" if target_id else "Stop sharing parameters")
        self.definition, self.node_id, self.target, self.old = definition, node_id, target_id, node.tied_to

    def _set(self, target: str | None) -> None:
        if target is None:
            self.doc.untie(self.definition, self.node_id)
        else:
            self.doc.tie(self.definition, self.node_id, target)

    def redo(self) -> None:
        self._set(self.target)

    def undo(self) -> None:
        self._set(self.old)


class SetCode(DocCommand):
    def __init__(self, doc: Document, class_name: str, source: str):
        super().__init__(doc, f"Edit code of {class_name}")
        self.class_name, self.source = class_name, source
        self.old = doc.project.code.get(class_name)

    def redo(self) -> None:
        self.doc.set_code(self.class_name, self.source)

    def undo(self) -> None:
        if self.old is None:
            self.doc.remove_code(self.class_name)
        else:
            self.doc.set_code(self.class_name, self.old)


class DiscardUnplaced(QUndoCommand):
    """Forget the stored tensors that fit nowhere (they are written back by every save until then)."""

    def __init__(self, session):
        super().__init__("Discard stored tensors that fit nowhere")
        self.session = session
        self.gone: dict = {}

    def redo(self) -> None:
        self.gone = self.session.discard_unplaced()

    def undo(self) -> None:
        self.session.restore_unplaced(self.gone)


class SnapshotCommand(DocCommand):
    """A composite edit undone by restoring the project as it was (group, ungroup, paste, layout).

    ``action`` runs once, on the first redo; later redos restore the state it
    produced, so ids stay stable across undo and redo.  The action may refuse
    (raise): then the project is left as it was, ``outcome["error"]`` says why,
    and the command drops itself from the stack.
    """

    def __init__(self, doc: Document, text: str, action: Callable[[Document], Any]):
        super().__init__(doc, text)
        self.action = action
        self.before = doc.snapshot()
        self.after: dict | None = None
        # Read through this dict: Qt deletes a refused (obsolete) command as soon as it is pushed.
        self.outcome: dict[str, Any] = {"result": None, "error": None}

    def redo(self) -> None:
        if self.after is not None:
            self.doc.restore(self.after)
            return
        try:
            self.outcome["result"] = self.action(self.doc)
        except Exception as err:  # noqa: BLE001 - any refusal must leave the project untouched
            self.outcome["error"] = str(err) or type(err).__name__
            if self.doc.snapshot() != self.before:
                self.doc.restore(self.before)
            self.setObsolete(True)
            return
        self.after = self.doc.snapshot()

    def undo(self) -> None:
        self.doc.restore(self.before)


def push_snapshot(controller, text: str, action: Callable[[Document], Any]) -> tuple[Any, str | None]:
    """Push ``action`` as one undo step; returns (its result, None) or (None, why it refused)."""
    cmd = SnapshotCommand(controller.document, text, action)
    outcome = cmd.outcome
    controller.push(cmd)
    return outcome["result"], outcome["error"]


class RenameCodeClass(DocCommand):
    """Rename a code block's class in the code table, its ``class X(`` statement and every node using it."""

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
