"""The Shared Parameters panel: ties (``tie_list``), one tensor under several names
(``alias_editor``) and gradients split by use (``use_gradients``), composed by ``panel``."""

from .panel import SharedLinksPanel, install

__all__ = ["SharedLinksPanel", "install"]
