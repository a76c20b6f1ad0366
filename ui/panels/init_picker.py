"""The initializer picker: choose a scheme, its arguments and which parameters
it applies to, see what it would draw, then apply it as one undo step.

The scope is the whole network, one block (a module path, following the
canvas selection), one parameter (following the parameter tree), or a filter
(a module type such as ``Linear`` and a leaf such as ``weight``, optionally
within a block).  The preview draws the scheme into a scratch tensor of the
chosen target's shape with a fixed generator, so nothing changes until Apply;
the target's current values are drawn behind it in grey.

The seed's four examples are one click each (the presets): normal(0, 0.01)
weights with zero biases, constant 1 with zero biases, Xavier on the first
layer with 42 on the last, and the custom U(-10, 10) that zeroes |w| < 5.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import qtawesome as qta
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QSizePolicy, QVBoxLayout, QWidget)
from torch import nn
from torch.nn.parameter import UninitializedParameter

from netstudio.errors import NetStudioError
from netstudio.graph.module_paths import paths_of_node
from netstudio.init import SCHEMES, InitAssignment, ResolvedParam, Scope, resolve
from netstudio.init.scopes import type_name

from ..document.relay import listen
from ..document.weight_commands import ApplyInitializers, push_weight_command
from .arg_form import ArgForm, compact, fill_combo, labelled, plain_number, scroll_page

OBJECT_NAME = "initializerPicker"
PREVIEW_SEED = 0
PREVIEW_LIMIT = 2**24  # elements; larger targets are not previewed
SCOPE_KINDS = (("network", "Whole network"), ("block", "One block"), ("parameter", "One parameter"),
               ("filter", "Filter by type"))
ANY = ""

PREVIEW_COLOR = "#2f6fed"
CURRENT_COLOR = "#9aa3b2"


# -- presets ------------------------------------------------------------------------------------
def linear_paths(module: nn.Module) -> list[str]:
    """Module paths of every ``Linear`` (lazy ones included), in module order."""
    return [name for name, sub in module.named_modules() if name and type_name(sub) == "Linear"]


def _linear(leaf: str) -> Scope:
    return Scope(module_type="Linear", leaf=leaf)


def _normal_zero(module: nn.Module) -> list[InitAssignment]:
    return [InitAssignment(_linear("weight"), "normal", {"mean": 0.0, "std": 0.01}),
            InitAssignment(_linear("bias"), "zeros")]


def _constant_zero(module: nn.Module) -> list[InitAssignment]:
    return [InitAssignment(_linear("weight"), "constant", {"value": 1.0}),
            InitAssignment(_linear("bias"), "zeros")]


def _xavier_42(module: nn.Module) -> list[InitAssignment]:
    paths = linear_paths(module)
    if len(paths) < 2:
        raise NetStudioError("This preset needs at least two Linear layers: a first one and a last one.")
    return [InitAssignment(Scope.parameter(f"{paths[0]}.weight"), "xavier_uniform"),
            InitAssignment(Scope.parameter(f"{paths[-1]}.weight"), "constant", {"value": 42.0})]


def _custom(module: nn.Module) -> list[InitAssignment]:
    return [InitAssignment(_linear("weight"), "seed_custom")]


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    tooltip: str
    build: Callable[[nn.Module], list[InitAssignment]]


PRESETS = (
    Preset("normal", "Normal(0, 0.01) + zero bias",
           "Every Linear: weights from N(0, 0.01²), biases 0 (net.apply(init_normal)).", _normal_zero),
    Preset("constant", "Constant 1 + zero bias",
           "Every Linear: weights 1, biases 0 (net.apply(init_constant)).", _constant_zero),
    Preset("xavier_42", "Xavier on first layer, 42 on last",
           "The first Linear's weight gets Xavier uniform, the last Linear's weight the constant 42.", _xavier_42),
    Preset("custom", "Custom U(-10,10), |w|<5 → 0",
           "Every Linear weight from U(-10, 10), then values with |w| < 5 set to 0 (the book's my_init).", _custom),
)


# -- preview ------------------------------------------------------------------------------------
def preview_values(scheme_name: str, args: dict, target: ResolvedParam, seed: int = PREVIEW_SEED) -> torch.Tensor:
    """What ``scheme_name`` would draw for ``target``: a scratch tensor of its shape, on the CPU."""
    scheme = SCHEMES[scheme_name]
    values = scheme.validate(args)
    generator = torch.Generator().manual_seed(seed)
    tensor = target.tensor
    if scheme.needs_module:  # reset_parameters on a scratch copy of the owning module
        owner = copy.deepcopy(target.module).to("cpu")
        scratch = owner._parameters[target.leaf]
        scheme.apply(scratch, generator, owner=owner, name=f"'{target.name}'", **values)
        return scratch.detach().clone()
    dtype = tensor.dtype if tensor.dtype.is_floating_point else torch.float32
    scratch = torch.empty(tuple(tensor.shape), dtype=dtype)
    scheme.apply(scratch, generator, name=f"'{target.name}'", **values)
    return scratch


def histogram(*tensors: torch.Tensor, bins: int = 40) -> tuple[np.ndarray, list[np.ndarray]]:
    """Shared bin edges and one count array per tensor (finite values only)."""
    arrays = [t.detach().to("cpu", torch.float64).reshape(-1).numpy() for t in tensors]
    arrays = [a[np.isfinite(a)] for a in arrays]
    joined = np.concatenate(arrays) if arrays else np.zeros(0)
    lo, hi = (float(joined.min()), float(joined.max())) if joined.size else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return edges, [np.histogram(a, bins=edges)[0] for a in arrays]


def describe(t: torch.Tensor) -> str:
    x = t.detach().to("cpu", torch.float64).reshape(-1)
    if x.numel() == 0:
        return "empty"
    zeros = int((x == 0).sum())
    return (f"min {x.min().item():.4g} · max {x.max().item():.4g} · mean {x.mean().item():.4g} · "
            f"std {x.std(unbiased=False).item():.4g} · zeros {zeros}/{x.numel()}")


def _shape(t: torch.Tensor) -> str:
    if isinstance(t, UninitializedParameter):
        return "not created yet"
    return str(tuple(t.shape))


class InitPickerPanel(QWidget):
    """Scheme + arguments + scope, a preview histogram, Apply, and the seed's presets."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(OBJECT_NAME)
        self.controller = controller
        self.session = controller.session
        self.matches: list[ResolvedParam] = []
        self.preview_tensor: torch.Tensor | None = None
        self.preview_edges: np.ndarray | None = None
        self.preview_counts: np.ndarray | None = None
        self.last_command: ApplyInitializers | None = None
        self._refreshing = False
        self._build()
        listen(self, self.session.events.rebuilt, self.refresh)
        listen(self, self.session.events.weights_changed, self._on_weights_changed, coalesce_ms=100)
        listen(self, self.session.events.device_changed, lambda *_: self.update_preview())
        controller.selection_changed.connect(self._on_selection)
        controller.tensor_selected.connect(self._on_tensor_selected)
        controller.project_opened.connect(self._on_project_opened)
        self.refresh()

    # -- building -----------------------------------------------------------------------------
    def _build(self) -> None:
        _, layout = scroll_page(self)

        presets = QGroupBox("The book's examples")
        grid = QGridLayout(presets)
        grid.setSpacing(4)
        self.preset_buttons: dict[str, QPushButton] = {}
        for i, preset in enumerate(PRESETS):
            button = QPushButton(preset.label)
            button.setObjectName(f"preset_{preset.key}")
            button.setToolTip(preset.tooltip)
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # shrink with the dock
            button.clicked.connect(lambda _=False, p=preset: self.apply_preset(p.key))
            grid.addWidget(button, i, 0)
            self.preset_buttons[preset.key] = button
        layout.addWidget(presets)

        scheme_box = QGroupBox("Scheme")
        form = QFormLayout(scheme_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.scheme_combo = QComboBox()
        self.scheme_combo.setObjectName("schemeCombo")
        for scheme in SCHEMES.values():
            self.scheme_combo.addItem(scheme.label, scheme.name)
            self.scheme_combo.setItemData(self.scheme_combo.count() - 1, scheme.description,
                                          Qt.ItemDataRole.ToolTipRole)
        form.addRow("Scheme", self.scheme_combo)
        self.scheme_help = QLabel()
        self.scheme_help.setWordWrap(True)
        self.scheme_help.setEnabled(False)
        form.addRow(self.scheme_help)
        self.arg_form = ArgForm()
        self.arg_form.setObjectName("argForm")
        form.addRow(self.arg_form)
        layout.addWidget(scheme_box)

        scope_box = QGroupBox("Apply to")
        scope_layout = QVBoxLayout(scope_box)
        self.scope_combo = QComboBox()
        self.scope_combo.setObjectName("scopeKind")
        for key, label in SCOPE_KINDS:
            self.scope_combo.addItem(label, key)
        scope_layout.addWidget(self.scope_combo)
        self.block_combo = QComboBox()
        self.block_combo.setObjectName("blockCombo")
        self.param_combo = QComboBox()
        self.param_combo.setObjectName("paramCombo")
        filter_page = QWidget()
        filter_form = QFormLayout(filter_page)
        filter_form.setContentsMargins(0, 0, 0, 0)
        self.type_combo = QComboBox()
        self.type_combo.setObjectName("typeCombo")
        self.leaf_combo = QComboBox()
        self.leaf_combo.setObjectName("leafCombo")
        self.within_combo = QComboBox()
        self.within_combo.setObjectName("withinCombo")
        filter_form.addRow("Module type", self.type_combo)
        filter_form.addRow("Parameter", self.leaf_combo)
        filter_form.addRow("Within", self.within_combo)
        # One page per kind; only the current one is shown (and takes room).
        self.scope_pages = [None, labelled("Block", self.block_combo),  # the network needs no more choices
                            labelled("Parameter", self.param_combo), filter_page]
        for page_ in self.scope_pages[1:]:
            scope_layout.addWidget(page_)
        self.matches_label = QLabel()
        self.matches_label.setObjectName("matchesLabel")
        self.matches_label.setWordWrap(True)
        scope_layout.addWidget(self.matches_label)
        layout.addWidget(scope_box)

        preview_box = QGroupBox("Preview (nothing changes until Apply)")
        preview_layout = QVBoxLayout(preview_box)
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("previewTarget")
        preview_layout.addWidget(labelled("Shape of", self.target_combo))
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("previewPlot")
        self.plot.setMinimumHeight(140)
        self.plot.setMaximumHeight(220)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.getPlotItem().setMouseEnabled(x=False, y=False)
        self.plot.getPlotItem().showGrid(x=True, y=True, alpha=0.15)
        legend = QLabel(f"<span style='color:{PREVIEW_COLOR}'>■</span> after Apply &nbsp; "
                        f"<span style='color:{CURRENT_COLOR}'>■</span> now")
        preview_layout.addWidget(legend)
        self.current_curve = self.plot.plot([0, 1], [0], stepMode="center", fillLevel=0, name="now",
                                            pen=pg.mkPen(CURRENT_COLOR), brush=pg.mkBrush(154, 163, 178, 90))
        self.preview_curve = self.plot.plot([0, 1], [0], stepMode="center", fillLevel=0, name="after Apply",
                                            pen=pg.mkPen(PREVIEW_COLOR, width=1.5), brush=pg.mkBrush(47, 111, 237, 110))
        preview_layout.addWidget(self.plot)
        self.preview_label = QLabel()
        self.preview_label.setObjectName("previewStats")
        self.preview_label.setWordWrap(True)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        preview_layout.addWidget(self.preview_label)
        layout.addWidget(preview_box)

        row = QHBoxLayout()
        self.apply_button = QPushButton(qta.icon("mdi6.auto-fix"), "Apply")
        self.apply_button.setObjectName("applyInit")
        self.apply_button.setDefault(True)
        self.apply_button.clicked.connect(self.apply)
        row.addWidget(self.apply_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.status = QLabel()
        self.status.setObjectName("initStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.scheme_combo.currentIndexChanged.connect(self._on_scheme)
        self.arg_form.changed.connect(self.update_preview)
        self.scope_combo.currentIndexChanged.connect(self._on_scope_kind)
        for combo in (self.block_combo, self.param_combo, self.type_combo, self.leaf_combo, self.within_combo):
            combo.currentIndexChanged.connect(self.update_matches)
        self.target_combo.currentIndexChanged.connect(self.update_preview)
        compact(self.scheme_combo, self.scope_combo, self.block_combo, self.param_combo, self.type_combo,
                self.leaf_combo, self.within_combo, self.target_combo)
        self._on_scheme()
        self._on_scope_kind()

    # -- state ----------------------------------------------------------------------------------
    @property
    def scheme_name(self) -> str:
        return self.scheme_combo.currentData()

    def set_scheme(self, name: str, **args) -> None:
        """Pick a scheme (by name) and set some of its arguments."""
        self.scheme_combo.setCurrentIndex(self.scheme_combo.findData(name))
        if args:
            self.arg_form.set_values(args)

    def scope(self) -> Scope:
        kind = self.scope_combo.currentData()
        if kind == "block":
            return Scope.module(self.block_combo.currentData() or "")
        if kind == "parameter":
            return Scope.parameter(self.param_combo.currentData() or "")
        if kind == "filter":
            return Scope(within=self.within_combo.currentData() or "",
                         module_type=self.type_combo.currentData() or None,
                         leaf=self.leaf_combo.currentData() or None)
        return Scope.network()

    def assignment(self) -> InitAssignment:
        return InitAssignment(self.scope(), self.scheme_name, self.arg_form.values())

    # -- reacting ---------------------------------------------------------------------------------
    def _on_scheme(self, *_) -> None:
        scheme = SCHEMES[self.scheme_name]
        text = scheme.description
        if scheme.min_ndim:
            text += " Needs a tensor with at least 2 dimensions (a weight, not a bias)."
        self.scheme_help.setText(text)
        self.arg_form.set_specs(scheme.args)

    def _on_scope_kind(self, *_) -> None:
        for i, page_ in enumerate(self.scope_pages):
            if page_ is not None:
                page_.setVisible(i == self.scope_combo.currentIndex())
        self.update_matches()

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
        for path in paths:
            index = self.block_combo.findData(path)
            if index >= 0:
                self.block_combo.setCurrentIndex(index)
                within = self.within_combo.findData(path)
                if within >= 0 and self.scope_combo.currentData() != "filter":
                    self.within_combo.setCurrentIndex(within)
                return

    def _on_project_opened(self) -> None:
        """Another project: what was said about the old one's initializers no longer applies."""
        self.last_command = None
        self.status.setStyleSheet("")
        self.status.clear()

    def _on_tensor_selected(self, ref) -> None:
        if ref is None or not getattr(ref, "live", False):
            return
        index = self.param_combo.findData(ref.name)
        if index >= 0:
            self.param_combo.setCurrentIndex(index)

    def refresh(self, *_) -> None:
        """Re-read the network: module paths, parameter names, types; keep the choices that survive."""
        module = self.session.ensure_built()
        self._refreshing = True
        try:
            if module is None:
                for combo in (self.block_combo, self.param_combo, self.type_combo, self.leaf_combo,
                              self.within_combo):
                    combo.clear()
            else:
                modules = [(name, sub) for name, sub in module.named_modules(remove_duplicate=False) if name]
                params = list(module.named_parameters(remove_duplicate=False))
                fill_combo(self.block_combo, [(f"{name}  ({type_name(sub)})", name) for name, sub in modules])
                fill_combo(self.param_combo, [(f"{name}  {_shape(t)}", name) for name, t in params])
                types = sorted({type_name(sub) for _, sub in modules if sub._parameters})
                fill_combo(self.type_combo, [("any type", ANY)] + [(t, t) for t in types],
                           default="Linear" if "Linear" in types else None)
                leaves = list(dict.fromkeys(name.rpartition(".")[2] for name, _ in params))
                fill_combo(self.leaf_combo, [("any parameter", ANY)] + [(leaf, leaf) for leaf in leaves],
                           default="weight" if "weight" in leaves else None)
                fill_combo(self.within_combo, [("the whole network", "")] +
                           [(name, name) for name, sub in modules if any(True for _ in sub.parameters())])
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
        module = self.session.ensure_built()
        previous = self.target_combo.currentData()
        self.matches = []
        if module is None:
            self.matches_label.setText(self.session.error or "There is no network to initialize.")
        else:
            try:
                self.matches = resolve(module, self.scope())
            except NetStudioError as err:
                self.matches_label.setText(str(err))
            else:
                names = [m.name for m in self.matches]
                if not names:
                    self.matches_label.setText("No parameter matches this scope.")
                else:
                    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
                    count = f"{len(names)} tensor{'s' if len(names) != 1 else ''}"
                    self.matches_label.setText(f"Applies to {count}: {shown}.")
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        for m in self.matches:
            self.target_combo.addItem(f"{m.name}  {_shape(m.tensor)}", m.name)
        index = self.target_combo.findData(previous)
        self.target_combo.setCurrentIndex(max(index, 0))
        self.target_combo.blockSignals(False)
        self.update_preview()

    def target(self) -> ResolvedParam | None:
        name = self.target_combo.currentData()
        return next((m for m in self.matches if m.name == name), None)

    def update_preview(self, *_) -> None:
        target = self.target()
        self.preview_tensor = self.preview_edges = self.preview_counts = None
        if target is None:
            self._draw(None, None)
            self.preview_label.setText("Choose what to initialize to see a preview.")
            return
        if isinstance(target.tensor, UninitializedParameter):
            self._draw(None, None)
            self.preview_label.setText(f"'{target.name}' is not created yet (deferred initialization): its shape is "
                                       "known after the first forward pass, and Apply initializes it then.")
            return
        if target.tensor.numel() > PREVIEW_LIMIT:
            self._draw(None, None)
            self.preview_label.setText(f"'{target.name}' has {target.tensor.numel():,} values, too many to preview.")
            return
        try:
            values = preview_values(self.scheme_name, self.arg_form.values(), target)
        except NetStudioError as err:
            self._draw(None, target.tensor)
            self.preview_label.setText(str(err))
            return
        self.preview_tensor = values
        self._draw(values, target.tensor)
        self.preview_label.setText(f"Would draw for {target.name} {_shape(target.tensor)}: {describe(values)}")

    def _draw(self, values: torch.Tensor | None, current: torch.Tensor | None) -> None:
        tensors = [t for t in (values, current) if t is not None and not isinstance(t, UninitializedParameter)]
        if not tensors:
            self.preview_curve.setData([0, 1], [0])
            self.current_curve.setData([0, 1], [0])
            return
        edges, counts = histogram(*tensors)
        curves = []
        if values is not None:
            self.preview_edges, self.preview_counts = edges, counts[0]
            curves.append(self.preview_curve)
        else:
            self.preview_curve.setData([0, 1], [0])
        if current is not None and not isinstance(current, UninitializedParameter):
            curves.append(self.current_curve)
        else:
            self.current_curve.setData([0, 1], [0])
        for curve, count in zip(curves, counts):
            curve.setData(edges, count)

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
            return self._report(str(err))
        return self._push(command)

    def apply_preset(self, key: str) -> bool:
        preset = next(p for p in PRESETS if p.key == key)
        module = self.session.ensure_built()
        if module is None:
            return self._report(self.session.error or "The network cannot be built.")
        try:
            command = ApplyInitializers(self.controller, preset.build(module), f"Initialize: {preset.label}")
        except NetStudioError as err:
            return self._report(str(err))
        return self._push(command)

    def _push(self, command: ApplyInitializers) -> bool:
        error = push_weight_command(self.controller, command)
        if error:
            return self._report(error)
        self.last_command = command
        done = len(command.initialized)
        text = f"Initialized {done} tensor{'s' if done != 1 else ''}"
        text += f" ({command.text()}). Undo with Edit → Undo." if done else "."
        if command.deferred:
            text += (f" {len(command.deferred)} not created yet get it at the first forward pass "
                     "(deferred initialization).")
        self.status.setStyleSheet("")
        self.status.setText(text)
        self.update_preview()
        return True

    def _report(self, message: str) -> bool:
        self.status.setStyleSheet("color: #d93025;")
        self.status.setText(message)
        return False


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
    panel = InitPickerPanel(window.controller)
    dock = QDockWidget("Initialize", window)
    dock.setObjectName("initializerPickerDock")
    dock.setWidget(panel)
    window.add_panel(dock, Qt.DockWidgetArea.RightDockWidgetArea)
    return dock
