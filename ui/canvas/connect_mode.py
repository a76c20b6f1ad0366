"""Connect without the mouse: C (or Ctrl+Shift+C) on a selected block.

The block's outputs are offered first (skipped when it has one), then every free
input the chosen output may feed, block by block in reading order, one stop per
input.  Tab, Right or Down go to the next stop, Shift+Tab, Left or Up to the one
before; Enter connects through the ``Connect`` undo command (or, on an output,
chooses it), Esc cancels.  The hint at the bottom of the canvas (and the status
bar) says what Enter will do.  The chosen target becomes the selection, so C
again goes on from there.

While active the mode filters the view's keys and claims them before the
canvas's shortcuts (Tab and Enter are shortcuts there too).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt

from ui.document.commands import Connect

from .edge_item import link_path
from .gestures import link_candidates, link_preview
from .keyboard import VISIBLE_MARGIN, reading_order
from .port_item import CANDIDATE, NORMAL, OUTPUT, VALID, PortRef

_NEXT = {Qt.Key.Key_Tab, Qt.Key.Key_Right, Qt.Key.Key_Down}
_PREVIOUS = {Qt.Key.Key_Backtab, Qt.Key.Key_Left, Qt.Key.Key_Up}
_CHOOSE = {Qt.Key.Key_Return, Qt.Key.Key_Enter}
_KEYS = _NEXT | _PREVIOUS | _CHOOSE | {Qt.Key.Key_Escape}


class ConnectMode(QObject):
    """The keyboard's connect mode on ``view``; ``say(text, error)`` shows what is going on."""

    def __init__(self, view, say):
        super().__init__(view)
        self.view = view
        self.say = say
        self.source = None                  # the NodeItem connected from
        self.anchor: PortRef | None = None  # its output, once chosen
        self.stops: list = []               # (NodeItem, PortRef): the outputs, then the inputs offered
        self.index = 0
        self.preview = None
        view.scene().rebuilding.connect(self.cancel)
        view.scene().model_changed.connect(self.cancel)   # an undo may take away a stop

    @property
    def active(self) -> bool:
        return self.source is not None

    @property
    def current(self) -> tuple | None:
        return self.stops[self.index] if self.active and self.stops else None

    def start(self, node_id: str) -> bool:
        """Begin from block ``node_id``; False (and said why) if it has no output to offer."""
        self.cancel()
        item = self.view.scene().nodes.get(node_id)
        if item is None:
            return False
        if not item.look.outputs:
            self.say(f"{item.look.title} has no output to connect.", True)
            return False
        self.source = item
        self.view.installEventFilter(self)
        self.view.viewport().installEventFilter(self)
        outputs = [(item, PortRef(node_id, OUTPUT, name)) for name in item.look.outputs]
        if len(outputs) == 1:
            return self._offer_inputs(outputs[0][1])
        self._set_stops(outputs)
        return True

    def _offer_inputs(self, anchor: PortRef) -> bool:
        scene = self.view.scene()
        order = {node_id: i for i, node_id in enumerate(reading_order(scene))}
        stops = sorted(link_candidates(scene, anchor),
                       key=lambda stop: (order[stop[0].node_id], stop[0].look.inputs.index(stop[1].name)))
        if not stops:
            text = f"No block has a free input that {self._port_text(self.source, anchor)} may feed."
            self._finish()
            self.say(text, True)
            return False
        self._set_stops([])
        self.anchor = anchor
        self.source.set_port_state(anchor, VALID)
        self.preview = link_preview()
        scene.addItem(self.preview)
        self._set_stops(stops)
        return True

    def _set_stops(self, stops: list) -> None:
        for item, ref in self.stops:
            item.set_port_state(ref, NORMAL)
        self.stops, self.index = stops, 0
        for item, ref in stops:
            item.set_port_state(ref, CANDIDATE)
        if stops:
            self._go(0)

    def _go(self, index: int) -> None:
        item, ref = self.stops[self.index]
        item.set_port_state(ref, CANDIDATE)
        self.index = index % len(self.stops)
        item, ref = self.stops[self.index]
        item.set_port_state(ref, VALID)
        self.view.ensureVisible(item, VISIBLE_MARGIN, VISIBLE_MARGIN)
        count = f"{self.index + 1} of {len(self.stops)}"
        if self.anchor is None:
            self.say(f"Enter: connect from {self._port_text(item, ref)} · Tab: next output ({count})"
                     " · Esc: cancel")
            return
        self.preview.setPath(link_path(self.source.port_pos(self.anchor), item.port_pos(ref)))
        self.say(f"Enter: connect {self._port_text(self.source, self.anchor)} → {self._port_text(item, ref)}"
                 f" · Tab: next ({count}) · Esc: cancel")

    @staticmethod
    def _port_text(item, ref: PortRef) -> str:
        look = item.look
        name = look.type_name if look.untitled else look.title   # not "unnamed"
        return f"{name}.{ref.name}" if len(look.outputs if ref.is_output else look.inputs) > 1 else name

    def choose(self) -> None:
        """Enter: take the output on offer, or connect to the input on offer."""
        if self.current is None:
            return
        item, ref = self.current
        if self.anchor is None:
            self._offer_inputs(ref)
            return
        scene, anchor = self.view.scene(), self.anchor
        text = f"Connected {self._port_text(self.source, anchor)} → {self._port_text(item, ref)}."
        self._finish()
        scene.controller.push(Connect(scene.document, scene.definition, anchor.node_id, anchor.name,
                                      ref.node_id, ref.name))
        scene.select_nodes([ref.node_id])
        self.say(text, False)
        self.view.show_hint("")   # said in the status bar; the canvas's hint is for what is going on

    def cancel(self) -> None:
        if self.active:
            self._finish()
            self.say("", False)

    def _finish(self) -> None:
        self._set_stops([])
        if self.anchor is not None:
            self.source.set_port_state(self.anchor, NORMAL)
        if self.preview is not None and self.preview.scene() is not None:
            self.preview.scene().removeItem(self.preview)
        self.source, self.anchor, self.preview, self.index = None, None, None, 0
        self.view.removeEventFilter(self)
        self.view.viewport().removeEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress or (kind == QEvent.Type.FocusOut and watched is self.view):
            self.cancel()
            return False
        if watched is not self.view or kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        key = event.key()
        if key not in _KEYS:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()   # the key comes here as a key press, not to the canvas's shortcuts
            return True
        if key == Qt.Key.Key_Escape:
            self.cancel()
        elif key in _CHOOSE:
            self.choose()
        else:
            back = key in _PREVIOUS or (key == Qt.Key.Key_Tab and event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self._go(self.index + (-1 if back else 1))
        return True
