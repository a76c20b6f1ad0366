"""The canvas widget: the breadcrumb bar over the node editor view (with the
minimap and the Ctrl+F find bar over it), and the canvas's actions (the main
window puts them in its menus).

    canvas = CanvasWidget(controller)
    canvas.actions["group"]            # QAction, Ctrl+G
    canvas.open_definition(("n23",))   # into the block used by node n23
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRect, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu, QVBoxLayout, QWidget

from netstudio.analysis.tie_candidates import can_tie, could_share, tie_candidates
from netstudio.catalog import get_block

from . import context_menus, editing, keyboard, theme
from .breadcrumb import BreadcrumbBar
from .canvas_actions import make_actions
from .clipboard import copy_payload, from_mime, to_mime
from .connect_mode import ConnectMode
from .find_bar import FindBar
from .layout_job import LayoutJob
from .looks import CONTAINER_TYPES
from .minimap import Minimap
from .node_item import NodeItem
from .rename_editor import InlineNameEditor
from .scene import CanvasScene
from .view import CanvasView

PASTE_OFFSET = 30.0
EXPAND_ALL_CARDS = 5_000   # the most cards Expand All draws inside blocks at once

class CanvasWidget(QWidget):
    """Breadcrumb bar + node editor for one controller's document."""

    definition_opened = Signal(str, tuple)   # definition name, instance path
    status_message = Signal(str)             # a refused edit, said in one sentence
    properties_requested = Signal()          # Enter: the user wants to type into the block's properties

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.breadcrumb = BreadcrumbBar(self)
        self.scene = CanvasScene(controller, self)
        self.view = CanvasView(self.scene, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.breadcrumb)
        layout.addWidget(self.view, 1)
        self.minimap = Minimap(self.view)
        self.find_bar = FindBar(self.view)
        self.connect_mode = ConnectMode(self.view, self._hint)
        self.actions: dict[str, QAction] = self._make_actions()
        self.breadcrumb.set_tools(self.actions["zoom_out"], self.actions["zoom_in"], self.actions["fit"])
        self._rename_editor: InlineNameEditor | None = None
        self._code_editors: dict = {}
        self._paste_key: str | None = None
        self._paste_count = 0
        self._fit_when_shown = True
        self._shown: tuple[str, tuple] | None = None
        self._layout_job: LayoutJob | None = None
        self._layout_timer = QTimer(self, singleShot=True, interval=0)
        self._layout_timer.timeout.connect(self._layout_fresh_project)
        self._fit_timer = QTimer(self, singleShot=True, interval=0)
        self._fit_timer.timeout.connect(self._fit_once)

        self.scene.shown.connect(self._on_shown)
        self.scene.rebuilding.connect(self._on_rebuilding)
        self.scene.reset_done.connect(self._layout_timer.start)
        self.scene.model_changed.connect(self._update_breadcrumb)
        self.scene.selectionChanged.connect(self._update_actions)
        self.breadcrumb.crumb_clicked.connect(lambda depth: self.open_definition(self.current_path[:depth]))
        self.view.node_activated.connect(self.activate_node)
        self.view.inner_activated.connect(lambda path, definition, node_id: self.show_node(definition, node_id, path))
        self.scene.expansion_changed.connect(self._update_actions)
        self.view.context_menu_requested.connect(self._show_context_menu)
        self.view.block_dropped.connect(self.add_block_at)
        self.view.zoom_changed.connect(self.breadcrumb.set_zoom)
        controller.project_opened.connect(self._on_project_opened)
        self._on_shown(self.scene.definition, self.scene.path)
        self._layout_fresh_project()
        self._update_actions()

    # -- public state ---------------------------------------------------------------------------
    @property
    def current_definition(self) -> str:
        return self.scene.definition

    @property
    def current_path(self) -> tuple[str, ...]:
        return self.scene.path

    def selected_node_ids(self) -> list[str]:
        return self.scene.selected_node_ids()

    def select_nodes(self, ids) -> None:
        self.scene.select_nodes(ids)

    def node_item(self, node_id: str) -> NodeItem | None:
        return self.scene.nodes.get(node_id)

    # -- navigation -------------------------------------------------------------------------------
    def open_definition(self, path: tuple[str, ...]) -> None:
        """Show the definition at instance ``path`` (``()`` is the top level)."""
        path = tuple(path)
        self.view.cancel_gesture()
        self.scene.show_path(path)
        if editing.needs_layout(self.scene.model):
            self._arrange("Arrange blocks")
        self.fit()

    def show_node(self, definition: str, node_id: str, path: tuple[str, ...] | None = None) -> bool:
        """Open the definition holding ``node_id`` (at ``path``, or its first use) and select it."""
        project = self.controller.document.project
        if path is None:
            path = self._find_path(definition)
        if path is None:
            return False
        if (self.current_definition, self.current_path) != (definition, tuple(path)):
            self.open_definition(tuple(path))
        self.select_nodes([node_id])
        item = self.scene.nodes.get(node_id)
        if item is not None:
            self.view.centerOn(item)
        return node_id in project.definitions[definition].nodes

    def _find_path(self, definition: str) -> tuple[str, ...] | None:
        if self.current_definition == definition:
            return self.current_path
        return self.controller.document.project.first_instance_path(definition)

    def activate_node(self, node_id: str) -> None:
        """Double-click: open a container, edit a code block."""
        node = self.scene.model.nodes.get(node_id)
        if node is None:
            return
        if node.type in CONTAINER_TYPES:
            child = node.params.get("definition")
            if child in self.controller.document.project.definitions:
                self.open_definition(self.current_path + (node_id,))
            else:
                self._hint(f"The block definition {child!r} does not exist.", error=True)
        elif node.type == "Code":
            self.edit_code(node_id)

    def toggle_expand_selected(self) -> None:
        """E: expand the selected blocks in place, or collapse them when all are expanded."""
        ids = [i for i in self.selected_node_ids() if i in self.scene.nodes and self.scene.nodes[i].look.expandable]
        if ids and all(self.scene.is_expanded(i) for i in ids):
            self.scene.set_expanded(ids, False)
        elif ids:
            self._expand_within_limit(ids)

    def expand_all(self, expanded: bool) -> None:
        """Expand (or collapse) every block one level deep."""
        if expanded:
            self._expand_within_limit(list(self.scene.nodes))
        else:
            self.scene.set_expanded(list(self.scene.nodes), False)

    def _expand_within_limit(self, node_ids) -> None:
        """Expand the blocks ``node_ids`` until the cards drawn inside would pass ``EXPAND_ALL_CARDS`` (a
        graph of 10,000 blocks of 2,000 each would draw 20 million); say so when some are left."""
        project, d = self.controller.document.project, self.scene.model
        chosen, cards, wanted = [], 0, 0
        for node_id in node_ids:
            item = self.scene.nodes.get(node_id)
            if item is None or not item.look.expandable or item.inside is not None:
                continue
            wanted += 1
            size = len(project.definitions[d.nodes[node_id].text_param("definition")].nodes)
            if cards + size <= EXPAND_ALL_CARDS:
                chosen.append(node_id)
                cards += size
        self.scene.set_expanded(chosen, True)
        if len(chosen) < wanted:
            self._hint(f"Expanded {len(chosen):,} of {wanted:,} blocks: the others would draw more than "
                       f"{EXPAND_ALL_CARDS:,} cards; expand them one by one (E).")

    def _on_rebuilding(self) -> None:
        if self._rename_editor is not None:
            self._rename_editor.cancel()

    def _on_shown(self, definition: str, path: tuple) -> None:
        self._update_breadcrumb()
        self._update_actions()
        if self._shown != (definition, tuple(path)):
            self._shown = (definition, tuple(path))
            self.definition_opened.emit(definition, tuple(path))

    def _update_breadcrumb(self) -> None:
        project = self.controller.document.project
        root = project.root_definition
        crumbs = [(project.name if project.name and project.name != "untitled" else root.name,
                   f"Top level: {root.name} ({root.class_name})", "mdi6.home-outline")]
        name = project.root
        for node_id in self.current_path:
            d = project.definitions.get(name)
            node = d.nodes.get(node_id) if d else None
            if node is None:
                break
            item_name = node.name
            if not item_name and d.kind == "sequential":
                chain = [n.id for n in d.chain() or ()]
                item_name = str(chain.index(node_id)) if node_id in chain else ""
            name = node.params.get("definition", "")
            spec = get_block(node.type)
            text = f"{item_name} · {name}" if item_name else name
            crumbs.append((text, f"{node.type} {item_name!r} using the definition {name!r}",
                           spec.icon if spec else "mdi6.cube-outline"))
        d = self.scene.model
        kind = "Sequential" if d.kind == "sequential" else "Graph"
        self.breadcrumb.set_crumbs(crumbs, kind if d.class_name in ("", kind) else f"{kind} · {d.class_name}")

    # -- view ------------------------------------------------------------------------------------------
    def fit(self) -> None:
        self.view.fit_rect(self.scene.items_bounds())

    def zoom_in(self) -> None:
        self.view.zoom_in()

    def zoom_out(self) -> None:
        self.view.zoom_out()

    def auto_layout(self) -> None:
        self._arrange("Auto layout")

    def _layout_fresh_project(self) -> None:
        """A project just opened whose nodes all pile up is laid out (and stays unmodified)."""
        stack = self.controller.undo_stack
        if stack.count() or not editing.needs_layout(self.scene.model):
            return
        self._arrange("Arrange blocks", fresh=True, keep_clean=stack.isClean())

    @property
    def layout_job(self) -> LayoutJob | None:
        """The layout being computed on a worker, if any."""
        return self._layout_job

    def _arrange(self, text: str, fresh: bool = False, keep_clean: bool = False) -> None:
        """Lay out the shown definition as one undo step: at once when small, else on a worker
        (the window goes on meanwhile; the result lands if nothing was edited in between).
        ``fresh``: a project just opened, fitted into view however it ends; ``keep_clean``: it
        stays unmodified."""
        definition = self.current_definition
        job = self._layout_job
        if job is not None:
            if job.definition == definition and not job.stale:
                return          # already under way, for this very graph
            job.cancel()
            self._layout_job = None
        count = len(self.scene.model.nodes)
        if count <= editing.LAYOUT_OFF_THREAD_ABOVE:
            self._arranged(editing.auto_layout(self.controller, definition, text), fresh, keep_clean)
            return
        job = LayoutJob(self.controller.document, definition,
                        lambda layout: editing.apply_layout(self.controller, definition, layout, text), self)
        job.finished.connect(lambda applied, why: self._on_layout_done(job, applied, why, fresh, keep_clean))
        self._layout_job = job
        self._hint(f"Arranging {count:,} blocks…")

    def _on_layout_done(self, job: LayoutJob, applied: bool, why: str, fresh: bool, keep_clean: bool) -> None:
        job.deleteLater()
        if self._layout_job is not job:
            return              # cancelled: another layout (or none) took its place
        self._layout_job = None
        if why:
            self._hint(why, error=True)
        else:
            self.view.show_hint("")
            self.status_message.emit("")
        self._arranged(applied, fresh, keep_clean)

    def _arranged(self, applied: bool, fresh: bool, keep_clean: bool) -> None:
        stack = self.controller.undo_stack
        if applied and keep_clean and stack.index() == 1:
            stack.setClean()
        if applied or fresh:
            self.fit()

    def showEvent(self, event) -> None:
        if not self.scene.attached:
            self.scene.attach()
            self.scene.rebuild()
        super().showEvent(event)
        if self._fit_when_shown:
            self._fit_timer.start()   # once the layout has given the view its size

    def _on_project_opened(self) -> None:
        """Another project is on show: fit it into view (the old zoom and pan meant the old project)."""
        if self.isVisible():
            self.fit()
        else:
            self._fit_when_shown = True

    def _fit_once(self) -> None:
        if self._fit_when_shown and self.isVisible():
            self._fit_when_shown = False
            self.fit()

    def closeEvent(self, event) -> None:
        if self._layout_job is not None:     # its result must not land on a closed canvas
            self._layout_job.cancel()
            self._layout_job = None
        self.scene.detach()
        super().closeEvent(event)

    # -- actions ------------------------------------------------------------------------------------------
    def _make_actions(self) -> dict[str, QAction]:
        slots = {
            "delete": self.delete_selection, "rename": self.rename_selected, "copy": self.copy,
            "paste": self.paste, "duplicate": self.duplicate, "select_all": self.select_all,
            "group": self.group_selection, "ungroup": self.ungroup_selection, "open": self._open_selected,
            "zoom_in": self.zoom_in, "zoom_out": self.zoom_out, "fit": self.fit, "auto_layout": self.auto_layout,
            "find": self.find_bar.open,
            "share_parameters": self.share_parameters, "stop_sharing": self.stop_sharing,
            "edit_code": self._edit_selected_code,
            "next_block": lambda: keyboard.focus_block(self.view, 1),
            "previous_block": lambda: keyboard.focus_block(self.view, -1),
            "edit_properties": self.properties_requested.emit, "connect": self.connect_selected,
            "expand": self.toggle_expand_selected, "expand_all": lambda: self.expand_all(True),
            "collapse_all": lambda: self.expand_all(False),
        }
        actions = make_actions(self, self.view, slots)
        self._share_menu = QMenu(self)
        self._share_menu.aboutToShow.connect(self._fill_share_menu)
        actions["share_parameters"].setMenu(self._share_menu)
        return actions

    def _update_actions(self) -> None:
        try:
            d = self.scene.model
        except KeyError:
            return
        ids = self.selected_node_ids()
        nodes = [d.nodes[i] for i in ids if i in d.nodes]
        a = self.actions
        a["delete"].setEnabled(bool(nodes) or bool(self.scene.selected_edge_ids()))
        a["rename"].setEnabled(len(nodes) == 1)
        a["copy"].setEnabled(bool(nodes))
        a["duplicate"].setEnabled(bool(nodes))
        a["group"].setEnabled(any(n.type not in ("Input", "Output") for n in nodes))
        a["ungroup"].setEnabled(any(n.type in CONTAINER_TYPES for n in nodes))
        a["open"].setEnabled(len(nodes) == 1 and nodes[0].type in CONTAINER_TYPES)
        expandable = [n.id for n in nodes if n.id in self.scene.nodes and self.scene.nodes[n.id].look.expandable]
        a["expand"].setEnabled(bool(expandable))
        collapse = bool(expandable) and all(self.scene.is_expanded(i) for i in expandable)
        a["expand"].setText("Collapse" if collapse else "Expand in Place")
        a["expand"].setIcon(theme.icon("mdi6.arrow-collapse-all" if collapse else "mdi6.arrow-expand-all"))
        a["edit_code"].setEnabled(len(nodes) == 1 and nodes[0].type == "Code")
        a["edit_properties"].setEnabled(len(nodes) == 1)
        a["connect"].setEnabled(len(nodes) == 1)
        a["stop_sharing"].setEnabled(any(n.tied_to for n in nodes))
        # Cheap checks only: the list of compatible blocks is computed when its menu opens.
        project, result = self.controller.document.project, self.controller.result
        if len(nodes) == 1:
            can_share = could_share(d, nodes[0].id)
        else:
            can_share = len(nodes) == 2 and (can_tie(project, d, nodes[0].id, nodes[1].id, result)
                                             or can_tie(project, d, nodes[1].id, nodes[0].id, result))
        a["share_parameters"].setEnabled(can_share)

    def _hint(self, text: str, error: bool = False) -> None:
        self.view.show_hint(text, error)
        self.status_message.emit(text)

    # -- editing -------------------------------------------------------------------------------------------
    def add_block_at(self, type_name: str, scene_pos: QPointF) -> str | None:
        """Add a block centred at ``scene_pos`` (a palette drop); selects it and returns its id."""
        model_pos = QPointF(*self.scene.model_position(scene_pos))    # blocks expanded in place move others aside
        node_id, error = editing.add_block(self.controller, self.current_definition, type_name, model_pos)
        if error:
            self._hint(error, error=True)
        elif node_id:
            self.select_nodes([node_id])
        return node_id

    def add_block_at_center(self, type_name: str) -> str | None:
        center = self.view.mapToScene(self.view.viewport().rect().center())
        return self.add_block_at(type_name, center)

    def delete_selection(self) -> None:
        editing.delete(self.controller, self.current_definition, self.selected_node_ids(),
                       self.scene.selected_edge_ids())

    def select_all(self) -> None:
        self.select_nodes(list(self.scene.nodes))

    def rename_selected(self) -> InlineNameEditor | None:
        ids = self.selected_node_ids()
        if not ids:
            return None
        if self._rename_editor is not None:
            self._rename_editor.cancel()
        self.view.ensureVisible(self.scene.nodes[ids[0]], 40, 40)
        item, node = self.scene.nodes[ids[0]], self.scene.model.nodes[ids[0]]
        rect = item.mapRectToScene(item.rect.adjusted(30, 3, -8, 0))
        rect.setHeight(theme.HEADER_HEIGHT - 5)
        top_left, bottom_right = self.view.mapFromScene(rect.topLeft()), self.view.mapFromScene(rect.bottomRight())
        geometry = QRect(top_left.x(), top_left.y(), max(bottom_right.x() - top_left.x(), 90),
                         max(bottom_right.y() - top_left.y(), 22))
        editor = InlineNameEditor(self.view.viewport(), node.id, node.name,
                                  item.look.title if not node.name else "", geometry)
        editor.committed.connect(self._on_rename_committed)
        editor.cancelled.connect(self._on_rename_done)
        self._rename_editor = editor
        return editor

    def _on_rename_committed(self, node_id: str, text: str) -> None:
        if node_id in self.scene.model.nodes:
            error = editing.rename(self.controller, self.current_definition, node_id, text)
            if error:
                self._hint(error, error=True)
        self._on_rename_done(node_id)

    def _on_rename_done(self, node_id: str) -> None:
        self._rename_editor = None
        self.view.setFocus()

    def copy(self) -> None:
        ids = self.selected_node_ids()
        if not ids:
            return
        payload = copy_payload(self.controller.document.project, self.current_definition, ids)
        QGuiApplication.clipboard().setMimeData(to_mime(payload))
        self._paste_key, self._paste_count = None, 0

    def paste(self) -> list[str]:
        payload = from_mime(QGuiApplication.clipboard().mimeData())
        if payload is None:
            self._hint("The clipboard holds no blocks.")
            return []
        key = repr(sorted(n.get("id", "") for n in payload["nodes"])) + str(payload.get("source"))
        self._paste_count = self._paste_count + 1 if key == self._paste_key else 1
        self._paste_key = key
        offset = PASTE_OFFSET * self._paste_count
        return self._paste(payload, (offset, offset))

    def duplicate(self) -> list[str]:
        ids = self.selected_node_ids()
        if not ids:
            return []
        payload = copy_payload(self.controller.document.project, self.current_definition, ids)
        return self._paste(payload, (PASTE_OFFSET, PASTE_OFFSET))

    def _paste(self, payload: dict, offset: tuple[float, float]) -> list[str]:
        ids, error = editing.paste(self.controller, self.current_definition, payload, offset)
        if error:
            self._hint(error, error=True)
        else:
            self.select_nodes(ids)
        return ids

    def group_selection(self) -> str | None:
        node_id, error = editing.group(self.controller, self.current_definition, self.selected_node_ids())
        if error:
            self._hint(error, error=True)
        elif node_id:
            self.select_nodes([node_id])
        return node_id

    def ungroup_selection(self) -> list[str]:
        ids, error = editing.ungroup(self.controller, self.current_definition, self.selected_node_ids())
        if error:
            self._hint(error, error=True)
        else:
            self.select_nodes(ids)
        return ids

    def tie_candidates(self, node_id: str) -> list[str]:
        """The blocks ``node_id`` could share parameters with, by the latest check's shapes."""
        return [n.id for n in self._candidates(node_id)]

    def _candidates(self, node_id: str):
        return tie_candidates(self.controller.document.project, self.scene.model, node_id, self.controller.result)

    def tie(self, node_id: str, target_id: str) -> bool:
        error = editing.tie(self.controller, self.current_definition, node_id, target_id)
        if error:
            self._hint(error, error=True)
        return error is None

    def share_parameters(self) -> None:
        """With two compatible blocks selected, the later one uses the earlier one's parameters;
        with one, the list of compatible blocks pops up."""
        ids = self.selected_node_ids()
        if len(ids) == 2:
            error = editing.tie_pair(self.controller, self.current_definition, *ids)
            if error:
                self._hint(error, error=True)
        elif len(ids) == 1 and self.isVisible():
            item = self.scene.nodes[ids[0]]
            self._share_menu.popup(self.view.mapToGlobal(self.view.mapFromScene(item.top_center())))

    def connect_selected(self) -> bool:
        """Start the keyboard's connect mode from the one selected block."""
        ids = self.selected_node_ids()
        return len(ids) == 1 and self.connect_mode.start(ids[0])

    def stop_sharing(self) -> None:
        editing.untie(self.controller, self.current_definition, self.selected_node_ids())

    def _fill_share_menu(self, menu: QMenu | None = None, node_id: str | None = None) -> int:
        return context_menus.fill_share_menu(self, menu or self._share_menu, node_id)

    def _open_selected(self) -> None:
        ids = self.selected_node_ids()
        if len(ids) == 1:
            self.activate_node(ids[0])

    def _edit_selected_code(self) -> None:
        ids = self.selected_node_ids()
        if len(ids) == 1:
            self.edit_code(ids[0])

    def edit_code(self, node_id: str):
        """Open the code editor of a code block (one window per node)."""
        from .code_editor import CodeEditorDialog
        node = self.scene.model.nodes.get(node_id)
        if node is None or node.type != "Code":
            return None
        key = (self.current_definition, node_id)
        dialog = self._code_editors.get(key)
        if dialog is None:
            dialog = CodeEditorDialog(self.controller, self.current_definition, node_id, self)
            dialog.finished.connect(lambda _=0, k=key: self._code_editors.pop(k, None))
            self._code_editors[key] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    # -- context menus ------------------------------------------------------------------------------------
    def build_context_menu(self, node_id: str | None) -> QMenu:
        """The menu for a node (``node_id``) or the empty canvas (None)."""
        return context_menus.build(self, node_id)

    def _show_context_menu(self, global_pos: QPoint, node_id) -> None:
        self._update_actions()
        menu = self.build_context_menu(node_id)
        menu.exec(global_pos)
        menu.deleteLater()
