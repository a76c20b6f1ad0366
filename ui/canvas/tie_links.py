"""The tie links of a canvas: which blocks share parameters, drawn again after any edit that can
change it (a tie made or undone, a node gone, a name that a tooltip shows)."""

from __future__ import annotations

from netstudio.graph import Node

from . import theme
from .edge_item import TieLinkItem


def draw_tie_links(scene) -> None:
    """Badges in each tie group's colour on the tied nodes, and a dashed link from each user to its owner."""
    for link in scene.tie_links.values():
        link.node_item.tie_links.discard(link)
        link.target_item.tie_links.discard(link)
        scene.removeItem(link)
    scene.tie_links.clear()
    d = scene.model
    groups: dict[str, int] = {}
    for node in d.nodes.values():
        if node.tied_to and node.tied_to in scene.nodes and node.id in scene.nodes:
            groups.setdefault(node.tied_to, len(groups))
    for node_id, item in scene.nodes.items():
        node = d.nodes[node_id]
        root = node.tied_to if node.tied_to in groups else (node_id if node_id in groups else None)
        if root is None:
            item.set_tie(None)
            continue
        color = theme.tie_color(groups[root])
        owner = d.nodes[root]
        if root == node_id:
            users = [n for n in d.nodes.values() if n.tied_to == node_id]
            tip = "Its parameters are shared with " + ", ".join(repr(_name(scene, n)) for n in users)
        else:
            tip = f"Shares the parameters of {_name(scene, owner)!r}"
        item.set_tie(color, tip)
        if root != node_id:
            link = TieLinkItem(item, scene.nodes[root], color)
            scene.addItem(link)
            scene.tie_links[node_id] = link
            item.tie_links.add(link)
            scene.nodes[root].tie_links.add(link)


def _name(scene, node: Node) -> str:
    item = scene.nodes.get(node.id)
    return item.look.title if item is not None else (node.name or node.type)
