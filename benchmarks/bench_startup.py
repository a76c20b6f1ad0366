"""Start-up benchmark (issue: the desktop application).

Time from process start to the main window shown (exposed) on the MLP
example, against ``python -c "import torch, PySide6.QtWidgets"``, the floor
any NetStudio start pays.  Both run as fresh processes, interleaved, several
times; the medians and their ratio are printed.  Target: at most 1.3.

The app process does what ``netstudio PROJECT`` does (``create_window`` without
the parameter panels, then ``show``), waits until the window is exposed, and
exits at once.  A second figure adds the parameter panels, which ``run_app``
installs just after the window appears.  It runs on
the display in ``DISPLAY`` if there is one, else offscreen; it uses throwaway
settings and app data.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "resources" / "examples" / "mlp.netstudio"
RUNS = 7
TARGET = 1.3

APP = f"""
import os, sys
from PySide6.QtCore import QSettings
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[1])
from ui.shell.app import create_window
window = create_window({str(EXAMPLE)!r}, panels=False)
window.show()
from PySide6.QtTest import QTest
if not QTest.qWaitForWindowExposed(window, 10000):
    sys.exit(1)
if len(sys.argv) > 2:
    from ui.panels import install_panels
    install_panels(window)
    QTest.qWait(0)
os._exit(0)
"""
BASELINE = "import torch, PySide6.QtWidgets"


def timed(code: str, *args: str, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, NETSTUDIO_DATA_DIR=str(Path(scratch) / "data"))
        if not env.get("DISPLAY"):
            env["QT_QPA_PLATFORM"] = "offscreen"
        settings = str(Path(scratch) / "settings")
        timed(APP, settings, env=env)  # warm the file cache for both sides
        timed(BASELINE, env=env)
        app, full, base = [], [], []
        for _ in range(RUNS):
            app.append(timed(APP, settings, env=env))
            full.append(timed(APP, settings, "panels", env=env))
            base.append(timed(BASELINE, env=env))
    app_s, full_s, base_s = statistics.median(app), statistics.median(full), statistics.median(base)
    ratio = app_s / base_s
    print(f"platform: {env.get('QT_QPA_PLATFORM', 'default')}; medians of {RUNS} runs")
    print(f"window shown on mlp.netstudio:      {app_s * 1e3:8.1f} ms")
    print(f"  ... and the parameter panels in:  {full_s * 1e3:8.1f} ms (ratio {full_s / base_s:.2f})")
    print(f"import torch, PySide6.QtWidgets:    {base_s * 1e3:8.1f} ms")
    print(f"ratio: {ratio:.2f} (target <= {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
