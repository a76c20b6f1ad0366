"""The device selector: the devices with their memory, moving the network on a
worker thread, and a failed move explained in one sentence."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

from netstudio import devices
from netstudio import session as session_module
from netstudio.devices import DeviceInfo
from netstudio.graph import Document
from netstudio.serialization import load_project
from ui.document.controller import DocumentController
from ui.panels import device_selector
from ui.panels.device_selector import DeviceSelector, device_label

CPU = DeviceInfo("cpu", "cpu", "CPU")
META = DeviceInfo("meta", "meta", "PyTorch meta device (shapes only)")


@pytest.fixture
def controller(examples_dir):
    controller = DocumentController(Document(load_project(examples_dir / "param_access.netstudio")))
    controller.session.run_forward()
    yield controller
    controller.close()


@pytest.fixture
def make_selector(qtbot, controller):
    reported: list[str] = []

    def make() -> DeviceSelector:
        selector = DeviceSelector(controller, report_error=lambda parent, message: reported.append(message))
        selector.reported = reported
        qtbot.addWidget(selector)
        selector.show()
        qtbot.waitExposed(selector)
        return selector

    return make


def pick(qtbot, selector: DeviceSelector, name: str) -> None:
    """Choose ``name`` with the keyboard, as a person would (the combo emits ``activated``)."""
    combo = selector.combo
    target = combo.findData(name)
    assert target >= 0, name
    combo.setFocus()
    key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    while combo.currentIndex() != target:
        qtbot.keyClick(combo, key)


def devices_of(controller) -> set[str]:
    module = controller.session.ensure_built()
    return {str(t.device) for t in [*module.parameters(), *module.buffers()]} | {str(controller.session.input.device)}


def test_labels_show_names_and_memory():
    assert device_label(CPU) == "cpu"
    gpu = DeviceInfo("cuda:0", "cuda", "NVIDIA H100 80GB HBM3", 80 * 2**30)
    assert device_label(gpu) == "cuda:0 — NVIDIA H100 80GB HBM3 (80 GB)"
    assert device_label(DeviceInfo("mps", "mps", "Apple GPU (MPS)")) == "mps — Apple GPU (MPS)"


def test_lists_this_machines_devices_with_the_networks_selected(make_selector):
    selector = make_selector()
    names = [selector.combo.itemData(i) for i in range(selector.combo.count())]
    assert names == [d.name for d in devices.list_devices()]
    assert selector.combo.currentText() == "cpu" and selector.objectName() == "deviceSelector"


@pytest.fixture
def meta_device(monkeypatch):
    """Lists PyTorch's ``meta`` device (shapes, no data) and lets the session move there: a device other
    than the CPU that every machine has, so a move really moves each tensor, with or without a GPU."""
    real = devices.resolve_device

    def resolve(device):
        return torch.device("meta") if str(device) == "meta" else real(device)
    monkeypatch.setattr(devices, "list_devices", lambda: [CPU, META])
    monkeypatch.setattr(devices, "resolve_device", resolve)
    monkeypatch.setattr(session_module, "resolve_device", resolve)


def test_switching_device_moves_every_tensor_and_the_next_run_uses_them(qtbot, meta_device, controller,
                                                                        make_selector):
    session = controller.session
    module = session.ensure_built()
    shapes = {name: t.shape for name, t in [*module.named_parameters(), *module.named_buffers()]}
    output_shape = session.output.shape
    assert devices_of(controller) == {"cpu"} and session.output.device.type == "cpu"
    selector = make_selector()
    changed = []
    session.events.device_changed.connect(changed.append)
    with qtbot.waitSignal(selector.runner.finished, timeout=20000) as moved:
        pick(qtbot, selector, "meta")
    assert moved.args[2] is None and selector.reported == []
    assert str(session.device) == "meta" and changed == ["meta"]
    # The network was moved in place (not rebuilt), every parameter, buffer and the sample input with it.
    assert session.ensure_built() is module and devices_of(controller) == {"meta"}
    assert {name: t.shape for name, t in [*module.named_parameters(), *module.named_buffers()]} == shapes
    assert session.output is None      # the last output belonged to the CPU network
    assert selector.combo.currentText() == device_label(META)
    assert selector.combo.isEnabled() and not selector.busy.isVisible() and not selector.runner.busy
    # The next run runs there: PyTorch refuses to mix devices, so one tensor left behind would fail it.
    seen = []
    module.register_forward_pre_hook(lambda m, args: seen.append(
        {str(t.device) for t in [*args, *m.parameters(), *m.buffers()] if isinstance(t, torch.Tensor)}))
    out = session.run_forward()
    assert out.device.type == "meta" and out.shape == output_shape and seen == [{"meta"}]


def test_a_failed_move_is_explained_in_one_sentence_and_the_combo_goes_back(qtbot, monkeypatch, controller,
                                                                             make_selector):
    monkeypatch.setattr(devices, "list_devices",
                        lambda: [CPU, DeviceInfo("cuda:7", "cuda", "Imaginary GPU", 16 * 2**30)])
    selector = make_selector()
    pick(qtbot, selector, "cuda:7")
    qtbot.waitUntil(lambda: not selector.runner.busy and bool(selector.reported), timeout=20000)
    (message,) = selector.reported
    assert message.startswith("Device 'cuda:7' is not available") and message.endswith(".")
    assert "\n" not in message and "Traceback" not in message
    assert selector.combo.currentText() == "cpu" and str(controller.session.device) == "cpu"
    assert devices_of(controller) == {"cpu"}


def test_the_combo_follows_moves_made_elsewhere(qtbot, monkeypatch, controller, make_selector):
    monkeypatch.setattr(devices, "list_devices", lambda: [CPU, DeviceInfo("cuda:0", "cuda", "Pretend GPU")])
    controller.session.device = torch.device("cuda:0")
    selector = make_selector()
    assert selector.combo.currentText() == "cuda:0 — Pretend GPU"   # opens on the network's device
    controller.session.move_to("cpu")
    assert selector.combo.currentData() == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_moving_to_a_real_gpu_and_back(qtbot, controller, make_selector):
    values = {name: t.clone() for name, t in controller.session.ensure_built().state_dict().items()}
    selector = make_selector()
    pick(qtbot, selector, "cuda:0")
    qtbot.waitUntil(lambda: not selector.runner.busy, timeout=60000)
    assert devices_of(controller) == {"cuda:0"} and selector.reported == []
    assert controller.session.run_forward().device.type == "cuda"
    pick(qtbot, selector, "cpu")
    qtbot.waitUntil(lambda: not selector.runner.busy, timeout=60000)
    assert devices_of(controller) == {"cpu"}
    back = controller.session.ensure_built().state_dict()
    assert back.keys() == values.keys() and all(torch.equal(back[name], t) for name, t in values.items())


def test_install_adds_a_device_toolbar(make_window):
    window = make_window(panels=False)
    action = device_selector.install(window)
    toolbar = window.findChild(QToolBar, "deviceToolBar")
    assert toolbar is not None and action in toolbar.actions()
    selector = toolbar.widgetForAction(action)
    assert isinstance(selector, DeviceSelector) and selector.controller is window.controller
