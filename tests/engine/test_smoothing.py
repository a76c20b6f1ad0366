"""The loss curve's smoothing: a debiased moving average that a NaN step does not break."""

import math

import pytest

from netstudio.run.smoothing import smoothed


def test_no_weight_is_no_smoothing_and_a_constant_stays_constant():
    assert smoothed([3.0, 1.0, 2.0], 0.0) == [3.0, 1.0, 2.0]
    assert smoothed([5.0] * 4, 0.9) == pytest.approx([5.0] * 4)   # debiased: not pulled towards zero


def test_values_follow_the_debiased_average():
    out = smoothed([10.0, 0.0], 0.5)
    assert out == pytest.approx([10.0, (0.5 * 5.0) / 0.75])


def test_a_nan_step_is_kept_and_skipped():
    out = smoothed([1.0, math.nan, 1.0], 0.5)
    assert out[0] == 1.0 and math.isnan(out[1]) and out[2] == pytest.approx(1.0)


@pytest.mark.parametrize("weight", [-0.1, 1.0])
def test_a_weight_outside_zero_to_one_is_refused(weight):
    with pytest.raises(ValueError):
        smoothed([1.0], weight)
