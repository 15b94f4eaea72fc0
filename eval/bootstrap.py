"""Sentence-level bootstrap: 95% intervals of a run's F1 and paired differences between two runs.

What an interval covers: *sentence sampling* -- how much the score would move on another draw of sentences like
these. It says nothing about training randomness (seeds, data order): that needs several training runs.

Method (percentile bootstrap, vectorised):

1. per sentence, per type, the true / false positive and false negative counts of both metrics
   (:func:`sentence_counts`: exactly what :mod:`eval.metrics` sums), an ``(n, 2, 3, 10)`` integer array;
2. ``B`` resamples of ``n`` sentence indices drawn with replacement (``numpy.random.default_rng(seed)``), held as
   an ``(B, n)`` matrix of how often each sentence was drawn (:func:`resample_weights`);
3. the counts of every resample at once: ``weights @ counts`` (one matrix product), then F1 per resample:
   official macro (mean of the 10 per-type F1), official micro and span micro (pooled counts);
4. the interval: the 2.5th and 97.5th percentiles of the ``B`` values.

The same weights serve two runs on the same sentences (a *paired* bootstrap, :mod:`eval.compare`). Defaults:
``B = 1000`` resamples (:data:`RESAMPLES`), seed 0 (:data:`SEED`): the same input always gives the same interval.

>>> import numpy as np
>>> counts = np.zeros((4, 2, 3, 10), dtype=np.int64)
>>> counts[:, :, 0, 0] = 1  # every sentence: one true positive of `address`, on both metrics
>>> f1 = resampled_f1(counts, resample_weights(4, 50, seed=1))
>>> sorted(f1), float(f1["official.micro_f1"].min()), float(f1["official.macro_f1"].max())
(['official.macro_f1', 'official.micro_f1', 'span.micro_f1'], 1.0, 0.1)
"""

from __future__ import annotations

import functools
from typing import Iterable, Mapping, Sequence

import numpy as np

from cluener.labels import LABELS

RESAMPLES = 1000
SEED = 0
LEVEL = 0.95
METRIC_KEYS = ("official.macro_f1", "official.micro_f1", "span.micro_f1")
CI_SUFFIX = "_ci95"
_INDEX = {label: i for i, label in enumerate(LABELS)}
OFFICIAL, SPAN = 0, 1  # axis 1 of the counts array
TP, FP, FN = 0, 1, 2  # axis 2


def sentence_counts(
    gold_strings: Sequence[Mapping[str, Iterable[str]]],
    pred_strings: Sequence[Mapping[str, Iterable[str]]],
    gold_spans: Sequence[Iterable[tuple]],
    pred_spans: Sequence[Iterable[tuple]],
) -> np.ndarray:
    """``(n, 2, 3, 10)`` int64: per sentence, metric (official, span), count (tp, fp, fn) and type (LABELS order).

    Official: per type, the sets of entity strings (unknown types ignored, as in :func:`eval.metrics.score_official`).
    Span: ``(label, start, end)`` tuples (a predicted span of an unknown type is ignored, as in ``score_spans``).
    """
    n = len(gold_strings)
    if not n == len(pred_strings) == len(gold_spans) == len(pred_spans):
        raise ValueError("sentence_counts: gold and predictions differ in length")
    out = np.zeros((n, 2, 3, len(LABELS)), dtype=np.int64)
    for i in range(n):
        g, p = gold_strings[i], pred_strings[i]
        for label in {*g, *p}:
            k = _INDEX.get(label)
            if k is None:  # an unknown type: not scored
                continue
            gs, ps = set(g.get(label, ())), set(p.get(label, ()))
            out[i, OFFICIAL, TP, k] = len(gs & ps)
            out[i, OFFICIAL, FP, k] = len(ps - gs)
            out[i, OFFICIAL, FN, k] = len(gs - ps)
        gs, ps = {tuple(e) for e in gold_spans[i]}, {tuple(e) for e in pred_spans[i]}
        for ent in gs & ps:
            out[i, SPAN, TP, _INDEX[ent[0]]] += 1
        for ent in ps - gs:
            if ent[0] in _INDEX:
                out[i, SPAN, FP, _INDEX[ent[0]]] += 1
        for ent in gs - ps:
            out[i, SPAN, FN, _INDEX[ent[0]]] += 1
    return out


def run_counts(run) -> np.ndarray:
    """:func:`sentence_counts` of a scored :class:`eval.scoring.Run` (what its ``official`` / ``span`` sum)."""
    return sentence_counts(
        [line.example.strings_by_label() for line in run.lines],
        [line.parse.entities for line in run.lines],
        [line.example.entities for line in run.lines],
        [line.entities for line in run.lines],
    )


@functools.lru_cache(maxsize=8)
def resample_weights(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """``(resamples, n)``: how many times each of ``n`` sentences is drawn in each resample (each row sums to n).
    Cached (read-only): every run on the same sentences is resampled the same way, which pairs them."""
    if n <= 0:
        raise ValueError("bootstrap: no sentences")
    if resamples < 1:
        raise ValueError(f"bootstrap: resamples must be >= 1, got {resamples}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    flat = draws + (np.arange(resamples) * n)[:, None]
    weights = np.bincount(flat.ravel(), minlength=resamples * n).reshape(resamples, n)
    weights.flags.writeable = False
    return weights


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 = 2tp / (2tp + fp + fn) (equal to 2PR / (P + R)); 0 where there is nothing (as eval.metrics does)."""
    den = 2 * tp + fp + fn
    return np.divide(2 * tp, den, out=np.zeros(np.broadcast(tp, den).shape, dtype=np.float64), where=tp > 0)


def resampled_f1(counts: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """The three metrics of every resample: ``{key: (resamples,) float64}`` for :data:`METRIC_KEYS`."""
    n = counts.shape[0]
    if weights.shape[1] != n:
        raise ValueError(f"bootstrap: weights for {weights.shape[1]} sentences, counts for {n}")
    totals = (weights.astype(np.float64) @ counts.reshape(n, -1).astype(np.float64)).reshape(-1, *counts.shape[1:])
    off, span = totals[:, OFFICIAL], totals[:, SPAN]  # (B, 3, 10)
    return {
        "official.macro_f1": _f1(off[:, TP], off[:, FP], off[:, FN]).mean(axis=1),
        "official.micro_f1": _f1(*(off[:, c].sum(axis=1) for c in (TP, FP, FN))),
        "span.micro_f1": _f1(*(span[:, c].sum(axis=1) for c in (TP, FP, FN))),
    }


def point_f1(counts: np.ndarray) -> dict[str, float]:
    """The three metrics on the sentences as they are (no resampling)."""
    return {k: float(v[0]) for k, v in resampled_f1(counts, np.ones((1, counts.shape[0]), dtype=np.int64)).items()}


def percentile_interval(values: np.ndarray, level: float = LEVEL) -> list[float]:
    """``[low, high]``: the central ``level`` share of ``values`` (linear interpolation between order statistics)."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return [float(low), float(high)]


def intervals(
    counts: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED, digits: int = 4
) -> dict[str, list[float]]:
    """``{"official.macro_f1": [low, high], ...}``: the 95% percentile-bootstrap interval of each metric."""
    f1 = resampled_f1(counts, resample_weights(counts.shape[0], resamples, seed))
    return {key: [round(v, digits) for v in percentile_interval(f1[key])] for key in METRIC_KEYS}


def metrics_ci_keys(ci: Mapping[str, list[float]]) -> dict[str, dict[str, list[float]]]:
    """``{"official": {"macro_f1_ci95": [...], "micro_f1_ci95": [...]}, "span": {"micro_f1_ci95": [...]}}``:
    where the intervals go in ``metrics.json``."""
    out: dict[str, dict[str, list[float]]] = {}
    for key, value in ci.items():
        section, field = key.split(".")
        out.setdefault(section, {})[field + CI_SUFFIX] = value
    return out


DESCRIPTION = {
    "resamples": RESAMPLES,
    "seed": SEED,
    "level": LEVEL,
    "method": "percentile bootstrap over sentences",
    "covers": "sentence sampling only, not training randomness (seeds)",
}


def run_intervals(run) -> dict[str, dict[str, list[float]]]:
    """The ``*_ci95`` keys of a scored :class:`eval.scoring.Run`, by metrics.json section (empty without gold)."""
    if not run.labelled or not run.lines:
        return {}
    return metrics_ci_keys(intervals(run_counts(run)))


def with_interval(value: float | None, ci: list[float] | None, digits: int = 4) -> str:
    """``0.8123 (0.8010–0.8231)``; the value alone without an interval; ``—`` without a value."""
    if value is None:
        return "—"
    if not ci:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ({ci[0]:.{digits}f}–{ci[1]:.{digits}f})"
