"""The initializer picker: presets for the seed's four examples, the scheme form,
scopes, the preview before Apply, and undo restoring the previous weights."""

from __future__ import annotations

import math

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox

from netstudio.init import SCHEMES
from netstudio.init.preview import preview_values
from ui.panels.init_picker import InitPickerPanel


@pytest.fixture
def make_panel(panel_maker):
    return panel_maker(InitPickerPanel, (420, 900))


def weights(panel: InitPickerPanel) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in panel.session.ensure_built().named_parameters()}


def apply_preset(qtbot, make_panel, key: str):
    """Click one of the seed's presets on param_access: the panel, and the weights before and after."""
    panel = make_panel("param_access")
    before = weights(panel)
    click(qtbot, panel, key)
    return panel, before, weights(panel)


def choose(combo: QComboBox, data) -> None:
    index = combo.findData(data)
    assert index >= 0, f"{data!r} not in {combo.objectName()}"
    combo.setCurrentIndex(index)


def type_number(qtbot, spin: QDoubleSpinBox, text: str) -> None:
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def click(qtbot, panel: InitPickerPanel, name: str) -> None:
    qtbot.mouseClick(panel.findChild(object, name), Qt.MouseButton.LeftButton)


def assert_undo_restores(panel: InitPickerPanel, before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]):
    stack = panel.controller.undo_stack
    assert stack.count() == 1
    stack.undo()
    for name, value in weights(panel).items():
        assert torch.equal(value, before[name]), name
    assert panel.controller.document.project.initializers == []
    stack.redo()  # redo gives back exactly the values Apply drew
    for name, value in weights(panel).items():
        assert torch.equal(value, after[name]), name


def test_schemes_are_listed_with_a_form_built_from_their_arguments(make_panel):
    panel = make_panel("param_access")
    labels = [panel.scheme_combo.itemText(i) for i in range(panel.scheme_combo.count())]
    assert labels == [s.label for s in SCHEMES.values()]
    panel.set_scheme("normal")
    std = panel.arg_form.fields["std"]
    assert isinstance(std, QDoubleSpinBox) and std.value() == 1.0 and std.minimum() == 0.0
    panel.set_scheme("kaiming_uniform")
    mode = panel.arg_form.fields["mode"]
    assert isinstance(mode, QComboBox) and mode.currentText() == "fan_in"
    assert [mode.itemText(i) for i in range(mode.count())] == ["fan_in", "fan_out"]
    panel.set_scheme("zeros")
    assert panel.arg_form.values() == {}


def test_preview_draws_the_scheme_for_the_target_shape_before_anything_changes(qtbot, make_panel):
    panel = make_panel("param_access")
    before = weights(panel)
    choose(panel.scheme_combo, "normal")
    type_number(qtbot, panel.arg_form.fields["std"], "0.01")
    choose(panel.scope_combo, "parameter")
    choose(panel.param_combo, "0.weight")
    preview = panel.preview_tensor
    assert preview is not None and tuple(preview.shape) == (8, 4)
    expected = torch.empty(8, 4).normal_(0.0, 0.01, generator=torch.Generator().manual_seed(0))
    assert torch.equal(preview, expected)  # a scratch tensor from a fixed generator
    assert panel.preview_counts.sum() == 32 and len(panel.preview_edges) == len(panel.preview_counts) + 1
    assert "std" in panel.preview_label.text()
    for name, value in weights(panel).items():  # nothing applied yet
        assert torch.equal(value, before[name])
    assert panel.controller.undo_stack.count() == 0


def test_preset_normal_weights_and_zero_biases(qtbot, make_panel):
    panel, before, after = apply_preset(qtbot, make_panel, "preset_normal")
    for name in ("0.weight", "2.weight"):
        w = after[name]
        assert not torch.equal(w, before[name])
        assert w.abs().max() < 0.06 and 0.003 < w.std() < 0.02  # N(0, 0.01²)
    assert torch.equal(after["0.bias"], torch.zeros(8)) and torch.equal(after["2.bias"], torch.zeros(1))
    assert len(panel.controller.document.project.initializers) == 2
    assert "Initialized 4 tensors" in panel.status.text()
    assert_undo_restores(panel, before, after)


def test_preset_constant_one_and_zero_bias(qtbot, make_panel):
    panel, before, after = apply_preset(qtbot, make_panel, "preset_constant")
    assert torch.equal(after["0.weight"], torch.ones(8, 4)) and torch.equal(after["2.weight"], torch.ones(1, 8))
    assert torch.equal(after["0.bias"], torch.zeros(8)) and torch.equal(after["2.bias"], torch.zeros(1))
    assert_undo_restores(panel, before, after)


def test_preset_xavier_on_the_first_layer_and_42_on_the_last(qtbot, make_panel):
    panel, before, after = apply_preset(qtbot, make_panel, "preset_xavier_42")
    bound = math.sqrt(6 / (4 + 8))  # Xavier uniform for fan_in 4, fan_out 8
    w0 = after["0.weight"]
    assert w0.abs().max() <= bound and w0.abs().max() > bound / 2 and not torch.equal(w0, before["0.weight"])
    assert torch.equal(after["2.weight"], torch.full((1, 8), 42.0))
    assert torch.equal(after["0.bias"], before["0.bias"]) and torch.equal(after["2.bias"], before["2.bias"])
    assert_undo_restores(panel, before, after)


def test_preset_custom_zeroes_small_values(qtbot, make_panel):
    panel, before, after = apply_preset(qtbot, make_panel, "preset_custom")
    w = torch.cat([after["0.weight"].flatten(), after["2.weight"].flatten()])
    nonzero = w[w != 0]
    assert len(nonzero) > 0 and (w == 0).any()
    assert (nonzero.abs() >= 5).all() and (nonzero.abs() <= 10).all()
    assert torch.equal(after["0.bias"], before["0.bias"])  # my_init touches weights only
    assert_undo_restores(panel, before, after)


def test_filter_scope_with_a_typed_argument(qtbot, make_panel):
    panel = make_panel("param_access")
    before = weights(panel)
    choose(panel.scheme_combo, "constant")
    type_number(qtbot, panel.arg_form.fields["value"], "3.5")
    choose(panel.scope_combo, "filter")
    choose(panel.type_combo, "Linear")
    choose(panel.leaf_combo, "bias")
    assert panel.matches_label.text() == "Applies to 2 tensors: 0.bias, 2.bias."
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    after = weights(panel)
    assert torch.equal(after["0.bias"], torch.full((8,), 3.5)) and torch.equal(after["2.bias"], torch.full((1,), 3.5))
    assert torch.equal(after["0.weight"], before["0.weight"])
    assert panel.controller.document.project.initializers == [
        {"scope": {"module_type": "Linear", "leaf": "bias"}, "scheme": "constant", "args": {"value": 3.5}}]
    assert_undo_restores(panel, before, after)


def test_block_scope_follows_the_canvas_selection(qtbot, make_panel):
    panel = make_panel("param_access")
    before = weights(panel)
    doc = panel.controller.document
    last_linear = [n.id for n in doc.project.root_definition.nodes.values() if n.type == "Linear"][-1]
    panel.controller.select(doc.project.root, [last_linear])
    assert panel.block_combo.currentData() == "2"
    choose(panel.scope_combo, "block")
    choose(panel.scheme_combo, "ones")
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    after = weights(panel)
    assert torch.equal(after["2.weight"], torch.ones(1, 8)) and torch.equal(after["2.bias"], torch.ones(1))
    assert torch.equal(after["0.weight"], before["0.weight"])


def test_a_refused_scheme_says_why_in_one_sentence_and_changes_nothing(qtbot, make_panel):
    panel = make_panel("param_access")
    before = weights(panel)
    choose(panel.scheme_combo, "xavier_uniform")
    choose(panel.scope_combo, "parameter")
    choose(panel.param_combo, "0.bias")
    assert "at least 2 dimensions" in panel.preview_label.text()
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    text = panel.status.text()
    assert "needs at least 2 dimensions" in text and "\n" not in text and text.endswith(".")
    assert panel.controller.undo_stack.count() == 0
    assert panel.controller.document.project.initializers == []
    for name, value in weights(panel).items():
        assert torch.equal(value, before[name])


def test_deferred_parameters_get_the_initializer_at_the_first_forward(qtbot, make_panel):
    panel = make_panel("lazy_mlp", run=False)
    assert not panel.session.materialized
    choose(panel.scope_combo, "parameter")
    choose(panel.param_combo, "0.weight")
    assert "deferred initialization" in panel.preview_label.text()
    click(qtbot, panel, "preset_constant")
    assert "first forward pass" in panel.status.text()
    panel.session.run_forward()
    params = dict(panel.session.ensure_built().named_parameters())
    assert params["0.weight"].shape == (256, 20)
    assert torch.equal(params["0.weight"], torch.ones(256, 20))
    assert torch.equal(params["2.bias"], torch.zeros(10))


def test_preview_of_pytorch_default_uses_a_scratch_copy_of_the_layer(make_panel):
    panel = make_panel("param_access")
    target = next(m for m in panel.matches if m.name == "0.weight")
    before = target.tensor.detach().clone()
    values = preview_values("pytorch_default", {}, target)
    assert values.shape == (8, 4) and values.abs().max() <= 1 / math.sqrt(4)  # kaiming bound 1/sqrt(fan_in)
    assert torch.equal(target.tensor, before)
