"""Which nodes need a new badge, count or shape label after a check.

A check result covers every node, but an edit changes the inferred info only
downstream of what was edited, and only as far as the change reaches: where a
node's info comes out equal to the last applied one, what follows it is equal
too (a node's info depends on its inputs and its own settings).  So the walk
starts at the nodes edited since the last results, follows edges only through
nodes whose info changed, and an edit on a 10,000-block chain looks at a
handful of nodes instead of all of them.

A result may have been started before the latest edit (the next one follows
at once), so an edited node is remembered for two applied results.
"""

from __future__ import annotations

from netstudio.analysis import CheckResult


class FeedbackTracker:
    """What was edited since the last two applied results, and what they covered."""

    def __init__(self):
        self._edited: set[str] = set()
        self._edited_before: set[str] = set()
        self._applied: tuple | None = None   # (definition, path), result, diagnostics by node

    def edited(self, node_id: str) -> None:
        self._edited.add(node_id)

    def forget(self) -> None:
        """The next result is applied to every node (a rebuild, a change of many nodes)."""
        self._applied = None

    def changed_nodes(self, where: tuple, nodes: dict, result: CheckResult, by_node: dict,
                      always: set[str]) -> set[str]:
        """The ids in ``nodes`` (NodeItems by id) whose state may differ from the last applied
        result's; ``always`` are looked at anyway (containers: their counts sum other nodes)."""
        previous, self._applied = self._applied, (where, result, by_node)
        edited = self._edited | self._edited_before
        self._edited_before, self._edited = self._edited, set()
        if previous is None or previous[0] != where:
            return set(nodes)
        _, old_result, old_diags = previous
        path = where[1]
        new_infos, old_infos = result.infos, old_result.infos
        seeds = edited | always | (by_node.keys() ^ old_diags.keys())
        seeds.update(i for i in by_node.keys() & old_diags.keys() if by_node[i] != old_diags[i])
        seeds.intersection_update(nodes)
        changed, seen, todo = set(), set(), list(seeds)
        while todo:
            node_id = todo.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            key = (path, node_id)
            differs = new_infos.get(key) != old_infos.get(key)
            if differs or node_id in seeds:
                changed.add(node_id)
            if differs or node_id in edited:
                item = nodes[node_id]
                todo.extend(e.dst_item.node_id for e in item.edges if e.src_item is item)
        return changed
