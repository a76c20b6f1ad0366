"""The node editor: one definition of the document on a QGraphicsScene.

``CanvasWidget`` is the public face (breadcrumb bar + view + actions); the
scene follows the document's events, gestures push undo commands.
"""

from .canvas_widget import CanvasWidget
from .scene import CanvasScene
from .view import CanvasView

__all__ = ["CanvasScene", "CanvasView", "CanvasWidget"]
