"""The device selector: a toolbar combo of this machine's devices (the CPU, each
CUDA GPU with its memory, Apple's MPS), moving the network and its sample input.

The move runs on a worker thread with a busy indicator, so a big network
does not freeze the window (it also waits, without freezing, for a run in
progress to finish).  A failure is explained in one sentence and the combo
goes back to the device the network is on.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QComboBox, QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from netstudio import devices
from netstudio.devices import DeviceInfo

from .panel import Panel
from .run_worker import Runner


def device_label(info: DeviceInfo) -> str:
    """ "cpu", "cuda:0 — NVIDIA H100 80GB HBM3 (79 GB)", "mps — Apple GPU (MPS)"."""
    if info.kind == "cpu":
        return info.name
    text = f"{info.name} — {info.description}"
    if info.total_memory:
        text += f" ({info.total_memory / 2**30:.0f} GB)"
    return text


def _show_error(parent: QWidget, message: str) -> None:
    from ..widgets.error_dialog import show_error
    show_error(parent, message, title="Device")


class DeviceSelector(Panel):
    """``report_error(parent, message)`` shows a failure (replace it in tests)."""

    OBJECT_NAME = "deviceSelector"

    def __init__(self, controller, parent: QWidget | None = None,
                 report_error: Callable[[QWidget, str], None] | None = None):
        super().__init__(controller, parent)
        self.report_error = report_error or _show_error
        self.last_error: str | None = None
        self.runner = Runner(self, controller)
        self.runner.finished.connect(self._on_moved)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 0)
        row.setSpacing(6)
        label = QLabel("Device")
        row.addWidget(label)
        self.combo = QComboBox()
        self.combo.setObjectName("deviceCombo")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setToolTip("Where the network's parameters live and where it runs.")
        row.addWidget(self.combo)
        self.busy = QProgressBar()
        self.busy.setObjectName("deviceBusy")
        self.busy.setRange(0, 0)  # indeterminate
        self.busy.setTextVisible(False)
        self.busy.setFixedWidth(60)
        self.busy.setFixedHeight(10)
        self.busy.hide()
        row.addWidget(self.busy)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.populate()
        self.combo.activated.connect(self._on_activated)
        self.follow([self.session.events.device_changed], self._show_device)

    def populate(self) -> None:
        """List the devices again (``netstudio.devices.list_devices``), selecting the network's."""
        self.combo.blockSignals(True)
        self.combo.clear()
        for info in devices.list_devices():
            self.combo.addItem(device_label(info), info.name)
            self.combo.setItemData(self.combo.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole)
        self.combo.blockSignals(False)
        self._show_device(str(self.session.device))

    def _show_device(self, name: str) -> None:
        index = self.combo.findData(name)
        if index < 0 and name == "cuda":
            index = self.combo.findData("cuda:0")
        if index >= 0:
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(index)
            self.combo.blockSignals(False)

    def _on_activated(self, index: int) -> None:
        self.switch_to(self.combo.itemData(index))

    def switch_to(self, name: str) -> bool:
        """Move the network to ``name`` on a worker thread; False if a move is already running."""
        if name == str(self.session.device):
            return True
        session = self.session
        started = self.runner.start("move", lambda progress, token: session.move_to(name),
                                    doing=f"Moving the network to {name}")
        if not started:
            self._show_device(str(session.device))
            return False
        self.combo.setEnabled(False)
        self.busy.show()
        QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        return True

    def _on_moved(self, name: str, result, error: str | None) -> None:
        QApplication.restoreOverrideCursor()
        self.busy.hide()
        self.combo.setEnabled(True)
        device = str(self.session.device)
        self._show_device(device)
        if error:
            self.last_error = error
            self.report_error(self, error)
        else:
            self.last_error = None


def install(window) -> QAction:
    """Add the selector to a "Device" toolbar of ``window``; returns the toolbar's action for it."""
    toolbar = window.addToolBar("Device")
    toolbar.setObjectName("deviceToolBar")
    return toolbar.addWidget(DeviceSelector(window.controller))
