"""Canvas performance on a 1,000-block chain (Linear/ReLU alternating).

Targets (the canvas issue):
  (a) an edit -> badges and shape labels updated within 100 ms
      (push a SetParam, the check runs in the controller's worker thread,
      the scene applies the new CheckResult)
  (b) one full repaint of the whole graph (fit all) <= 16 ms

Run under a display (Xvfb is fine):
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/bench_canvas.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QCoreApplication, QElapsedTimer, Qt  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

N_BLOCKS = 1000
EDIT_TARGET_MS = 100.0
REPAINT_TARGET_MS = 16.0


def build_document():
    from netstudio.graph import Document
    doc = Document()
    d = doc.project.root_definition
    for e in list(d.edges):
        doc.disconnect(d.name, e)
    inp, out = d.inputs[0], d.outputs[0]
    prev = inp.id
    with doc.batch():
        for i in range(N_BLOCKS):
            linear = i % 2 == 0
            node = doc.add_node(d.name, "Linear" if linear else "ReLU", params={"out_features": 20} if linear else {},
                                position=((i + 1) * 230.0, 0.0))
            doc.connect(d.name, prev, "out", node.id, "in")
            prev = node.id
        doc.move(d.name, out.id, ((N_BLOCKS + 1) * 230.0, 0.0))
        doc.connect(d.name, prev, "out", out.id, "in")
    return doc


def wait_for(flag: list, timeout_s: float = 5.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not flag and time.perf_counter() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.0005)
    if not flag:
        raise RuntimeError("the scene never applied the new check result")


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    from ui.canvas import CanvasWidget
    from ui.document.commands import SetParam
    from ui.document.controller import DocumentController

    t = time.perf_counter()
    doc = build_document()
    controller = DocumentController(doc)
    controller.wait_for_check()
    t_doc = time.perf_counter() - t

    t = time.perf_counter()
    canvas = CanvasWidget(controller)
    t_build = time.perf_counter() - t
    canvas.resize(1600, 900)
    canvas.show()
    for _ in range(5):
        app.processEvents()
    controller.wait_for_check()
    scene = canvas.scene
    assert len(scene.nodes) == N_BLOCKS + 2 and len(scene.edges) == N_BLOCKS + 1

    # (a) edit -> check in the worker thread -> scene updated.
    applied: list[int] = []
    scene.check_applied.connect(lambda: applied.append(1))
    middle = [n for n in doc.project.root_definition.nodes.values() if n.type == "Linear"][N_BLOCKS // 4]
    edit_ms, apply_ms, shown_ms = [], [], []
    original_apply = scene.apply_result

    def timed_apply(result, emit=True):
        t0 = time.perf_counter()
        original_apply(result, emit)
        apply_ms.append((time.perf_counter() - t0) * 1000)
    scene.apply_result = timed_apply
    for i in range(20):
        applied.clear()
        value = 21 + i % 2       # changes every shape downstream: ~750 labels and counts
        t0 = time.perf_counter()
        controller.push(SetParam(doc, "main", middle.id, "out_features", value))
        wait_for(applied)
        edit_ms.append((time.perf_counter() - t0) * 1000)
        canvas.view.viewport().repaint()           # and on screen
        shown_ms.append((time.perf_counter() - t0) * 1000)
        label = scene.edges[next(e for e in doc.project.root_definition.edges.values() if e.src == middle.id).id]
        assert label.label_text == f"(2, {value})", label.label_text
    scene.apply_result = original_apply

    # (b) full repaint with the whole graph in view.
    view = canvas.view
    canvas.fit()
    app.processEvents()
    viewport = view.viewport()
    repaint_ms = []
    timer = QElapsedTimer()
    for _ in range(30):
        timer.start()
        viewport.repaint()
        repaint_ms.append(timer.nsecsElapsed() / 1e6)
    render_ms = []
    image = QImage(viewport.size(), QImage.Format.Format_ARGB32_Premultiplied)
    for _ in range(10):
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        timer.start()
        view.render(painter)
        render_ms.append(timer.nsecsElapsed() / 1e6)
        painter.end()
    # A working zoom: 100 %, about 7 blocks in view.
    view.set_zoom(1.0)
    view.centerOn(scene.nodes[middle.id])
    app.processEvents()
    work_ms = []
    for _ in range(30):
        timer.start()
        viewport.repaint()
        work_ms.append(timer.nsecsElapsed() / 1e6)

    def row(name: str, values: list[float], target: float | None = None) -> None:
        med, worst = statistics.median(values), max(values)
        ratio = f"   median/target = {med / target:.2f}" if target else ""
        print(f"  {name:<44} median {med:8.2f} ms   max {worst:8.2f} ms{ratio}")

    print(f"NetStudio canvas benchmark: a chain of {N_BLOCKS} blocks "
          f"({len(scene.nodes)} node items, {len(scene.edges)} edges), Qt platform {app.platformName()}")
    print(f"  build document + first check                 {t_doc * 1000:8.1f} ms")
    print(f"  build the canvas (all items)                 {t_build * 1000:8.1f} ms")
    row("(a) edit -> badges/labels updated", edit_ms, EDIT_TARGET_MS)
    row("    of which: applying the CheckResult", apply_ms)
    row("    edit -> updated and repainted", shown_ms, EDIT_TARGET_MS)
    print(f"      (slowest edit: #{edit_ms.index(max(edit_ms)) + 1} of {len(edit_ms)})")
    row("(b) full repaint, fit all (viewport.repaint)", repaint_ms, REPAINT_TARGET_MS)
    row("    render the fit-all view into a QImage", render_ms, REPAINT_TARGET_MS)
    row("    repaint at 100 % zoom", work_ms, REPAINT_TARGET_MS)
    ok = statistics.median(edit_ms) <= EDIT_TARGET_MS and statistics.median(repaint_ms) <= REPAINT_TARGET_MS
    print("targets met" if ok else "TARGETS MISSED")
    controller.undo_stack.clear()
    canvas.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
