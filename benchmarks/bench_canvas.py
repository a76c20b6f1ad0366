"""Canvas performance on chains of 1,000 and 10,000 blocks (Linear/ReLU alternating).

Targets (issue 11, "10,000 blocks stay interactive"), on 10k blocks:
  (a) an edit -> badges and shape labels updated within 100 ms
      (push a SetParam, the incremental check runs in the controller's worker
      thread, the scene applies the new CheckResult and repaints); a full check
      of the whole project is printed beside it for scale
  (b) one full repaint of the whole graph (fit all) <= 16 ms
  (c) panning and zooming at 60 fps (one step + repaint <= 16 ms)
and from 1k to 10k: the canvas's part of (a), and (b), grow at most 3x, opening (the scene build) at most
12x (the whole of (a) also holds the incremental check's passes over the edited definition).
The two sizes' samples are interleaved, so a busy machine slows both alike.

Run under a display (Xvfb is fine):
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/bench_canvas.py
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QPointF  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

SIZES = (1000, 10000)
EDIT_TARGET_MS = 100.0
FRAME_TARGET_MS = 16.0
GROWTH_LIMITS = {"open": 12.0, "feedback": 3.0, "fit": 3.0}


def build_document(n_blocks: int):
    """A chain laid out in rows of 50, as auto layout would place a long network; the ReLU after
    the middle is a Block (``Inner``: Input, 6 Linear/ReLU, Output), to expand in place."""
    from netstudio.graph import Document
    doc = Document()
    d = doc.project.root_definition
    for e in list(d.edges):
        doc.disconnect(d.name, e)
    inp, out = d.inputs[0], d.outputs[0]
    prev, prev_port = inp.id, "out"
    with doc.batch():
        inner = doc.add_definition("Inner")
        chain = [inner.inputs[0].id]
        for k in range(6):
            chain.append(doc.add_node("Inner", "Linear" if k % 2 == 0 else "ReLU",
                                      params={"out_features": 20} if k % 2 == 0 else {},
                                      position=((k + 1) * 230.0, 0.0)).id)
        doc.move("Inner", inner.outputs[0].id, (7 * 230.0, 0.0))
        chain.append(inner.outputs[0].id)
        for a, b in zip(chain, chain[1:]):
            doc.connect("Inner", a, "out", b, "in")
        for i in range(n_blocks):
            linear = i % 2 == 0
            row, col = divmod(i + 1, 50)
            kind, params = ("Linear", {"out_features": 20}) if linear else ("ReLU", {})
            if i == n_blocks // 2 + 1:
                kind, params = "Block", {"definition": "Inner"}
            node = doc.add_node(d.name, kind, params=params, position=(col * 230.0, row * 160.0))
            block = kind == "Block"
            doc.connect(d.name, prev, prev_port, node.id, inner.inputs[0].name if block else "in")
            prev, prev_port = node.id, inner.outputs[0].name if block else "out"
        row, col = divmod(n_blocks + 1, 50)
        doc.move(d.name, out.id, (col * 230.0, row * 160.0))
        doc.connect(d.name, prev, "out", out.id, "in")
    return doc


def wait_for(flag: list, timeout_s: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not flag and time.perf_counter() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.0005)
    if not flag:
        raise RuntimeError("the scene never applied the new check result")


class Bench:
    """One size: its document, controller and canvas, and one sample of each figure at a time,
    so that the sizes' samples can be interleaved (a busy machine then slows both alike)."""

    def __init__(self, app, n_blocks: int):
        from ui.document.controller import DocumentController
        self.app, self.n = app, n_blocks
        self.doc = build_document(n_blocks)
        self.controller = DocumentController(self.doc)
        self.controller.wait_for_check()
        self.canvas = None
        self.value = 20

    def open(self) -> float:
        """Build the scene of the whole definition (what opening a project costs the canvas)."""
        from ui.canvas import CanvasWidget
        if self.canvas is not None:
            self.canvas.close()
            self.canvas.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            self.canvas = None
            gc.collect()       # the old canvas's items go now, not during the timed build
        t = time.perf_counter()
        self.canvas = CanvasWidget(self.controller)
        ms = (time.perf_counter() - t) * 1000
        self.canvas.resize(1600, 900)
        self.canvas.show()
        for _ in range(5):
            self.app.processEvents()
        scene = self.canvas.scene
        assert len(scene.nodes) == self.n + 2 and len(scene.edges) == self.n + 1
        self.middle = [n for n in self.doc.project.root_definition.nodes.values() if n.type == "Linear"][self.n // 4]
        self.out_edge = next(e for e in self.doc.project.root_definition.edges.values() if e.src == self.middle.id)
        return ms

    def fit(self) -> None:
        self.canvas.fit()
        self.app.processEvents()

    def edit(self) -> tuple[float, float, float]:
        """Edit -> labels updated and repainted; the canvas's part (applying the result and
        repainting); of which applying; in ms, with the whole graph in view."""
        from ui.document.commands import SetParam
        scene, applied, apply_ms = self.canvas.scene, [], []
        original = scene.apply_result

        def timed_apply(result, emit=True):
            t0 = time.perf_counter()
            original(result, emit)
            apply_ms.append((time.perf_counter() - t0) * 1000)
            applied.append(1)
        scene.apply_result = timed_apply
        self.value = 41 - self.value       # 21, 20, 21...: changes the shapes after the middle block
        t0 = time.perf_counter()
        self.controller.push(SetParam(self.doc, "main", self.middle.id, "out_features", self.value))
        wait_for(applied)
        t1 = time.perf_counter()
        self.canvas.view.viewport().repaint()
        t2 = time.perf_counter()
        scene.apply_result = original
        assert scene.edges[self.out_edge.id].label_text == f"(2, {self.value})"
        return (t2 - t0) * 1000, apply_ms[-1] + (t2 - t1) * 1000, apply_ms[-1]

    def check(self) -> float:
        from netstudio.analysis import check
        t0 = time.perf_counter()
        check(self.doc.project.copy())
        return (time.perf_counter() - t0) * 1000

    def repaint(self) -> float:
        timer = QElapsedTimer()
        timer.start()
        self.canvas.view.viewport().repaint()
        return timer.nsecsElapsed() / 1e6

    def at_zoom(self, zoom: float) -> None:
        """Zoom there and let the items out of view take the level too (``LevelOfDetail``)."""
        view = self.canvas.view
        view.set_zoom(zoom)
        view.centerOn(self.canvas.scene.nodes[self.middle.id])
        self.app.processEvents()
        self.canvas.scene.lod.finish()

    def pan(self, i: int) -> float:
        """One step of a drag: the view scrolls what it shows and paints the strip uncovered."""
        timer = QElapsedTimer()
        timer.start()
        self.canvas.view.pan_by(QPointF(40 if i % 2 else -40, 25))
        QCoreApplication.processEvents()
        return timer.nsecsElapsed() / 1e6

    def zoom(self, i: int) -> float:
        timer = QElapsedTimer()
        timer.start()
        self.canvas.view.zoom_by(1.1 if i % 2 else 1 / 1.1)
        self.canvas.view.viewport().repaint()
        return timer.nsecsElapsed() / 1e6

    def cross(self, i: int) -> float:
        """A zoom step across the sketch's threshold: items give way to the sketch, or back (the items
        in view at once; the others, out of view, a chunk per turn of the event loop: ``chunk``)."""
        timer = QElapsedTimer()
        timer.start()
        self.canvas.view.set_zoom(0.45 if i % 2 == 0 else 0.55)
        self.canvas.view.viewport().repaint()
        ms = timer.nsecsElapsed() / 1e6
        self.canvas.scene.lod.finish()
        return ms

    def chunk(self, i: int) -> float:
        """The largest turn of the event loop while the items out of view take a new level."""
        from ui.canvas.level_of_detail import LevelOfDetail
        lod = self.canvas.scene.lod
        self.canvas.view.set_zoom(0.45 if i % 2 == 0 else 0.55)
        longest = 0.0
        while lod.pending:
            start = time.perf_counter()
            LevelOfDetail._step(lod)
            longest = max(longest, (time.perf_counter() - start) * 1000)
        return longest

    def expand(self, i: int) -> float:
        """Expand the Block in place (its insides built, every block after it moved aside) or
        collapse it, and repaint."""
        scene = self.canvas.scene
        block = next(i for i, n in self.doc.project.root_definition.nodes.items() if n.type == "Block")
        t0 = time.perf_counter()
        scene.set_expanded([block], i % 2 == 0)
        self.canvas.view.viewport().repaint()
        return (time.perf_counter() - t0) * 1000

    def close(self) -> None:
        self.controller.undo_stack.clear()
        self.canvas.close()
        self.controller.close()


def measure(app) -> dict[int, dict[str, float]]:
    benches = [Bench(app, n) for n in SIZES]
    samples: dict[int, dict[str, list[float]]] = {n: defaultdict(list) for n in SIZES}

    def sample(key: str, repeats: int, take) -> None:
        for i in range(repeats):
            for bench in benches:
                samples[bench.n][key].append(take(bench, i))

    sample("open", 5, lambda b, i: b.open())
    for b in benches:
        b.fit()
    for i in range(12):
        for b in benches:
            total, canvas_part, applying = b.edit()
            samples[b.n]["edit"].append(total)
            samples[b.n]["feedback"].append(canvas_part)
            samples[b.n]["apply"].append(applying)
    sample("check", 3, lambda b, i: b.check())
    sample("fit", 20, lambda b, i: b.repaint())
    for b in benches:
        b.at_zoom(0.6)
    sample("pan", 20, lambda b, i: b.pan(i))
    sample("zoom", 20, lambda b, i: b.zoom(i))
    sample("cross", 6, lambda b, i: b.cross(i))
    sample("chunk", 4, lambda b, i: b.chunk(i))
    sample("expand", 6, lambda b, i: b.expand(i))
    for b in benches:
        b.at_zoom(0.12)
    sample("far", 20, lambda b, i: b.zoom(i))
    for b in benches:
        b.close()
    app.processEvents()
    return {n: {key: statistics.median(values) for key, values in samples[n].items()} for n in SIZES}


ROWS = (("open", "open: build the scene (all items)", None),
        ("edit", "(a) edit -> badges/labels updated, repainted", EDIT_TARGET_MS),
        ("check", "    a full check, for scale (not in (a))", None),
        ("feedback", "    the canvas's part: apply + repaint", None),
        ("apply", "      of which applying the CheckResult", None),
        ("fit", "(b) full repaint, fit all", FRAME_TARGET_MS),
        ("pan", "(c) pan step (scroll + paint), 60 % zoom", FRAME_TARGET_MS),
        ("zoom", "    zoom step + repaint, 60 % zoom", FRAME_TARGET_MS),
        ("far", "    zoom step + repaint, 12 % zoom", FRAME_TARGET_MS),
        ("cross", "    zoom step 55 % <-> 45 % (items <-> sketch)", FRAME_TARGET_MS),
        ("chunk", "      then the longest turn for items out of view", FRAME_TARGET_MS),
        ("expand", "expand a block in place / collapse, repaint", None))


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    warm = Bench(app, 100)   # imports, icons and fonts load once, not charged to the first size
    warm.open()
    warm.close()
    results = measure(app)
    small, big = (results[n] for n in SIZES)
    print(f"NetStudio canvas benchmark: chains of {SIZES[0]:,} and {SIZES[1]:,} blocks, "
          f"Qt platform {app.platformName()} (medians)")
    print(f"  {'':<46}{SIZES[0]:>10,}{SIZES[1]:>10,}   ratio   target (10k)")
    ok = True
    for key, name, target in ROWS:
        ratio = big[key] / small[key] if small[key] else float("inf")
        limit = GROWTH_LIMITS.get(key)
        met = (target is None or big[key] <= target) and (limit is None or ratio <= limit)
        ok = ok and met
        goal = " ".join(s for s in (f"<= {target:.0f} ms" if target else "", f"ratio <= {limit:.0f}x" if limit else "")
                        if s)
        flag = "" if not goal else ("  ok" if met else "  MISSED")
        print(f"  {name:<46}{small[key]:8.1f}ms{big[key]:8.1f}ms {ratio:6.2f}x   {goal}{flag}")
    print("targets met" if ok else "TARGETS MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
