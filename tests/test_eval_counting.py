"""eval.counting, the one counting core: counts as the metrics define them, one formula for a point and a resample
(bit-equal), weighted sums equal to repeating sentences."""

from __future__ import annotations

import functools
import operator
import random

import numpy as np
import pytest

from cluener.labels import LABELS
from eval.counting import FN, FP, TP, exact_match_counts, prf, summed, type_mean

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def test_exact_match_counts_sets_and_unknown_types():
    gold = [[("name", 0, 2), ("name", 0, 2), ("address", 3, 5)]]  # a repeated item counts once
    pred = [[("name", 0, 2), ("address", 3, 4), ("weather", 6, 8)]]  # an unknown type is not counted
    counts = exact_match_counts(gold, pred)[0]
    name, address = LABELS.index("name"), LABELS.index("address")
    assert counts[:, name].tolist() == [1, 0, 0] and counts[:, address].tolist() == [0, 1, 1]
    assert counts.sum() == 3
    with pytest.raises(ValueError, match="2 predictions for 1 gold sentences"):
        exact_match_counts(gold, pred * 2)


def python_prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """The textbook scalar formulas, in Python floats."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def test_one_formula_is_bit_equal_to_python_scalars_and_across_shapes():
    rng = random.Random(0)
    counts = np.array([[rng.randint(0, 50) for _ in range(3)] for _ in range(2000)], dtype=np.int64)
    p, r, f1 = prf(counts[:, 0], counts[:, 1], counts[:, 2])
    as_float = prf(*(counts.astype(np.float64).T))  # resamples are float sums of integer counts
    for i, (tp, fp, fn) in enumerate(counts.tolist()):
        assert (float(p[i]), float(r[i]), float(f1[i])) == python_prf(tp, fp, fn)
        assert (as_float[0][i], as_float[1][i], as_float[2][i]) == (p[i], r[i], f1[i])
    values = np.array([[rng.random() for _ in LABELS] for _ in range(50)])
    # left to right, as Python <= 3.11's sum(); 3.12's sum() of floats is compensated (Neumaier), so it is not the
    # reference: the same metrics.json on every Python
    assert all(float(type_mean(v)) == functools.reduce(operator.add, v.tolist()) / len(LABELS) for v in values)
    assert (type_mean(values) == np.array([type_mean(v) for v in values])).all()


def test_weighted_sums_equal_repeated_sentences():
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 4, size=(6, 3, len(LABELS)))
    weights = np.array([[2, 0, 1, 0, 3, 0], [1, 1, 1, 1, 1, 1]])
    repeated = [np.repeat(counts, row, axis=0).sum(axis=0) for row in weights]
    assert (summed(counts, weights) == np.stack(repeated)).all()
    assert (summed(counts) == counts.sum(axis=0)).all()
    assert summed(counts, weights)[:, TP].shape == (2, len(LABELS)) and FP == 1 and FN == 2
    with pytest.raises(ValueError, match="weights for 5 sentences, counts for 6"):
        summed(counts, np.ones((1, 5)))
