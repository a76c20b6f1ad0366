"""The scene's side of a check: badges, parameter counts and shape labels from a ``CheckResult``.

A mixin of ``CanvasScene``: it reads the scene's items, its definition and path, and its
``FeedbackTracker`` (which nodes the edits since the last result can have changed), so a
new result on 10,000 blocks touches only those.
"""

from __future__ import annotations

from collections import defaultdict

from netstudio.analysis import CheckResult
from netstudio.graph import Node

from .looks import CONTAINER_TYPES, node_status, shape_text
from .node_item import NodeStatus
from .port_item import PortRef


class CheckDisplay:
    def _on_checked(self, result: CheckResult) -> None:
        self.result = result
        if self.definition in self.document.project.definitions:
            self.apply_result(result)

    def _diagnostics(self, result: CheckResult) -> dict[str, list]:
        by_node: dict[str, list] = defaultdict(list)
        for diag in result.diagnostics:
            if diag.definition == self.definition and diag.node_id and (not diag.path or diag.path == self.path):
                by_node[diag.node_id].append(diag)
        return by_node

    def _status(self, node: Node, result: CheckResult, diags) -> NodeStatus:
        return node_status(self.document.project, self.model, node, result, self.path, diags,
                           self.controller.session.deferred_now)

    def _on_session_changed(self, *_) -> None:
        if self.result is not None:
            self._feedback.forget()       # "deferred" may have changed on every lazy block
            self.apply_result(self.result, emit=False)

    def apply_result(self, result: CheckResult, emit: bool = True) -> None:
        """Badges, counts and labels from ``result``, on the nodes the edits since the last
        result can have changed (see ``FeedbackTracker``), and on their outgoing edges."""
        by_node = self._diagnostics(result)
        d, path = self.model, self.path
        containers = {i for i, n in d.nodes.items() if n.type in CONTAINER_TYPES}
        changed = self._feedback.changed_nodes((self.definition, path), self.nodes, result, by_node, containers)
        for node_id in changed:
            node = d.nodes.get(node_id)
            if node is not None:
                item = self.nodes[node_id]
                severity = item.status.severity
                item.set_status(self._status(node, result, by_node.get(node_id, ())))
                if item.status.severity != severity:
                    self.invalidate_sketch()
                for edge in item.edges:
                    if edge.src_item is item:
                        edge.set_label(shape_text(result.output(node_id, edge.src_port, path)))
        self.expansion.apply_result(result)
        if emit:
            self.check_applied.emit()

    def port_shape_text(self, ref: PortRef) -> str:
        if self.result is None:
            return ""
        info = self.result.info(ref.node_id, self.path)
        if info is None:
            return ""
        if ref.is_output:
            return shape_text(info.outputs.get(ref.name)) if ref.name in info.outputs else ""
        item = self.nodes.get(ref.node_id)
        if item is None or ref.name not in item.look.inputs:
            return ""
        i = item.look.inputs.index(ref.name)
        return shape_text(info.inputs[i]) if i < len(info.inputs) else ""
