"""Compiling a project to PyTorch modules with generated forward code."""

from .build import compile_project
from .graph_module import BlockModule

__all__ = ["BlockModule", "compile_project"]
