"""The Shared Parameters panel: the tied parameters of the network, and what tying means.

Three groups, one under the other: the ties and making one (``tie_list``),
one tensor seen through its several names (``alias_editor``), and each
shared parameter's gradient split by use (``use_gradients``).  They share one
status line under them, where each says what it did or why it could not.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QWidget

from ..form_pieces import say, scroll_page, tighten
from ..panel import Panel, install_panel
from .alias_editor import AliasEditor
from .tie_list import TieList
from .use_gradients import UseGradientsView


class SharedLinksPanel(Panel):
    """Ties, making and removing them, one element through two names, and per-use gradients."""

    OBJECT_NAME = "sharedLinks"

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(controller, parent)
        _, layout = scroll_page(self)
        self.ties = TieList(controller, self._report)
        self.aliases = AliasEditor(controller, self._report)
        self.per_use = UseGradientsView(controller, self._report)
        for group in (self.ties, self.aliases, self.per_use):
            layout.addWidget(group)
        self.status = QLabel()
        self.status.setObjectName("linksStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)
        tighten(self)
        self.expose(self.ties, "tie_list", "empty_label", "untie_button", "node_a", "node_b", "tie_button", "tie_hint")
        self.expose(self.aliases, "alias_combo", "index_edit", "value_spin", "set_button", "alias_table")
        self.expose(self.per_use, "grad_button", "element_combo", "element_index", "grad_table", "grad_check", "why",
                    "runner")
        self.ties.used_module_selected.connect(self.aliases.show_weight_of)
        # The ties are the document's, the shared names the network's: each list is read once per edit.
        events = controller.document.events
        self.follow((events.changed, events.reset), lambda *_: self.ties.refresh())
        self.follow((events.reset, self.session.events.rebuilt), lambda *_: self.aliases.refresh())
        self.follow([events.changed], self.aliases.show_alias_values)   # an undone weight edit, at once
        controller.checked.connect(self.ties.candidates_stale)       # the candidates follow the inferred shapes
        controller.project_opened.connect(self._on_project_opened)
        self.refresh()

    @property
    def gradients(self):
        """Per-use gradients by parameter name, from the last "Compute gradients"."""
        return self.per_use.gradients

    def refresh(self, *_) -> None:
        self.ties.refresh()
        self.aliases.refresh()

    def compute_gradients(self) -> bool:
        return self.per_use.compute_gradients()

    def _on_project_opened(self) -> None:
        """Another project: the gradients and messages were about the old one."""
        self.per_use.forget()
        self._report("", error=False)

    def _report(self, message: str, error: bool = True) -> bool:
        return say(self.status, message, error)


def install(window) -> QDockWidget:
    """Dock the panel in ``window`` (right side, tabbed with the other panels)."""
    return install_panel(window, SharedLinksPanel, Qt.DockWidgetArea.RightDockWidgetArea, "Shared Parameters",
                         "sharedLinksDock")
