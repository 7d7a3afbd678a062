"""Published bounds the synthetic generator keeps to (model.within_bound), on hand-built data."""

from __future__ import annotations

import numpy as np

from pipeline.synthetic.model import BoundTarget, within_bound


def _bound(share: float, below: bool, n: int) -> BoundTarget:
    return BoundTarget("reviewing_safety", np.ones(n, dtype=bool), share, below)


def test_below_half_turns_the_least_likely_yes_answers_to_no() -> None:
    yes = np.array([True, True, True, True, False, False])  # 4 of 6: not below half
    p = np.array([0.9, 0.2, 0.6, 0.1, 0.5, 0.5])
    out = within_bound(yes, p, np.ones(6, dtype=bool), _bound(0.5, True, 6))
    # below half of 6 is at most 2 yes: the two least likely (p 0.1 and 0.2) become no
    assert out.tolist() == [True, False, True, False, False, False]
    assert yes.sum() == 4  # the input is not changed


def test_above_half_turns_the_likeliest_no_answers_to_yes() -> None:
    yes = np.array([True, False, False, False])
    p = np.array([0.5, 0.3, 0.8, 0.4])
    out = within_bound(yes, p, np.ones(4, dtype=bool), _bound(0.5, False, 4))
    assert out.tolist() == [True, False, True, True]  # 3 of 4: over half


def test_a_sample_already_within_the_bound_is_left_alone() -> None:
    yes = np.array([True, False, False, True, False])
    p = np.full(5, 0.5)
    group = np.array([True, True, True, True, False])
    out = within_bound(yes, p, group, _bound(0.6, True, 5))
    assert out.tolist() == yes.tolist()
    assert within_bound(yes, p, np.zeros(5, dtype=bool), _bound(0.1, True, 5)).tolist() == [
        True, False, False, True, False,
    ]  # fmt: skip
