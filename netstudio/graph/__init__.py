"""The graph model: projects, definitions, nodes, edges, and the evented document."""

from .definition import Definition
from .document import Document, EditError, RemovedNode, new_project
from .edge import Edge
from .node import Node
from .project import FORMAT, VERSION, Project

__all__ = ["Definition", "Document", "Edge", "EditError", "FORMAT", "Node", "Project", "RemovedNode",
           "VERSION", "new_project"]
