"""Following a live run: from a new checkpoint landing to its heatmap in the Runs view.

The Runs view is open (Checkpoints tab, slider at the newest) on a run
directory that already holds one checkpoint.  Each trial writes
``checkpoints/step-NNNNNN.safetensors`` as the trainer does (the whole file
under a temporary name in the same folder, then ``os.replace``), holding one
4096x4096 float32 weight whose element [0, 0] is a marker unique to the
trial.  Measured: from just after the ``os.replace`` until the heatmap shows
that marker and has been painted: the view's ``shown`` signal, then the
marker checked in the values on show and the plot painted (``grab()``),
while the application's event loop runs as it does in the app.  Between trials the view is left idle for a
random 0.3 to 1 s (so trials land at any point of a polling period) and
every background job is finished.  Target: at most 200 ms.
Run: python benchmarks/bench_live_checkpoint.py [TRIALS]
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from safetensors.torch import save  # noqa: E402

from ui.document.controller import DocumentController  # noqa: E402
from ui.panels.runs import RunsPanel  # noqa: E402

TARGET_MS = 200.0
SIDE = 4096
NAME = "0.weight"


def _quiet(mode, context, message) -> None:
    if "propagateSizeHints" not in message:  # the offscreen plugin says this on every show
        print(message, file=sys.stderr)


def _checkpoint_bytes(marker: float) -> bytes:
    weight = torch.randn(SIDE, SIDE) * 0.01
    weight[0, 0] = marker
    return save({NAME: weight})


def _land(folder: Path, step: int, data: bytes) -> float:
    """Write step ``step``'s weights atomically; the time just after the rename."""
    target = folder / f"step-{step:06d}.safetensors"
    temp = folder / f".{target.name}.netstudio-{random.getrandbits(32):08x}.tmp"
    with open(temp, "wb") as f:
        f.write(data)
    os.replace(temp, target)
    return time.perf_counter()


def _settle(app: QApplication, panel: RunsPanel) -> None:
    """Until no background job is left (a diff of the last two checkpoints, the change's picture)."""
    quiet = 0
    while quiet < 5:
        QTest.qWait(20)
        quiet = quiet + 1 if panel.jobs.idle() else 0


def main(trials: int) -> None:
    qInstallMessageHandler(_quiet)
    app = QApplication.instance() or QApplication([])
    torch.manual_seed(0)
    random.seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        folder = run / "checkpoints"
        folder.mkdir(parents=True)
        _land(folder, 1, _checkpoint_bytes(1.0))
        controller = DocumentController()
        panel = RunsPanel(controller)
        panel.resize(1000, 600)
        panel.show()
        panel.tabs.setCurrentWidget(panel.checkpoints)
        assert panel.open_run(run)
        view = panel.checkpoints.view
        deadline = time.perf_counter() + 30
        while (view.displayed() is None or view.displayed()[0, 0] != 1.0) and time.perf_counter() < deadline:
            QTest.qWait(10)
        assert view.displayed() is not None, view.message()
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, Qt platform {app.platformName()}, "
              f"one {SIDE}x{SIDE} float32 weight per checkpoint ({SIDE * SIDE * 4 >> 20} MB)")

        latencies = []
        for trial in range(trials):
            step = trial + 2
            marker = float(step + 1)
            data = _checkpoint_bytes(marker)
            _settle(app, panel)
            QTest.qWait(random.randint(300, 1000))
            loop, shown_at = QEventLoop(), []

            def on_shown(marker=marker, loop=loop, shown_at=shown_at) -> None:
                values = view.displayed()
                if values is not None and values[0, 0] == marker and not shown_at:
                    view.drawing.widget.grab()   # painted, not only handed to the plot
                    shown_at.append(time.perf_counter())
                    loop.quit()

            view.shown.connect(on_shown)
            QTimer.singleShot(10_000, loop.quit)
            landed = _land(folder, step, data)
            loop.exec()
            view.shown.disconnect(on_shown)
            if not shown_at:
                raise SystemExit(f"step {step} was not shown within 10 s: {view.message()!r}")
            latencies.append((shown_at[0] - landed) * 1e3)
        _settle(app, panel)
        panel.close()
        median, worst = statistics.median(latencies), max(latencies)
        print("trials (ms): " + " ".join(f"{ms:.0f}" for ms in latencies))
        print(f"new checkpoint to heatmap: median {median:.0f} ms, max {worst:.0f} ms over {trials} trials "
              f"(target <= {TARGET_MS:.0f} ms) {'OK' if worst <= TARGET_MS else 'OVER'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
