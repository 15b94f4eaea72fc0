"""The one counting core. Every metric family counts each sentence once, into an integer array whose first axis is
the sentence and whose last axis is the entity type (:data:`cluener.labels.LABELS` order); every score is a formula
over sums of that array:

- a point score sums over all sentences (``counts.sum(axis=0)``);
- a bootstrap resample sums with how often each sentence was drawn (``weights @ counts``, :mod:`eval.bootstrap`);
- a paired test does so for two runs with the same weights (:mod:`eval.compare`).

A family (:class:`Family`) is one ``metrics.json`` section: how it counts a sentence, the formula from summed counts
to scores (vectorised over any leading axes, so one formula serves points and resamples), the section it writes, the
score fields it declares for the tables (:class:`ScoreField`), and any table of its own for report.md. The families
are registered once, in :data:`eval.metrics.FAMILIES`.

What a family reads of a sentence is a :class:`Sentence`: the gold and predicted entity strings by type (the official
metric's unit) and spans ``(type, start, end)``. Unknown types in a prediction are not scored.

>>> import numpy as np
>>> counts = exact_match_counts([{("name", 0, 2)}, {("address", 3, 5)}], [{("name", 0, 2), ("name", 5, 6)}, set()])
>>> counts.shape, counts.sum(axis=0)[:, LABELS.index("name")].tolist()
((2, 3, 10), [1, 1, 0])
>>> [round(float(v), 4) for v in prf(np.array(1), np.array(1), np.array(0))]
[0.5, 1.0, 0.6667]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np

from cluener.labels import LABELS

TYPE_INDEX = {label: i for i, label in enumerate(LABELS)}
TP, FP, FN = 0, 1, 2  # the count kinds of an exact-match family (axis -2)
EXACT_KINDS = ("tp", "fp", "fn")


@dataclass(frozen=True)
class Sentence:
    """What the metrics read of one scored sentence."""

    gold_strings: Mapping[str, Iterable[str]]
    pred_strings: Mapping[str, Iterable[str]]
    gold_spans: Iterable[tuple]  # (type, start, end), end exclusive
    pred_spans: Iterable[tuple]


@dataclass(frozen=True)
class ScoreField:
    """A score every run has, as tables show it: ``key`` is its place in metrics.json (``section.name``); the
    family's section holds ``name`` and, for an ``X_f1``, ``X_precision`` and ``X_recall`` (the summary table), and
    its ``scores`` formula returns ``name`` (the intervals and paired tests of a headline score)."""

    key: str
    label: str
    definition: str
    headline: bool = False  # a 95% bootstrap interval, paired tests, mean over seeds, the sweep summary
    short: str = ""  # its name in a one-line note (the significance column)

    @property
    def section(self) -> str:
        return self.key.split(".")[0]

    @property
    def name(self) -> str:
        return self.key.split(".")[1]


@dataclass(frozen=True)
class FamilyTable:
    """A table a family adds to report.md: plain cells (the report escapes and lays them out)."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple]
    note: str = ""


@dataclass(frozen=True)
class Family:
    """A metric family: one section of metrics.json, computed from its per-sentence counts."""

    section: str
    count: Callable[[Sequence[Sentence]], np.ndarray]  # (n, ..., types) integers
    scores: Callable[[np.ndarray], dict[str, np.ndarray]]  # summed counts (leading axes, ...) -> {name: (leading,)}
    as_dict: Callable[[np.ndarray], dict]  # summed counts of all sentences -> the metrics.json section
    fields: tuple[ScoreField, ...] = ()
    tables: Callable[[dict], list[FamilyTable]] = field(default=lambda section: [])  # its section -> report tables


def check_lengths(gold: Sequence, pred: Sequence) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold sentences")


def exact_match_counts(gold: Sequence[Iterable[Hashable]], pred: Sequence[Iterable[Hashable]]) -> np.ndarray:
    """``(n, 3, 10)`` int64: per sentence, tp / fp / fn per type of items ``(type, ...)`` matched as sets (a repeated
    item counts once); a predicted item of an unknown type is not counted."""
    check_lengths(gold, pred)
    out = np.zeros((len(gold), 3, len(LABELS)), dtype=np.int64)
    for i, (g, p) in enumerate(zip(gold, pred)):
        gs, ps = set(g), set(p)
        for kind, items in ((TP, gs & ps), (FP, ps - gs), (FN, gs - ps)):
            for item in items:
                k = TYPE_INDEX.get(item[0])
                if k is not None:
                    out[i, kind, k] += 1
    return out


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 0 where ``den`` is 0 (a class with no predictions or no gold scores 0, never an error)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def f1_of(p: np.ndarray, r: np.ndarray) -> np.ndarray:
    return ratio(2 * p * r, p + r)


def prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 of counts (any shape). The same float operations, in the same order, for a point score
    and a resample: equal counts always give bit-equal scores."""
    p, r = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return p, r, f1_of(p, r)


def type_mean(values: np.ndarray) -> np.ndarray:
    """The mean over the last axis (the 10 types), summed left to right as ``sum(...) / 10`` would."""
    total = values[..., 0]
    for k in range(1, values.shape[-1]):
        total = total + values[..., k]
    return total / values.shape[-1]


def count_all(families: Sequence[Family], sentences: Sequence[Sentence]) -> dict[str, np.ndarray]:
    """``{section: per-sentence counts}`` of every family."""
    return {family.section: family.count(sentences) for family in families}


def summed(counts: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The counts of all sentences (``weights`` None), or of each resample: ``(B, n) @ (n, ...) -> (B, ...)``."""
    if weights is None:
        return counts.sum(axis=0)
    n = counts.shape[0]
    if weights.shape[1] != n:
        raise ValueError(f"bootstrap: weights for {weights.shape[1]} sentences, counts for {n}")
    flat = weights.astype(np.float64) @ counts.reshape(n, -1).astype(np.float64)
    return flat.reshape(-1, *counts.shape[1:])
