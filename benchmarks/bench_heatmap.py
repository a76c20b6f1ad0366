"""From click to picture: the heatmap panel showing a 4096x4096 float32 weight.

Measured: ``controller.tensor_selected.emit(ref)`` until the image is set and
the panel has painted once (``panel.grab()`` paints it synchronously on any
platform plugin).  Two kinds of reference: a live network parameter (the
panel copies it under ``session.lock`` first, so training cannot change it
under the picture) and a checkpoint tensor (already private, no copy).
Statistics are computed in a worker thread after the picture; their time is
reported separately.

Baseline, measured interleaved in the same run: ``heatmap_view`` alone on the
same tensor (the engine's reduction to 1024x1024, the least any picture needs).
Target: click to picture <= 100 ms.
Run: python benchmarks/bench_heatmap.py   (uses the offscreen plugin when there is no display)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402
from PySide6.QtCore import qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from netstudio.tensors.view2d import heatmap_view  # noqa: E402
from ui.document.controller import DocumentController  # noqa: E402
from ui.panels.heatmap import HeatmapPanel  # noqa: E402
from ui.panels.tensor_ref import TensorRef  # noqa: E402

TARGET_MS = 100.0
REPEATS = 11


def _quiet(mode, context, message) -> None:
    if "propagateSizeHints" not in message:  # the offscreen plugin says this on every show
        print(message, file=sys.stderr)


def main() -> None:
    qInstallMessageHandler(_quiet)
    app = QApplication.instance() or QApplication([])
    torch.manual_seed(0)
    weight = torch.randn(4096, 4096)
    weight[1000, 3000] = 9.0
    controller = DocumentController()
    panel = HeatmapPanel(controller)
    panel.resize(1000, 600)
    panel.show()
    app.processEvents()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, Qt platform "
          f"{app.platformName()}, tensor 4096x4096 float32")

    def click(source: str) -> float:
        panel.controller.tensor_selected.emit(None)
        panel.wait_for_stats()
        app.processEvents()
        start = time.perf_counter()
        panel.controller.tensor_selected.emit(TensorRef(f"w{source}", source, value=lambda: weight))
        panel.grab()
        elapsed = time.perf_counter() - start
        assert panel.displayed().shape == (1024, 1024) and panel.displayed()[250, 750] == 9.0
        return elapsed

    def stats_time() -> float:
        start = time.perf_counter()
        panel.controller.tensor_selected.emit(TensorRef("w", "network", value=lambda: weight))
        panel.wait_for_stats(30_000)
        assert "max: 9" in panel.stats_text()
        return time.perf_counter() - start

    def baseline() -> float:
        panel.wait_for_stats()  # no worker left running from the previous click
        app.processEvents()
        start = time.perf_counter()
        heatmap_view(weight)
        return time.perf_counter() - start

    for _ in range(2):  # warm-up
        click("network"), click("file.safetensors"), baseline()
    live, file, base = [], [], []
    for _ in range(REPEATS):  # interleaved, so machine noise hits every row alike
        base.append(baseline())
        live.append(click("network"))
        file.append(click("file.safetensors"))
    b = statistics.median(base) * 1e3
    rows = [("baseline: heatmap_view alone", b),
            ("click -> picture, network parameter", statistics.median(live) * 1e3),
            ("click -> picture, checkpoint tensor", statistics.median(file) * 1e3)]
    for name, value in rows:
        print(f"{name:38s} {value:7.1f} ms   {value / b:5.2f}x baseline")
    stats_ms = statistics.median(stats_time() for _ in range(3)) * 1e3
    print(f"{'click -> statistics shown (worker)':38s} {stats_ms:7.1f} ms")
    worst = max(rows[1][1], rows[2][1])
    verdict = "meets" if worst <= TARGET_MS else "MISSES"
    print(f"click to picture {worst:.1f} ms {verdict} the {TARGET_MS:.0f} ms target")
    panel.close()
    panel.deleteLater()
    controller.close()
    app.processEvents()


if __name__ == "__main__":
    main()
