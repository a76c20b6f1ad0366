"""The heatmap panel: one tensor as a picture, with its histogram and statistics.

``panel`` decides when to take frames and shows them; ``image`` draws a view
with pyqtgraph; ``stats`` is the side pane; ``colormaps`` its colours.  What a
frame shows is the engine's (``netstudio.tensors.heatmap_frames``).
"""

from .panel import HeatmapPanel, install

__all__ = ["HeatmapPanel", "install"]
