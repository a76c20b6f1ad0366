"""The Runs view: the loss and learning-rate curves of a training run, its checkpoints one parameter at
a time, and how any two differ, followed live while ``netstudio train`` writes the run directory.

``panel`` follows the folder; ``metrics_tail`` and ``run_files`` read it; ``curves``,
``checkpoint_page`` and ``diff_page`` are its tabs, drawing with ``tensor_view``; ``jobs`` keeps file
reading off the GUI thread; ``train_process`` and ``train_dialog`` are Train….
"""

from .panel import RunsPanel, install

__all__ = ["RunsPanel", "install"]
