"""The losses ``--loss`` names: shared with the Run panel's dataset training, so they live in
:mod:`netstudio.run.losses` (below this package); the names stay importable from here."""

from __future__ import annotations

from netstudio.run.losses import LOSSES, Loss, check_target, loss_function

__all__ = ["LOSSES", "Loss", "check_target", "loss_function"]
