"""The initializer picker: choose a scheme, its arguments and which parameters
it applies to, see what it would draw, then apply it as one undo step.

Four groups, top to bottom: the seed's examples, one click each (``presets``),
the scheme and its arguments (``scheme_box``), the scope (``scope_box``) with
Apply under it, and the preview (``preview_box``), which draws the scheme into a scratch tensor
of the chosen target's shape with a fixed generator, so nothing changes until
Apply; the target's current values are drawn behind it in grey.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget
from torch.nn.parameter import UninitializedParameter

from netstudio.errors import NetStudioError
from netstudio.graph.module_paths import paths_of_node
from netstudio.init import SCHEMES, InitAssignment, ResolvedParam, Scope, resolve
from netstudio.init.presets import PRESETS, linear_paths

from ...document.weight_commands import ApplyInitializers, push_weight_command
from ..arg_form import plain_number
from ..form_pieces import compact, named_button, say, scroll_page, tighten
from ..panel import Panel, install_panel
from .preview_box import PreviewBox
from .scheme_box import SchemeBox
from .scope_box import ScopeBox


# Short names for the presets' buttons: two fit a row of a narrow dock.
SHORT_LABELS = {"normal": "N(0, 0.01), bias 0", "constant": "Constant 1, bias 0",
                "xavier_42": "Xavier, last = 42", "custom": "U(±10), |w|<5 → 0"}


class InitPickerPanel(Panel):
    """Scheme + arguments + scope, a preview histogram, Apply, and the seed's presets."""

    OBJECT_NAME = "initializerPicker"

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(controller, parent)
        self.matches: list[ResolvedParam] = []
        self.last_command: ApplyInitializers | None = None
        self._refreshing = False
        self._build()
        self.follow([self.session.events.rebuilt], self.refresh)
        self.follow([self.session.events.weights_changed], self._on_weights_changed, coalesce_ms=100)
        self.follow([self.session.events.device_changed], lambda *_: self.update_preview())
        controller.selection_changed.connect(self._on_selection)
        controller.tensor_selected.connect(self._on_tensor_selected)
        controller.project_opened.connect(self._on_project_opened)
        self.refresh()

    def _build(self) -> None:
        _, layout = scroll_page(self)
        layout.addWidget(self._preset_group())
        self.schemes, self.scopes, self.preview = SchemeBox(), ScopeBox(), PreviewBox()
        layout.addWidget(self.schemes)
        layout.addWidget(self.scopes)
        # Apply, with what it did beside it, right under the scope: a short dock shows them before the preview.
        self.apply_button = named_button("mdi6.auto-fix", "Apply", "applyInit", self.apply)
        self.apply_button.setDefault(True)
        self.status = QLabel()
        self.status.setObjectName("initStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.apply_button, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addWidget(self.preview)
        layout.addStretch(1)
        self.expose(self.schemes, "scheme_combo", "scheme_help", "arg_form")
        self.expose(self.scopes, "scope_combo", "block_combo", "param_combo", "type_combo", "leaf_combo",
                    "within_combo", "matches_label")
        self.expose(self.preview, "target_combo", "preview_label")
        self.arg_form.changed.connect(self.update_preview)
        for combo in (self.scope_combo, *self.scopes.choices):
            combo.currentIndexChanged.connect(self.update_matches)
        self.target_combo.currentIndexChanged.connect(self.update_preview)
        compact(self.scheme_combo, self.scope_combo, *self.scopes.choices, self.target_combo)
        tighten(self)

    def _preset_group(self) -> QGroupBox:
        """The seed's four examples, two a row, named short (the tooltip says it in full)."""
        presets = QGroupBox("The book's examples")
        grid = QGridLayout(presets)
        grid.setSpacing(4)
        self.preset_buttons: dict[str, QPushButton] = {}
        for i, preset in enumerate(PRESETS):
            button = QPushButton(SHORT_LABELS.get(preset.key, preset.label))
            button.setObjectName(f"preset_{preset.key}")
            button.setToolTip(f"<b>{preset.label}</b><br>{preset.tooltip}")
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # shrink with the dock
            button.clicked.connect(lambda _=False, p=preset: self.apply_preset(p.key))
            grid.addWidget(button, i // 2, i % 2)   # two a row: the preview stays in view on a small screen
            self.preset_buttons[preset.key] = button
        return presets

    # -- state ----------------------------------------------------------------------------------
    @property
    def scheme_name(self) -> str:
        return self.schemes.scheme_name

    def set_scheme(self, name: str, **args) -> None:
        """Pick a scheme (by name) and set some of its arguments."""
        self.schemes.set_scheme(name, **args)

    def scope(self) -> Scope:
        return self.scopes.scope()

    def assignment(self) -> InitAssignment:
        return InitAssignment(self.scope(), self.scheme_name, self.arg_form.values())

    @property
    def preview_tensor(self):
        """What the preview drew for the target (None when it drew nothing)."""
        return self.preview.tensor

    @property
    def preview_edges(self):
        return self.preview.edges

    @property
    def preview_counts(self):
        return self.preview.counts

    # -- reacting ---------------------------------------------------------------------------------
    def _on_weights_changed(self, names=None) -> None:
        if any(isinstance(m.tensor, UninitializedParameter) for m in self.matches) or names is None:
            self.refresh()  # lazy parameters may have got their shapes
        else:
            self.update_preview()

    def _on_selection(self, definition: str, node_ids: list) -> None:
        if len(node_ids) != 1:
            return
        try:
            paths = paths_of_node(self.controller.document.project, definition, node_ids[0])
        except Exception:
            return
        self.scopes.follow_block(paths)

    def _on_project_opened(self) -> None:
        """Another project: what was said about the old one's initializers no longer applies."""
        self.last_command = None
        say(self.status, "", error=False)

    def _on_tensor_selected(self, ref) -> None:
        if ref is not None and getattr(ref, "live", False):
            self.scopes.follow_parameter(ref.name)

    def refresh(self, *_) -> None:
        """Re-read the network: module paths, parameter names, types; keep the choices that survive.
        A big graph is never built here (``network_now``): the panel waits for the worker's build."""
        module = self.session.network_now()
        self._refreshing = True
        try:
            self.scopes.fill(module)
        finally:
            self._refreshing = False
        has_linear = module is not None and bool(linear_paths(module))
        for button in self.preset_buttons.values():
            button.setEnabled(has_linear)
            if not has_linear:
                button.setToolTip("Needs a network with Linear layers.")
        self.apply_button.setEnabled(module is not None)
        self.update_matches()

    def update_matches(self, *_) -> None:
        if self._refreshing:
            return
        module = self.session.network_now()
        self.matches = []
        if module is None:
            self.matches_label.setText("Building the network… the parameters show as soon as it is built."
                                       if self.session.pending else
                                       self.session.error or "There is no network to initialize.")
        else:
            try:
                self.matches = resolve(module, self.scope())
            except NetStudioError as err:
                self.matches_label.setText(str(err))
            else:
                self.matches_label.setText(_matches_text([m.name for m in self.matches]))
        self.preview.set_targets(self.matches)
        self.update_preview()

    def target(self) -> ResolvedParam | None:
        name = self.target_combo.currentData()
        return next((m for m in self.matches if m.name == name), None)

    def update_preview(self, *_) -> None:
        self.preview.show_preview(self.target(), self.scheme_name, self.arg_form.values())

    # -- applying ---------------------------------------------------------------------------------
    def apply(self) -> bool:
        """Apply the chosen scheme to the chosen scope as one undo step; False (with a reason) if refused."""
        try:
            assignment = self.assignment()
            label = SCHEMES[assignment.scheme].label
            args = ", ".join(plain_number(v) if isinstance(v, float) else str(v) for v in assignment.args.values())
            command = ApplyInitializers(self.controller, [assignment],
                                        f"Initialize {_scope_text(assignment.scope)}: {label}"
                                        + (f"({args})" if args else ""))
        except NetStudioError as err:
            return say(self.status, str(err))
        return self._push(command)

    def apply_preset(self, key: str) -> bool:
        preset = next(p for p in PRESETS if p.key == key)
        module = self.session.ensure_built()
        if module is None:
            return say(self.status, self.session.error or "The network cannot be built.")
        try:
            command = ApplyInitializers(self.controller, preset.build(module), f"Initialize: {preset.label}")
        except NetStudioError as err:
            return say(self.status, str(err))
        return self._push(command)

    def _push(self, command: ApplyInitializers) -> bool:
        error = push_weight_command(self.controller, command)
        if error:
            return say(self.status, error)
        self.last_command = command
        done = len(command.initialized)
        text = f"Initialized {done} tensor{'s' if done != 1 else ''}"
        text += f" ({command.text()}). Undo with Edit → Undo." if done else "."
        if command.deferred:
            text += (f" {len(command.deferred)} not created yet get it at the first forward pass "
                     "(deferred initialization).")
        say(self.status, text, error=False)
        self.update_preview()
        return True


def _matches_text(names: list[str]) -> str:
    if not names:
        return "No parameter matches this scope."
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return f"Applies to {len(names)} tensor{'s' if len(names) != 1 else ''}: {shown}."


def _scope_text(scope: Scope) -> str:
    if scope.param:
        return scope.param
    parts = [scope.module_type or "", scope.leaf or "parameters"]
    text = " ".join(p for p in parts if p)
    if scope.within:
        text += f" in {scope.within}"
    return text if (scope.module_type or scope.leaf or scope.within) else "the network"


def install(window) -> QDockWidget:
    """Dock the picker in ``window`` (right side, tabbed with the other panels)."""
    return install_panel(window, InitPickerPanel, Qt.DockWidgetArea.RightDockWidgetArea, "Initialize",
                         "initializerPickerDock")
