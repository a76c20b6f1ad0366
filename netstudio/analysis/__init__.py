"""Checking a project: structural diagnostics and allocation-free shape inference."""

from .check import CheckResult, check, reachable_definitions
from .diagnostics import ERROR, WARNING, Diagnostic
from .shapes import NodeInfo

__all__ = ["CheckResult", "Diagnostic", "ERROR", "NodeInfo", "WARNING", "check", "reachable_definitions"]
