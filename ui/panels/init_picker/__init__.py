"""The initializer picker: the seed's examples (``presets``), the scheme (``scheme_box``), the scope
(``scope_box``) and what it would draw (``preview_box``, ``preview_values``), composed by ``panel``."""

from .panel import InitPickerPanel, install

__all__ = ["InitPickerPanel", "install"]
