"""``python -m ui.screenshots [FOLDER]``: PNGs of the window on a few examples, for the README.

Run it under a display (``make screenshots`` uses Xvfb).  It uses throwaway
settings and app data, so it neither reads nor changes the user's.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

SIZE = (1600, 960)


def _settle(app, window) -> None:
    """Let checks, debounced panel refreshes and repaints finish before the grab."""
    from PySide6.QtTest import QTest
    for _ in range(5):
        window.controller.wait_for_check()
        QTest.qWait(60)


def _break_mlp(window) -> None:
    """Make the second Linear expect the wrong width, and select it: an error to show."""
    from ..document.commands import SetParam
    doc = window.controller.document
    second = [n for n in doc.project.root_definition.nodes.values() if n.type == "Linear"][1]
    window.controller.push(SetParam(doc, "main", second.id, "in_features", 128))
    window.canvas.select_nodes([second.id])


def _select_tied(window) -> None:
    doc = window.controller.document
    tied = next(n for n in doc.project.root_definition.nodes.values() if n.tied_to)
    window.canvas.select_nodes([tied.id])


from PySide6.QtCore import Qt  # noqa: E402  (Qt is needed only by the shots below)


def _show_docks(window, *names: str) -> None:
    for name in names:
        window.docks[name].show()
        window.docks[name].raise_()


def _inspect_weight(window) -> None:
    """In Inspect, run once (the lazy layers materialize), then pick 0.weight in the tree: the heatmap shows it."""
    window.perspectives.switch("inspect")
    window.controller.session.run_forward()
    panel = window.docks["parameterTreeDock"].widget()
    panel.select_names(["0.weight"])


def _train(window) -> None:
    """In Train, 60 steps with the run panel's worker: the loss curve beside the heatmap of 0.weight."""
    from PySide6.QtWidgets import QApplication
    window.perspectives.switch("train")
    window.controller.session.run_forward()
    window.docks["parameterTreeDock"].widget().select_names(["0.weight"])
    run = window.docks["runPanelDock"].widget()
    run.steps_spin.setValue(60)
    run.lr_spin.setValue(0.05)
    run.train()
    run.wait(60000)
    for _ in range(20):
        QApplication.processEvents()


def _tied_gradients(window) -> None:
    """Per-use gradients of the shared layer, with the explanation, beside the shared weight's heatmap."""
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QScrollArea
    links = window.docks["sharedLinksDock"].widget()
    window.controller.session.run_forward()
    links.compute_gradients()
    for _ in range(100):
        QTest.qWait(50)
        if links.grad_table.rowCount():
            break
    _select_tied(window)
    window.docks["parameterTreeDock"].widget().select_names(["2.weight"])
    _show_docks(window, "sharedLinksDock", "heatmapDock")
    window.resizeDocks([window.docks["properties"], window.docks["sharedLinksDock"]], [120, 560],
                       Qt.Orientation.Vertical)
    QTest.qWait(50)
    scroll = links.findChild(QScrollArea)
    if scroll is not None:
        scroll.ensureWidgetVisible(links.why)


def _import_resnet(window) -> None:
    """File > Import PyTorch Model... on torchvision's ResNet-18: its stages and blocks, with its weights."""
    from . import import_dialog, prompts
    from .import_dialog import ImportChoice
    import_dialog.ask_import = lambda parent, folder: ImportChoice("torchvision.models:resnet18", ((1, 3, 64, 64),),
                                                                   "float32")
    prompts.inform = lambda *args: None
    window.files.import_model()
    window.canvas.fit()


def _import_googlenet(window) -> None:
    """torchvision's GoogLeNet: its nine Inception uses share one definition with arguments; step into one."""
    from . import import_dialog, prompts
    from .import_dialog import ImportChoice
    import_dialog.ask_import = lambda parent, folder: ImportChoice("torchvision.models:googlenet",
                                                                   ((1, 3, 64, 64),), "float32")
    prompts.inform = lambda *args: None
    window.files.import_model()
    project = window.controller.document.project
    inception = next(d for d in project.definitions.values() if d.class_name == "Inception")
    window.canvas.open_definition(project.first_instance_path(inception.name))
    window.canvas.fit()


def _import_resnet50_expanded(window) -> None:
    """torchvision's ResNet-50 (about 170 layers): its second stage expanded in place, and the first
    bottleneck inside it too, zoomed out."""
    from . import import_dialog, prompts
    from .import_dialog import ImportChoice
    import_dialog.ask_import = lambda parent, folder: ImportChoice("torchvision.models:resnet50", ((1, 3, 64, 64),),
                                                                   "float32")
    prompts.inform = lambda *args: None
    window.files.import_model()
    _settle(None, window)
    scene = window.canvas.scene
    stage = next(i for i, item in scene.nodes.items() if item.look.title == "layer2")
    scene.set_expanded([stage])
    first = next(i for i, item in scene.nodes[stage].inside.nodes.items() if item.look.expandable)
    scene.expansion.expanded.add((stage, first))
    scene.expansion.dirty.add(stage)
    scene.expansion.after_edit()
    frame = scene.nodes[stage].sceneBoundingRect()
    view = window.canvas.view
    view.set_zoom(0.27)    # zoomed out (the sketch), names still readable
    view.centerOn(frame.center())


def _big_graph(window) -> None:
    """A 2,000-block network, zoomed out to fit: the sketch with readable names, the minimap, Find."""
    from netstudio.graph import Document, Project
    from netstudio.graph.layout import layered_positions

    doc = Document(Project(name="big", definitions={}))
    doc.add_definition("main", kind="graph", class_name="Net")
    d = doc.definition("main")
    doc.set_param("main", d.inputs[0].id, "shape", [8, 64])
    for e in list(d.edges):
        doc.disconnect("main", e)
    prev = d.inputs[0].id
    for i in range(1000):
        node = doc.add_node("main", "Linear", f"fc{i}", {"in_features": 64, "out_features": 64})
        doc.connect("main", prev, "out", node.id, "in")
        act = doc.add_node("main", "ReLU" if i % 3 else "GELU", f"act{i}")
        doc.connect("main", node.id, "out", act.id, "in")
        prev = act.id
    doc.connect("main", prev, "out", d.outputs[0].id, "in")
    for node_id, xy in layered_positions(d).items():
        d.nodes[node_id].position = xy
    window.controller.document.replace(doc.project)
    _settle(None, window)
    view = window.canvas.view
    view.set_zoom(0.22)   # zoomed out: the sketch, with names at a readable size
    view.centerOn(view.scene().itemsBoundingRect().center())
    window.canvas.actions["find"].trigger()
    window.canvas.find_bar.field.setText("fc5")   # typed, not yet jumped to: the view stays zoomed out


def _runs(window) -> None:
    """A short ``netstudio train`` run of the MLP, opened in the Runs view of the Train perspective."""
    import torch
    from safetensors.torch import save_file

    from netstudio.cli import main as engine_main

    from .examples import EXAMPLES_DIR
    folder = Path(tempfile.mkdtemp(prefix="netstudio-run-"))
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(512, 20, generator=generator)
    y = torch.sin(3 * x[:, :10]) + 0.1 * torch.randn(512, 10, generator=generator)
    save_file({"x": x, "y": y}, str(folder / "data.safetensors"))
    engine_main(["train", str(EXAMPLES_DIR / "mlp.netstudio"), "--data", str(folder / "data.safetensors"),
                 "--run-dir", str(folder / "run"), "--steps", "300", "--batch-size", "32", "--lr", "0.05",
                 "--save-every", "50"])
    window.perspectives.switch("train")
    dock = window.docks["runsDock"]
    dock.show()
    dock.raise_()
    dock.widget().open_run(folder / "run")


def capture(folder: Path) -> list[Path]:
    from PySide6.QtCore import QSettings

    from . import prompts
    from .app import create_window, ensure_app
    from .examples import EXAMPLES_DIR

    scratch = Path(tempfile.mkdtemp(prefix="netstudio-shots-"))
    os.environ["NETSTUDIO_DATA_DIR"] = str(scratch / "data")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings"))
    app = ensure_app()
    untrusted = scratch / "centered.netstudio"
    shutil.copy(EXAMPLES_DIR / "centered.netstudio", untrusted)
    prompts.ask_trust = lambda parent, names: False
    shots = [("mlp", EXAMPLES_DIR / "mlp.netstudio", None),
             ("chimera", EXAMPLES_DIR / "chimera.netstudio", None),
             ("tied", EXAMPLES_DIR / "tied.netstudio", _select_tied),
             ("shape-error", EXAMPLES_DIR / "mlp.netstudio", _break_mlp),
             ("untrusted-code", untrusted, None),
             ("parameters-heatmap", EXAMPLES_DIR / "param_access.netstudio", _inspect_weight),
             ("training", EXAMPLES_DIR / "mlp.netstudio", _train),
             ("tied-gradients", EXAMPLES_DIR / "tied.netstudio", _tied_gradients)]
    shots.append(("big-graph", EXAMPLES_DIR / "mlp.netstudio", _big_graph))
    if importlib.util.find_spec("torchvision") is not None:
        shots.append(("imported-resnet18", EXAMPLES_DIR / "mlp.netstudio", _import_resnet))
        shots.append(("imported-googlenet-inception", EXAMPLES_DIR / "mlp.netstudio", _import_googlenet))
        shots.append(("imported-resnet50-expanded", EXAMPLES_DIR / "mlp.netstudio", _import_resnet50_expanded))
    shots.append(("runs", EXAMPLES_DIR / "mlp.netstudio", _runs))   # last: it leaves the Train perspective on
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    try:
        for name, project, prepare in shots:
            window = create_window(project)
            window.resize(*SIZE)
            window.show()
            window.perspectives.switch("build")   # each shot starts where a new user starts; some switch
            window.perspectives.reset()
            _settle(app, window)
            window.canvas.fit()
            if prepare is not None:
                prepare(window)
            _settle(app, window)
            path = folder / f"{name}.png"
            window.grab().save(str(path))
            saved.append(path)
            window.controller.mark_saved()
            window.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return saved


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "docs/screenshots")
    for path in capture(folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
