"""The device selector: the devices with their memory, moving the network on a
worker thread, and a failed move explained in one sentence."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

from netstudio import devices
from netstudio.devices import DeviceInfo
from netstudio.graph import Document
from netstudio.serialization import load_project
from ui.document.controller import DocumentController
from ui.panels import device_selector
from ui.panels.device_selector import DeviceSelector, device_label

CPU = DeviceInfo("cpu", "cpu", "CPU")


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


def test_switching_to_cpu_moves_the_network_there(qtbot, monkeypatch, controller, make_selector):
    fake_gpu = DeviceInfo("cuda:0", "cuda", "Pretend GPU", 8 * 2**30)
    monkeypatch.setattr(devices, "list_devices", lambda: [CPU, fake_gpu])
    controller.session.device = torch.device("cuda:0")  # as if the network had been moved to a GPU
    selector = make_selector()
    assert selector.combo.currentText() == "cuda:0 — Pretend GPU (8 GB)"
    changed = []
    controller.session.events.device_changed.connect(changed.append)
    pick(qtbot, selector, "cpu")
    qtbot.waitUntil(lambda: not selector.runner.busy, timeout=20000)
    assert str(controller.session.device) == "cpu" and changed == ["cpu"]
    assert devices_of(controller) == {"cpu"}
    assert selector.combo.currentText() == "cpu" and selector.combo.isEnabled() and not selector.busy.isVisible()
    assert selector.reported == []
    controller.session.run_forward()  # it still runs


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
    controller.session.move_to("cpu")
    assert selector.combo.currentData() == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_moving_to_a_real_gpu_and_back(qtbot, controller, make_selector):
    selector = make_selector()
    pick(qtbot, selector, "cuda:0")
    qtbot.waitUntil(lambda: not selector.runner.busy, timeout=60000)
    assert devices_of(controller) == {"cuda:0"} and selector.reported == []
    assert controller.session.run_forward().device.type == "cuda"
    pick(qtbot, selector, "cpu")
    qtbot.waitUntil(lambda: not selector.runner.busy, timeout=60000)
    assert devices_of(controller) == {"cpu"}


def test_install_adds_a_device_toolbar(make_window):
    window = make_window(panels=False)
    action = device_selector.install(window)
    toolbar = window.findChild(QToolBar, "deviceToolBar")
    assert toolbar is not None and action in toolbar.actions()
    selector = toolbar.widgetForAction(action)
    assert isinstance(selector, DeviceSelector) and selector.controller is window.controller
