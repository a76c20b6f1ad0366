"""Running a network: sample inputs, objectives, synthetic tasks and short training runs."""

from netstudio.run.cancel import CancelToken
from netstudio.run.inputs import load_one_tensor, make_input
from netstudio.run.objectives import Objective, backward, forward
from netstudio.run.synthetic import SyntheticTask, make_classification, make_regression
from netstudio.run.training import TrainResult, train

__all__ = [
    "CancelToken",
    "Objective",
    "SyntheticTask",
    "TrainResult",
    "backward",
    "forward",
    "load_one_tensor",
    "make_classification",
    "make_input",
    "make_regression",
    "train",
]
