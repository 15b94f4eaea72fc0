"""The metric families, registered once (:data:`FAMILIES`), and the score names every table reads (:data:`SCORES`).
Each family counts through :mod:`eval.counting`, the one counting core:

- **official** (CLUENER ``score.py``): per sentence and per type, the *set of entity strings*; TP/FP/FN per type
  summed over sentences; ``macro_f1`` = mean F1 over the 10 types (the leaderboard's Overall@Macro); ``micro_f1``
  pools the counts (what LLM papers quote).
- **span**: ``(type, start, end)`` exact match, per type; ``micro_f1`` (BERT-family tables, seqeval strict IOB2)
  and ``macro_f1``.
- **semeval**: the SemEval-2013 schemes (strict, exact, partial, ent_type) of nervaluate (:mod:`eval.semeval`).

A class with no predictions (or no gold) scores 0, never a division error.

>>> gold = [{"name": {"张三"}}, {"address": {"北京"}}]
>>> pred = [{"name": {"张三", "李四"}}, {}]
>>> s = score_official(gold, pred)
>>> s.per_class["name"].as_dict()
{'precision': 0.5, 'recall': 1.0, 'f1': 0.6667, 'support': 1, 'tp': 1, 'fp': 1, 'fn': 0}
>>> round(s.micro_f1, 4), round(s.macro_f1, 4)
(0.5, 0.0667)
>>> [score.key for score in HEADLINE]
['official.macro_f1', 'official.micro_f1', 'span.micro_f1']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from cluener.labels import LABELS
from cluener.reader import Entity

from . import semeval
from .counting import (
    FN, FP, TP, Family, ScoreField, Sentence, check_lengths, exact_match_counts, prf, type_mean,
)  # fmt: skip


@dataclass
class ClassScore:
    """One type's counts (or the pooled counts) and what they give."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def _prf(self) -> tuple[float, float, float]:
        return tuple(float(v) for v in prf(np.int64(self.tp), np.int64(self.fp), np.int64(self.fn)))

    @property
    def precision(self) -> float:
        return self._prf()[0]

    @property
    def recall(self) -> float:
        return self._prf()[1]

    @property
    def f1(self) -> float:
        return self._prf()[2]

    @property
    def support(self) -> int:
        return self.tp + self.fn

    def as_dict(self, digits: int = 4) -> dict:
        p, r, f1 = self._prf()
        return {"precision": round(p, digits), "recall": round(r, digits), "f1": round(f1, digits),
                "support": self.support, "tp": self.tp, "fp": self.fp, "fn": self.fn}  # fmt: skip


def exact_scores(totals: np.ndarray) -> dict[str, np.ndarray]:
    """Micro and macro scores of summed exact-match counts ``(..., 3, 10)`` -> ``{name: (...)}``."""
    tp, fp, fn = totals[..., TP, :], totals[..., FP, :], totals[..., FN, :]
    p, r, f1 = prf(tp, fp, fn)
    micro_p, micro_r, micro_f1 = prf(tp.sum(axis=-1), fp.sum(axis=-1), fn.sum(axis=-1))
    return {"micro_f1": micro_f1, "micro_precision": micro_p, "micro_recall": micro_r,
            "macro_f1": type_mean(f1), "macro_precision": type_mean(p), "macro_recall": type_mean(r)}  # fmt: skip


@dataclass
class Scores:
    """An exact-match family's counts summed over the sentences, ``(3, 10)``, and the scores they give."""

    metric: str
    totals: np.ndarray

    @property
    def per_class(self) -> dict[str, ClassScore]:
        return {label: ClassScore(*(int(v) for v in self.totals[:, k])) for k, label in enumerate(LABELS)}

    @property
    def micro(self) -> ClassScore:
        return ClassScore(*(int(v) for v in self.totals.sum(axis=-1)))

    @property
    def micro_f1(self) -> float:
        return float(exact_scores(self.totals)["micro_f1"])

    @property
    def macro_f1(self) -> float:
        return float(exact_scores(self.totals)["macro_f1"])

    def as_dict(self, digits: int = 4) -> dict:
        scores = {name: round(float(v), digits) for name, v in exact_scores(self.totals).items()}
        return {**scores, "support": self.micro.support,
                "per_class": {label: c.as_dict(digits) for label, c in self.per_class.items()}}  # fmt: skip


def official_counts(sentences: Sequence[Sentence]) -> np.ndarray:
    """Items ``(type, string)``: the official metric's sets of strings per sentence and type."""
    return exact_match_counts(
        [{(label, s) for label, strings in x.gold_strings.items() for s in strings} for x in sentences],
        [{(label, s) for label, strings in x.pred_strings.items() for s in strings} for x in sentences],
    )


def span_counts(sentences: Sequence[Sentence]) -> np.ndarray:
    """Items ``(type, start, end)``."""
    return exact_match_counts([{tuple(e) for e in x.gold_spans} for x in sentences],
                              [{tuple(e) for e in x.pred_spans} for x in sentences])  # fmt: skip


def exact_family(section: str, count, fields: tuple[ScoreField, ...]) -> Family:
    """An exact-match family: ``(n, 3, 10)`` tp / fp / fn counts, micro and macro scores, a :class:`Scores` section."""
    return Family(section, count, exact_scores, lambda totals: Scores(section, totals).as_dict(), fields=fields)


OFFICIAL = exact_family(
    "official", official_counts, fields=(
        ScoreField("official.macro_f1", "official macro F1", "CLUENER score.py: per sentence and type, sets of entity "
                   "strings; F1 per type, mean over the 10 types (leaderboard Overall@Macro)", headline=True, short="macro"),
        ScoreField("official.micro_f1", "official micro F1", "the same string sets, counts pooled over types (what LLM "
                   "papers quote as F1)", headline=True, short="micro"),
    ),
)  # fmt: skip
SPAN = exact_family(
    "span", span_counts, fields=(
        ScoreField("span.micro_f1", "span micro F1", "(type, start, end) exact match, pooled (BERT-family tables, "
                   "seqeval strict IOB2)", headline=True, short="span micro"),
        ScoreField("span.macro_f1", "span macro F1", "(type, start, end) exact match, F1 per type, mean over the 10 "
                   "types"),
    ),
)  # fmt: skip

# Every family, in the order metrics.json and report.md show them. A new family is a module with a Family (as
# eval/semeval.py) and its line here.
FAMILIES: tuple[Family, ...] = (OFFICIAL, SPAN, semeval.FAMILY)
FAMILY = {family.section: family for family in FAMILIES}
SCORES: tuple[ScoreField, ...] = tuple(f for family in FAMILIES for f in family.fields)  # every run's table columns
SCORE = {score.key: score for score in SCORES}
HEADLINE: tuple[ScoreField, ...] = tuple(score for score in SCORES if score.headline)  # intervals, tests, seeds


def score_official(
    gold: Sequence[Mapping[str, Iterable[str]]], pred: Sequence[Mapping[str, Iterable[str]]]
) -> Scores:
    """Official CLUENER metric over per-sentence ``{type: strings}``; unknown types in ``pred`` are ignored."""
    check_lengths(gold, pred)
    sentences = [Sentence(g, p, (), ()) for g, p in zip(gold, pred)]
    return Scores("official", official_counts(sentences).sum(axis=0))


def score_spans(gold: Sequence[Iterable[Entity]], pred: Sequence[Iterable[Entity]]) -> Scores:
    """Span metric over per-sentence entity collections ``(label, start, end)``."""
    check_lengths(gold, pred)
    sentences = [Sentence({}, {}, g, p) for g, p in zip(gold, pred)]
    return Scores("span", span_counts(sentences).sum(axis=0))
