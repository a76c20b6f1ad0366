"""Opening a big project in the whole app (issue 11: big graphs stay interactive).

Time from ``create_window`` on a saved N-block project (a Linear/ReLU chain,
as ``bench_engine`` builds it) to its first check result shown, with every
panel docked, for 1,000 and 10,000 blocks, each in a fresh process.  The
split says where it went, in the app's order: the window with the project
loaded and shown, each panel's ``install`` as ``install_panels`` runs them
(the app docks them just after the window appears), then the first check
result reaching the canvas, status bar, problems and panels.  Targets: 10k / 1k at most
12 (work grows with the graph, not faster), and 10k at most 3 s.

A network above ``SYNC_REBUILD_LIMIT`` blocks is built on a worker thread, not in the window's time:
until then the parameter panel says "Building the network…".  The last line, not in the total, says
when its rows were there (the same moment as the total for a network built on the GUI thread).

The project is saved laid out, as the app saves every project; ``--piled`` saves it with every
block at one place instead, so that opening it includes the automatic layout (on a worker thread
above 500 blocks).

A size that does not finish within ``--limit`` seconds is reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import chain_project  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RATIO_TARGET, SECONDS_TARGET = 12.0, 3.0

CHILD = """
import json, os, sys, time
from PySide6.QtCore import QSettings
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[2])
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from ui.shell.app import create_window, ensure_app
import ui.panels
from ui.panels import (checkpoint_inspector, device_selector, heatmap, import_weights, init_picker,  # noqa
                       param_tree, run_panel, shared_links)
ensure_app()
times = {}
for module in (param_tree, heatmap, init_picker, shared_links, run_panel, checkpoint_inspector,
               device_selector, import_weights):
    def timed(window, install=module.install, name=module.__name__.rpartition(".")[2]):
        start = time.perf_counter()
        dock = install(window)
        times["panel " + name] = time.perf_counter() - start
        return dock
    module.install = timed
start = time.perf_counter()
window = create_window(sys.argv[1], panels=False)
window.show()
QTest.qWaitForWindowExposed(window, 60000)
times["window: project loaded and shown"] = time.perf_counter() - start
ui.panels.install_panels(window)
before = time.perf_counter()
window.controller.wait_for_check(600000)
QApplication.processEvents()
times["first check result shown (all views)"] = time.perf_counter() - before
times["total"] = time.perf_counter() - start
assert window.controller.result is not None
from PySide6.QtCore import QEventLoop, QTimer
from ui.panels.param_tree import ParamTreePanel
panel = window.findChild(ParamTreePanel)
loop, poll = QEventLoop(), QTimer(interval=5)   # the app's event loop: QTest.qWait holds the GIL as it sleeps
poll.timeout.connect(lambda: (panel.model.tree is not None or time.perf_counter() - start > 600) and loop.quit())
poll.start()
loop.exec()
assert panel.model.tree is not None
times["parameter rows shown (not in the total)"] = time.perf_counter() - start
print(json.dumps(times))
window.controller.mark_saved()
os._exit(0)
"""


def open_once(path: Path, scratch: str, limit: float) -> dict[str, float] | None:
    """The child's timings, or None when it ran past ``limit`` seconds."""
    env = dict(os.environ, NETSTUDIO_DATA_DIR=str(Path(scratch) / "data"))
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(Path(scratch) / "settings")], cwd=ROOT,
                              env=env, check=True, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--limit", type=float, default=240.0, help="seconds before a size counts as not finishing")
    parser.add_argument("--piled", action="store_true", help="save the blocks all at one place (opening lays them out)")
    args = parser.parse_args()
    from netstudio.graph.layout import layered_positions
    from netstudio.serialization import save_project
    results: dict[int, dict[str, float] | None] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for n in args.sizes:
            path = Path(scratch) / f"chain{n}.netstudio"
            project = chain_project(n, "graph")
            if not args.piled:
                d = project.root_definition
                for node_id, xy in layered_positions(d).items():
                    d.nodes[node_id].position = xy
            save_project(project, path)
            results[n] = open_once(path, scratch, args.limit)
    print(f"Opening an N-block project{' (piled up: laid out on opening)' if args.piled else ''} in the app, "
          f"to the first check result shown (platform {os.environ.get('QT_QPA_PLATFORM', 'default')})")
    parts = next((list(r) for r in results.values() if r), [])
    print("  " + " " * 40 + "".join(f"{n:>12,d}" for n in args.sizes))
    for part in parts:
        late = f"{'>' + str(int(args.limit)) + ' s':>12}" if part == "total" else f"{'-':>12}"
        cells = "".join(f"{r[part] * 1e3:9.0f} ms" if r else late for r in results.values())
        print(f"  {part:<40}{cells}")
    small, big = results.get(min(args.sizes)), results.get(max(args.sizes))
    if len(args.sizes) > 1 and small and big:
        ratio = big["total"] / small["total"]
        print(f"  ratio {max(args.sizes):,} / {min(args.sizes):,}: {ratio:.1f} (target <= {RATIO_TARGET:g}); "
              f"{max(args.sizes):,} blocks in {big['total']:.2f} s (target <= {SECONDS_TARGET:g} s)")
    elif big is None:
        print(f"  {max(args.sizes):,} blocks did not open within {args.limit:g} s (target <= {SECONDS_TARGET:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
