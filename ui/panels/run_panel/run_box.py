"""The run panel's "Run" group: Forward and Backward, the mode they run in, and the objective.

Forward and Backward run in eval mode unless the person picks train mode
(``session.run_forward(mode=...)``); a failure is said right under the buttons.
"""

from __future__ import annotations

import torch

from netstudio.errors import RunError
from netstudio.run import Objective, load_one_tensor

from ..form_pieces import FormGroup, button_row, error_label, keyed_combo, named_button
from .input_box import Browse, file_row

OBJECTIVES = (("sum", "sum(output)"), ("mean", "mean(output)"), ("mse_zeros", "MSE against zeros"),
              ("mse_file", "MSE against a target file…"))
RUN_MODES = (("eval", "eval (inspect)"), ("train", "train"))


def make_objective(kind: str, output_shape: torch.Size | None = None, path: str | None = None) -> Objective:
    """The objective for an OBJECTIVES key (MSE against zeros of ``output_shape``, or the tensor at ``path``)."""
    if kind in ("sum", "mean"):
        return Objective(kind)
    if kind == "mse_zeros":
        return Objective("mse", torch.zeros(output_shape or ()))
    if not path:
        raise RunError("Choose a file holding the target tensor for the MSE objective.")
    return Objective("mse", load_one_tensor(path))


class RunBox(FormGroup):
    """Forward and Backward with their error line, the mode, the objective and its target file."""

    def __init__(self, browse: Browse):
        super().__init__("Run")
        self.forward_button = named_button("mdi6.play", "Forward", "forwardButton", tooltip="Run the network on "
                                           "the input and show its output (net(X)).")
        self.backward_button = named_button("mdi6.arrow-left-bold-outline", "Backward", "backwardButton",
                                            tooltip="Forward, then back-propagate the objective into every "
                                                    "parameter's .grad.")
        self.objective_combo = keyed_combo("objectiveCombo", OBJECTIVES)
        self.form.addRow(button_row(self.forward_button, self.backward_button))
        self.run_error = error_label("runError")
        self.form.addRow(self.run_error)
        self.mode_combo = keyed_combo("modeCombo", RUN_MODES)
        self.mode_combo.setToolTip("Eval mode (for inspecting): Dropout off, BatchNorm uses its running "
                                   "statistics, nothing changes. Train mode: as during training.")
        self.form.addRow("Mode", self.mode_combo)
        self.form.addRow("Objective", self.objective_combo)
        self.target_file_row, self.target_path = file_row(self, self.objective_combo, "mse_file", "targetPath",
                                                          "a file holding the target tensor", browse, "Target tensor")

    @property
    def mode(self) -> str:
        """The mode Forward and Backward run in: "eval" (the default) or "train"."""
        return self.mode_combo.currentData()

    def objective_label(self, kind: str) -> str:
        """How the objective chosen now is written (``kind`` when it is not one of the list's)."""
        return dict(OBJECTIVES).get(self.objective_combo.currentData(), kind)
