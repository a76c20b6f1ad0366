"""Immutable copies of a document's project, for a checker on another thread.

Copying a 10,000-block project for each check would cost more than checking the
edit.  ``Snapshots`` follows the document's events instead, and each ``take``
copies only the nodes, definitions and settings changed since the last one: the
rest are the very objects of the previous snapshot (edges are immutable and
shared with the document).  Nothing in a snapshot is ever changed afterwards, so
a worker may read it while the document goes on being edited, and the
incremental checker tells what changed by comparing objects
(``analysis/incremental.py``).  ``take`` runs on the thread that edits.
"""

from __future__ import annotations

import copy

from .definition import Definition
from .document import Document
from .project import Project


class Snapshots:
    def __init__(self, document: Document):
        self._document = document
        self._last: Project | None = None
        self._nodes: dict[str, set[str]] = {}   # definition -> nodes changed since the last take
        self._definitions: set[str] = set()     # definitions whose edges or own fields changed
        self._code = self._settings = True
        events = document.events
        self._connections = [
            (events.node_added, self._node), (events.node_removed, self._node),
            (events.node_changed, self._node), (events.edge_added, self._definition),
            (events.edge_removed, self._definition), (events.definition_added, self._definition),
            (events.definition_removed, self._definition), (events.definition_changed, self._definition),
            (events.code_changed, self._code_changed), (events.settings_changed, self._settings_changed),
            (events.reset, self._reset)]
        for signal, slot in self._connections:
            signal.connect(slot)

    def close(self) -> None:
        for signal, slot in self._connections:
            signal.disconnect(slot)

    def _node(self, definition: str, node_id: str, *_) -> None:
        self._nodes.setdefault(definition, set()).add(node_id)

    def _definition(self, definition: str, *_) -> None:
        self._definitions.add(definition)

    def _code_changed(self, *_) -> None:
        self._code = True

    def _settings_changed(self, *_) -> None:
        self._settings = True

    def _reset(self) -> None:
        self._last = None

    def take(self) -> Project:
        live, last = self._document.project, self._last
        definitions = {name: self._definition_copy(d, last.definitions.get(name) if last else None)
                       for name, d in live.definitions.items()}
        code = dict(live.code) if last is None or self._code else last.code
        if last is None or self._settings:
            settings = {"initializers": copy.deepcopy(live.initializers), "edits": copy.deepcopy(live.edits)}
        else:
            settings = {"initializers": last.initializers, "edits": last.edits}
        self._last = Project(name=live.name, description=live.description, seed=live.seed, root=live.root,
                             definitions=definitions, code=code, trusted=live.trusted, **settings)
        self._nodes, self._definitions, self._code, self._settings = {}, set(), False, False
        return self._last

    def _definition_copy(self, d: Definition, last: Definition | None) -> Definition:
        changed = self._nodes.get(d.name, ())
        if last is not None and not changed and d.name not in self._definitions:
            return last
        if last is None:
            nodes = {i: n.copy() for i, n in d.nodes.items()}
        else:
            nodes = {i: n.copy() if i in changed or i not in last.nodes else last.nodes[i]
                     for i, n in d.nodes.items()}
        return Definition(d.name, d.kind, d.class_name, nodes, dict(d.edges), copy.deepcopy(d.arguments))
