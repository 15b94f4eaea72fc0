"""Sentence-level bootstrap: 95% intervals of a run's F1 and paired differences between two runs.

What an interval covers: *sentence sampling* -- how much the score would move on another draw of sentences like
these. It says nothing about training randomness (seeds, data order): that needs several training runs.

Method (percentile bootstrap, vectorised):

1. per sentence, the counts of each metric family (:mod:`eval.counting`, the one counting core: the counts a point
   score sums), ``{section: (n, ...) integers}``;
2. ``B`` resamples of ``n`` sentence indices drawn with replacement (``numpy.random.default_rng(seed)``), held as
   an ``(B, n)`` matrix of how often each sentence was drawn (:func:`resample_weights`);
3. the counts of every resample at once: ``weights @ counts`` (one matrix product per family), then each headline
   score (:data:`eval.metrics.HEADLINE`) by its family's own formula, the one a point score uses;
4. the interval: the 2.5th and 97.5th percentiles of the ``B`` values.

The same weights serve two runs on the same sentences (a *paired* bootstrap, :mod:`eval.compare`). Defaults:
``B = 1000`` resamples (:data:`RESAMPLES`), seed 0 (:data:`SEED`): the same input always gives the same interval.

>>> import numpy as np
>>> counts = {"official": np.zeros((4, 3, 10), dtype=np.int64), "span": np.zeros((4, 3, 10), dtype=np.int64)}
>>> for c in counts.values():
...     c[:, 0, 0] = 1  # every sentence: one true positive of `address`, on both metrics
>>> f1 = resampled_f1(counts, resample_weights(4, 50, seed=1))
>>> sorted(f1), float(f1["official.micro_f1"].min()), float(f1["official.macro_f1"].max())
(['official.macro_f1', 'official.micro_f1', 'span.micro_f1'], 1.0, 0.1)
"""

from __future__ import annotations

import functools
from typing import Mapping

import numpy as np

from .counting import summed
from .metrics import FAMILY, HEADLINE

RESAMPLES = 1000
SEED = 0
LEVEL = 0.95
METRIC_KEYS = tuple(score.key for score in HEADLINE)  # the scores an interval and a paired test are given for
CI_SUFFIX = "_ci95"
HEADLINE_SECTIONS = tuple(dict.fromkeys(score.section for score in HEADLINE))  # the families those scores need


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


def resampled_f1(counts: Mapping[str, np.ndarray], weights: np.ndarray) -> dict[str, np.ndarray]:
    """The headline scores of every resample: ``{key: (resamples,) float64}`` for :data:`METRIC_KEYS`."""
    by_section = {section: FAMILY[section].scores(summed(counts[section], weights)) for section in HEADLINE_SECTIONS}
    return {score.key: by_section[score.section][score.name] for score in HEADLINE}


def sentences_in(counts: Mapping[str, np.ndarray]) -> int:
    return counts[HEADLINE_SECTIONS[0]].shape[0]


def point_f1(counts: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The headline scores on the sentences as they are (no resampling)."""
    return {k: float(v[0]) for k, v in resampled_f1(counts, np.ones((1, sentences_in(counts)), dtype=np.int64)).items()}


def percentile_interval(values: np.ndarray, level: float = LEVEL) -> list[float]:
    """``[low, high]``: the central ``level`` share of ``values`` (linear interpolation between order statistics)."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return [float(low), float(high)]


def intervals(
    counts: Mapping[str, np.ndarray], resamples: int = RESAMPLES, seed: int = SEED, digits: int = 4
) -> dict[str, list[float]]:
    """``{"official.macro_f1": [low, high], ...}``: the 95% percentile-bootstrap interval of each metric."""
    f1 = resampled_f1(counts, resample_weights(sentences_in(counts), resamples, seed))
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
    return metrics_ci_keys(intervals(run.counts))


def with_interval(value: float | None, ci: list[float] | None, digits: int = 4) -> str:
    """``0.8123 (0.8010–0.8231)``; the value alone without an interval; ``—`` without a value."""
    if value is None:
        return "—"
    if not ci:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ({ci[0]:.{digits}f}–{ci[1]:.{digits}f})"
