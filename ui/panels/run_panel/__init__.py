"""The run panel: the input (``input_box``), Forward and Backward (``run_box``), training
(``train_box``) and what runs gave (``results``), composed and run by ``panel``."""

from .panel import RunPanel, install

__all__ = ["RunPanel", "install"]
