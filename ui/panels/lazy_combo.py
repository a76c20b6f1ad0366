"""A combo whose items are computed when its list opens, not each time they might have changed.

Some lists cost a walk over the project to compute (the nodes a node could
share parameters with), and they are wanted only when someone looks at them.
``LazyCombo`` keeps its current choice shown while closed and asks ``items``
for the full list each time its popup opens after ``stale`` was called.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from .form_pieces import fill_combo

Items = Callable[[], list[tuple[str, object]]]   # -> [(label, data)]


class LazyCombo(QComboBox):
    """A combo that fills itself from ``items()`` when its popup opens (or ``fill`` is called)."""

    filled = Signal()   # the items were computed again

    def __init__(self, items: Items, parent: QWidget | None = None):
        super().__init__(parent)
        self._items = items
        self._fresh = False

    @property
    def fresh(self) -> bool:
        """Whether the items listed now are the ones ``items()`` would give."""
        return self._fresh

    def stale(self, keep_choice: bool = True) -> None:
        """The items may have changed: compute them at the next opening (forgetting the choice unless kept)."""
        self._fresh = False
        if not keep_choice and self.count():
            self.blockSignals(True)
            self.clear()
            self.blockSignals(False)
            self.currentIndexChanged.emit(-1)

    def fill(self) -> None:
        """Compute the items now (keeping the choice while it is still one of them)."""
        fill_combo(self, self._items())
        self._fresh = True
        self.filled.emit()

    def showPopup(self) -> None:
        if not self._fresh:
            self.fill()
        super().showPopup()
