"""The problems list: one row per diagnostic of the latest check, and a warning
for each recorded initializer or weight edit that no longer fits the graph, each
stored tensor that fits nowhere (with Discard in the row's context menu), and
each earlier value that could not be kept for undo.

Activating a row emits ``problem_activated`` with its diagnostic; the window
then opens the definition that holds the node and selects it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from netstudio.analysis import WARNING, CheckResult, Diagnostic

from ..document.commands import DiscardUnplaced
from ..document.controller import DocumentController
from ..document.relay import listen
from .param_editors import sentence
from .properties import severity_icon

DIAGNOSTIC_ROLE = Qt.ItemDataRole.UserRole + 1
UNPLACED_WHERE = "stored weights"


class ProblemsPanel(QTreeWidget):
    problem_activated = Signal(object)  # Diagnostic

    def __init__(self, controller: DocumentController, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("problemsList")
        self.setColumnCount(2)
        self.setHeaderLabels(["Where", "Problem"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.header().setStretchLastSection(True)
        self.setColumnWidth(0, 220)
        self.itemClicked.connect(self._on_item)
        self.itemActivated.connect(self._on_item)
        self.controller = controller
        self._result = CheckResult()
        listen(self, controller.session.events.rebuilt, self._refresh)
        controller.checked.connect(self.show_result)
        if controller.result is not None:
            self.show_result(controller.result)

    def show_result(self, result: CheckResult) -> None:
        self._result = result
        self._refresh()

    def _session_notices(self) -> list[Diagnostic]:
        session, root = self.controller.session, self.controller.document.project.root
        out = [Diagnostic(WARNING, f"A recorded initialization or edit no longer applies and was skipped: "
                                   f"{message.rstrip('.')}", root, where="recorded weights")
               for message in session.skipped]
        out += [Diagnostic(WARNING, item.describe(name), root, where=UNPLACED_WHERE)
                for name, item in session.unplaced.items()]
        out += [Diagnostic(WARNING, message, root, where="kept weights") for message in session.keeper.dropped]
        return out

    def contextMenuEvent(self, event) -> None:
        item = self.itemAt(event.pos())
        diag = item.data(0, DIAGNOSTIC_ROLE) if item is not None else None
        if diag is None or diag.where != UNPLACED_WHERE:
            return
        menu = QMenu(self)
        count = len(self.controller.session.unplaced)
        menu.addAction(f"Discard the {count} stored tensor{'s' if count != 1 else ''} that fit nowhere",
                       self.discard_unplaced)
        menu.exec(event.globalPos())

    def discard_unplaced(self) -> None:
        """Forget the stored tensors that fit nowhere: one undo step, and unsaved work until saved."""
        if self.controller.session.unplaced:
            self.controller.push(DiscardUnplaced(self.controller.session))

    def _refresh(self, *_) -> None:
        self.clear()
        diagnostics = list(self._result.diagnostics) + self._session_notices()
        errors_first = sorted(diagnostics, key=lambda d: not d.is_error)
        for diag in errors_first:
            item = QTreeWidgetItem(self, [diag.where or diag.definition, sentence(diag.message)])
            item.setIcon(0, severity_icon(diag.severity))
            item.setToolTip(1, sentence(diag.message))
            item.setData(0, DIAGNOSTIC_ROLE, diag)
        if not diagnostics:
            placeholder = QTreeWidgetItem(self, ["", "No problems: the network is valid."])
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)

    def diagnostics(self) -> list[Diagnostic]:
        return [d for d in (self.topLevelItem(i).data(0, DIAGNOSTIC_ROLE) for i in range(self.topLevelItemCount()))
                if d is not None]

    def _on_item(self, item: QTreeWidgetItem) -> None:
        diag = item.data(0, DIAGNOSTIC_ROLE)
        if diag is not None:
            self.problem_activated.emit(diag)
