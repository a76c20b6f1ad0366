"""The canvas's right-click menus: one for a block, one for the empty canvas, and the list of
blocks a block could share parameters with (filled when the menu opens, from the latest check)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMenu

from netstudio.catalog import get_block
from netstudio.catalog.block_spec import TENSOR_ROLES, Role

from . import theme
from .looks import CONTAINER_TYPES

if TYPE_CHECKING:
    from .canvas_widget import CanvasWidget


def fill_share_menu(canvas: "CanvasWidget", menu: QMenu, node_id: str | None = None) -> int:
    """List the blocks ``node_id`` (else the one selected) could share parameters with; their number."""
    menu.clear()
    if node_id is None:
        ids = canvas.selected_node_ids()
        node_id = ids[0] if len(ids) == 1 else None
    candidates = canvas._candidates(node_id) if node_id else []
    for other in candidates:
        item = canvas.scene.nodes.get(other.id)
        title = item.look.title if item is not None else other.name
        action = menu.addAction(theme.block_icon(other.type), f"{title}  ({other.type})")
        action.setData(other.id)
        action.triggered.connect(lambda _=False, n=node_id, t=other.id: canvas.tie(n, t))
    if not candidates:
        menu.addAction("No compatible block").setEnabled(False)
    return len(candidates)


def build(canvas: "CanvasWidget", node_id: str | None) -> QMenu:
    """The menu for a node (``node_id``) or the empty canvas (None)."""
    menu = QMenu(canvas)
    a = canvas.actions
    if node_id is None:
        if canvas.scene.selected_edge_ids():
            menu.addAction(a["delete"])
            menu.addSeparator()
        menu.addAction(a["paste"])
        menu.addSeparator()
        menu.addAction(a["auto_layout"])
        menu.addAction(a["fit"])
        if any(item.look.expandable for item in canvas.scene.nodes.values()):
            menu.addSeparator()
            menu.addAction(a["expand_all"])
            menu.addAction(a["collapse_all"])
        return menu
    node = canvas.scene.model.nodes[node_id]
    if node.type in CONTAINER_TYPES:
        menu.addAction(a["open"])
        menu.addAction(a["expand"])
    if node.type == "Code":
        menu.addAction(a["edit_code"])
    if node.type in CONTAINER_TYPES or node.type == "Code":
        menu.addSeparator()
    for name in ("rename", "duplicate", "copy", "delete"):
        menu.addAction(a[name])
    menu.addSeparator()
    menu.addAction(a["group"])
    if node.type in CONTAINER_TYPES:
        menu.addAction(a["ungroup"])
    spec = get_block(node.type)
    if spec is not None and not spec.stateless and spec.role not in (Role.INPUT, Role.OUTPUT, *TENSOR_ROLES):
        menu.addSeparator()
        share = menu.addMenu(theme.icon("mdi6.link-variant"), "Share Parameters with…")
        share.setObjectName("shareMenu")
        share.setEnabled(fill_share_menu(canvas, share, node_id) > 0)
        if node.tied_to:
            menu.addAction(a["stop_sharing"])
    return menu
