"""The engine never imports Qt, pyqtgraph or the UI package; layers import only downwards;
no module imports itself through others."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ENGINE = Path(__file__).resolve().parents[2] / "netstudio"
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "qtawesome", "ui")


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_engine_module_imports_qt_or_ui():
    offenders = {str(p.relative_to(ENGINE.parent)): sorted(imported_names(p) & set(FORBIDDEN))
                 for p in ENGINE.rglob("*.py") if imported_names(p) & set(FORBIDDEN)}
    assert offenders == {}


def test_importing_the_whole_engine_loads_no_qt():
    modules = sorted(".".join(p.relative_to(ENGINE.parent).with_suffix("").parts).removesuffix(".__init__")
                     for p in ENGINE.rglob("*.py"))
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_import_linter_contract():
    out = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                          "lint_imports_command()"], capture_output=True, text=True, timeout=300,
                         cwd=ENGINE.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BROKEN" not in out.stdout and ", 0 broken." in out.stdout, out.stdout


@pytest.mark.parametrize("package", ["netstudio", "ui"])
def test_no_module_imports_itself_through_others(package):
    """No import circles (imports only for type checkers excluded): each module can be read,
    tested and replaced starting from the bottom."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    assert strongly_connected(graph) == []


def strongly_connected(graph) -> list[list[str]]:
    """The groups of modules that import each other in a circle (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in graph.modules), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    circles.append(sorted(group))
    return circles
