"""eval.bootstrap: the vectorised sentence bootstrap against a slow, obvious reference built on eval.metrics (the
same counting core, summed one resample at a time)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from cluener.labels import LABELS
from eval.bootstrap import (
    METRIC_KEYS,
    intervals,
    metrics_ci_keys,
    point_f1,
    resample_weights,
    resampled_f1,
)
from eval.counting import Sentence, count_all
from eval.metrics import OFFICIAL, SPAN, score_official, score_spans

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

Entity = tuple  # (label, start, end)


def sentence_counts(gold_s, pred_s, gold_e, pred_e) -> dict[str, np.ndarray]:
    """The per-sentence counts of the official and span families (eval.counting)."""
    if not len(gold_s) == len(pred_s) == len(gold_e) == len(pred_e):
        raise ValueError("sentence_counts: gold and predictions differ in length")
    return count_all((OFFICIAL, SPAN), [Sentence(*x) for x in zip(gold_s, pred_s, gold_e, pred_e)])


def random_sentences(n: int, seed: int) -> tuple[list, list, list, list]:
    """Small random gold / predicted string sets and spans (a few types, overlaps on purpose)."""
    rng = random.Random(seed)
    labels = LABELS[:4]
    gold_s, pred_s, gold_e, pred_e = [], [], [], []
    for _ in range(n):
        g = {lb: {f"{lb}{rng.randint(0, 3)}" for _ in range(rng.randint(0, 2))} for lb in labels}
        p = {lb: {f"{lb}{rng.randint(0, 3)}" for _ in range(rng.randint(0, 2))} for lb in labels}
        ge = {(rng.choice(labels), s, s + rng.randint(1, 3)) for s in rng.sample(range(20), rng.randint(0, 3))}
        pe = {(rng.choice(labels), s, s + rng.randint(1, 3)) for s in rng.sample(range(20), rng.randint(0, 3))}
        pe |= set(rng.sample(sorted(ge), k=len(ge) // 2))  # some exact matches
        gold_s.append(g), pred_s.append(p), gold_e.append(ge), pred_e.append(pe)
    return gold_s, pred_s, gold_e, pred_e


def slow_reference(data, draws: np.ndarray) -> dict[str, list[float]]:
    """Score each resample with the real scorers on the drawn sentences (duplicates included), one at a time."""
    gold_s, pred_s, gold_e, pred_e = data
    out = {key: [] for key in METRIC_KEYS}
    for row in draws:
        official = score_official([gold_s[i] for i in row], [pred_s[i] for i in row])
        span = score_spans(
            [[_ent(e) for e in gold_e[i]] for i in row], [[_ent(e) for e in pred_e[i]] for i in row]
        )
        out["official.macro_f1"].append(official.macro_f1)
        out["official.micro_f1"].append(official.micro_f1)
        out["span.micro_f1"].append(span.micro_f1)
    return out


def _ent(e):
    from cluener.reader import Entity as E

    return E(*e)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_resample_matches_the_scorers_on_the_drawn_sentences(seed):
    data = random_sentences(9, seed)
    counts = sentence_counts(*data)
    resamples = 60
    draws = np.random.default_rng(seed).integers(0, 9, size=(resamples, 9))
    weights = resample_weights(9, resamples, seed)
    assert (weights == np.stack([np.bincount(row, minlength=9) for row in draws])).all()
    fast = resampled_f1(counts, weights)
    slow = slow_reference(data, draws)
    for key in METRIC_KEYS:
        np.testing.assert_allclose(fast[key], slow[key], rtol=0, atol=1e-12)


def test_interval_is_the_percentiles_of_the_reference_resamples():
    data = random_sentences(12, 5)
    draws = np.random.default_rng(7).integers(0, 12, size=(1000, 12))
    slow = slow_reference(data, draws)
    ci = intervals(sentence_counts(*data), resamples=1000, seed=7, digits=10)
    for key in METRIC_KEYS:
        want = np.percentile(slow[key], [2.5, 97.5])
        assert ci[key] == pytest.approx(list(want), abs=1e-9), key


def test_point_scores_equal_eval_metrics():
    data = random_sentences(15, 3)
    gold_s, pred_s, gold_e, pred_e = data
    point = point_f1(sentence_counts(*data))
    official = score_official(gold_s, pred_s)
    span = score_spans([[_ent(e) for e in g] for g in gold_e], [[_ent(e) for e in p] for p in pred_e])
    assert point["official.macro_f1"] == pytest.approx(official.macro_f1, abs=1e-12)
    assert point["official.micro_f1"] == pytest.approx(official.micro_f1, abs=1e-12)
    assert point["span.micro_f1"] == pytest.approx(span.micro_f1, abs=1e-12)


def test_fixed_seed_gives_the_same_interval_and_another_seed_another():
    counts = sentence_counts(*random_sentences(30, 11))
    assert intervals(counts) == intervals(counts)
    assert intervals(counts, seed=1) != intervals(counts, seed=2)


def test_interval_contains_the_point_and_a_perfect_run_has_no_width():
    data = random_sentences(40, 8)
    counts = sentence_counts(*data)
    ci, point = intervals(counts), point_f1(counts)
    for key in METRIC_KEYS:
        assert ci[key][0] <= point[key] <= ci[key][1]
    gold_s, _, gold_e, _ = data
    perfect = intervals(sentence_counts(gold_s, gold_s, gold_e, gold_e))
    assert perfect["official.micro_f1"] == [1.0, 1.0] and perfect["span.micro_f1"] == [1.0, 1.0]


def test_metrics_json_keys():
    keys = metrics_ci_keys({"official.macro_f1": [0.1, 0.2], "official.micro_f1": [0.3, 0.4], "span.micro_f1": [0, 1]})
    assert keys == {
        "official": {"macro_f1_ci95": [0.1, 0.2], "micro_f1_ci95": [0.3, 0.4]},
        "span": {"micro_f1_ci95": [0, 1]},
    }


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="no sentences"):
        resample_weights(0)
    counts = sentence_counts(*random_sentences(3, 0))
    with pytest.raises(ValueError, match="weights for 4 sentences, counts for 3"):
        resampled_f1(counts, resample_weights(4, 10))
