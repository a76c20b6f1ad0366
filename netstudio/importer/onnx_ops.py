"""The table of ONNX operators NetStudio imports: op type → the function that converts one node.

An operator is found only by looking its type up here (never by ``getattr`` on
a name from the file), and only in the standard domain; everything else is
refused before anything is built, all such operators named in one sentence.
"""

from __future__ import annotations

from typing import Callable

from .errors import ImportFailed
from .onnx_elementwise import ELEMENTWISE
from ..graph.names import display_name
from .onnx_file import Node
from .onnx_layers import FUSED, LAYERS
from .onnx_patterns import FusedNode
from .onnx_shapes import SHAPES

STANDARD_DOMAINS = ("", "ai.onnx")
OPS: dict[str, Callable] = {**LAYERS, **ELEMENTWISE, **SHAPES}
MAX_LISTED = 12


def converter(node: Node) -> Callable | None:
    """The function converting ``node``, or None when NetStudio cannot import it."""
    if isinstance(node, FusedNode):
        return FUSED.get(node.op_type)
    if node.domain not in STANDARD_DOMAINS:
        return None
    return OPS.get(node.op_type)


def check_supported(nodes: list[Node]) -> None:
    """Raises ImportFailed naming every operator (up to a dozen) without a converter."""
    missing = sorted({node.op_type if node.domain in STANDARD_DOMAINS else f"{node.domain}:{node.op_type}"
                      for node in nodes if converter(node) is None})
    if missing:
        listed = ", ".join(display_name(name, 40) for name in missing[:MAX_LISTED])
        more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
        raise ImportFailed(f"The ONNX file uses operator{'s' if len(missing) > 1 else ''} NetStudio cannot "
                           f"import: {listed}{more}.")
