"""``check``: every diagnostic of a project plus the shapes on every edge, in one pass."""

from __future__ import annotations

from ..catalog.code_loader import describe_exception
from ..graph.names import display_name
from ..graph.project import Project
from .diagnostics import ERROR, Diagnostic
from .incremental import Checker
from .result import CheckResult
from .shapes import ShapeInference  # noqa: F401 - where tests reach the pass to break it
from .structure import DefinitionChecker  # noqa: F401 - likewise

__all__ = ["CheckResult", "check", "reachable_definitions"]


def reachable_definitions(project: Project) -> set[str]:
    """Definitions used, directly or through containers, by the root."""
    return project.reachable_from(project.root)


def check(project: Project, memory_budget: int | None = None) -> CheckResult:
    """Check structure, then infer shapes, then the network's size against ``memory_budget``
    (bytes; by default :func:`netstudio.limits.memory_budget`).  Never raises: a bug in a rule
    becomes a diagnostic too, so a hostile file can at worst be reported invalid."""
    try:
        return Checker().check(project, memory_budget)
    except Exception as err:
        root = project.root if isinstance(project.root, str) else "main"
        return CheckResult([Diagnostic(ERROR, f"the project could not be checked: {describe_exception(err)}",
                                       root, where=display_name(root))])
