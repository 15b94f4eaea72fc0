"""benchmarks/predict_lengths.py: the arithmetic of `make bench-predict` (gold lengths, buckets, projections)."""

from __future__ import annotations


import pytest


import benchmarks.predict_lengths as pl

pytestmark = pytest.mark.light


def test_gold_length_ends_at_the_first_stop_token():
    assert pl.gold_length([5, 6, 151645, 198], [151645]) == 3
    assert pl.gold_length([5, 151643, 6, 151645], [151645, 151643]) == 2
    assert pl.gold_length([5, 6], [151645]) == 2  # no stop token: every token


def test_buckets_cover_every_sentence_once_sorted_by_length():
    lengths = [9, 3, 3, 17, 12, 5, 8, 30, 1]
    groups = pl.buckets(lengths, 4)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    assert [len(g) for g in groups] == [3, 2, 2, 2]
    flat = [lengths[i] for g in groups for i in g]
    assert flat == sorted(lengths)
    assert pl.buckets(lengths, 50) == [[i] for i in sorted(range(9), key=lambda i: (lengths[i], i))]
    # overshoot: tokens beyond gold when each row runs to its bucket's longest
    assert pl.overshoot(lengths, groups) == [(3 - 1) + 0 + 0, 8 - 5, 12 - 9, 30 - 17]


def test_fit_is_non_negative_and_exact_on_a_line():
    assert pl.fit_batch_seconds([(10, 3.0), (30, 7.0)]) == (1.0, 0.2)
    a, c = pl.fit_batch_seconds([(10, 1.0), (20, 4.0)])  # the line would cross below zero: through the origin
    assert a == 0.0 and c == pytest.approx((10 * 1 + 20 * 4) / (100 + 400), abs=1e-6)
    assert pl.fit_batch_seconds([(10, 5.0), (20, 3.0)]) == (4.0, 0.0)  # falling time: a flat cost per batch
    assert pl.fit_batch_seconds([(12, 6.0)]) == (0.0, 0.5)
    with pytest.raises(ValueError):
        pl.fit_batch_seconds([])


def test_dataset_order_batches_run_to_their_longest_answer():
    # batches [4, 30] and [2, 2]: 30 and 2 steps; a sorted order would pair the two long ones instead
    assert pl.project_dataset_order([4, 30, 2, 2], 2, 1.0, 0.5) == pytest.approx(2 + 0.5 * 32)
    assert pl.project_dataset_order([4, 2, 30, 2], 2, 1.0, 0.5) == pytest.approx(2 + 0.5 * 34)
    assert pl.batches(1343, 32) == 42
