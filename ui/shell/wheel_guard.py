"""The mouse wheel scrolls panels; it never changes a value the person is not editing.

Qt lets the wheel step any spin box or combo box under the pointer, so
scrolling down the Initialize panel could change Xavier's gain on the way.
``WheelGuard`` is one event filter on the application: a wheel event meant for
a spin box or combo box without keyboard focus is passed on to its parent
instead (the scroll area around it scrolls), and such widgets take focus only
from a click or Tab, not from the wheel (``Qt.StrongFocus``).  Once the
person has clicked into one, the wheel steps it as usual.

    WheelGuard.install(app)
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox

GUARDED = (QAbstractSpinBox, QComboBox)


class WheelGuard(QObject):
    """Application-wide event filter; see the module docstring."""

    @classmethod
    def install(cls, app: QApplication) -> "WheelGuard":
        """Install the guard on ``app`` once (it is kept as the application's child)."""
        guard = app.findChild(cls, "wheelGuard")
        if guard is None:
            guard = cls(app)
            guard.setObjectName("wheelGuard")
            app.installEventFilter(guard)
        return guard

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Wheel:
            if isinstance(watched, GUARDED) and not watched.hasFocus():
                event.ignore()   # not for this widget: Qt offers the event to its parent next
                return True
        elif kind == QEvent.Type.Polish and isinstance(watched, GUARDED) \
                and watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)   # the wheel does not give them focus
        return False
