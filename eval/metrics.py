"""Scoring, separate from reporting. Two metrics, always named:

- **official** (CLUENER ``score.py``): per sentence and per type, the *set of entity strings*; TP/FP/FN per type
  summed over sentences; ``macro_f1`` = mean F1 over the 10 types (the leaderboard's Overall@Macro); ``micro_f1``
  pools the counts (what LLM papers quote).
- **span**: ``(type, start, end)`` exact match, per type; ``micro_f1`` (BERT-family tables, seqeval strict IOB2)
  and ``macro_f1``.

A class with no predictions (or no gold) scores 0, never a division error.

>>> gold = [{"name": {"张三"}}, {"address": {"北京"}}]
>>> pred = [{"name": {"张三", "李四"}}, {}]
>>> s = score_official(gold, pred)
>>> s.per_class["name"].as_dict()
{'precision': 0.5, 'recall': 1.0, 'f1': 0.6667, 'support': 1, 'tp': 1, 'fp': 1, 'fn': 0}
>>> round(s.micro_f1, 4), round(s.macro_f1, 4)
(0.5, 0.0667)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from cluener.labels import LABELS
from cluener.reader import Entity


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


@dataclass
class ClassScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return _ratio(2 * p * r, p + r)

    @property
    def support(self) -> int:
        return self.tp + self.fn

    def as_dict(self, digits: int = 4) -> dict:
        return {
            "precision": round(self.precision, digits),
            "recall": round(self.recall, digits),
            "f1": round(self.f1, digits),
            "support": self.support,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass
class Scores:
    """Per-class counts and the micro / macro summaries over the 10 types."""

    metric: str
    per_class: dict[str, ClassScore] = field(default_factory=lambda: {label: ClassScore() for label in LABELS})

    @property
    def micro(self) -> ClassScore:
        total = ClassScore()
        for c in self.per_class.values():
            total.tp, total.fp, total.fn = total.tp + c.tp, total.fp + c.fp, total.fn + c.fn
        return total

    @property
    def micro_f1(self) -> float:
        return self.micro.f1

    @property
    def macro_f1(self) -> float:
        return sum(self.per_class[label].f1 for label in LABELS) / len(LABELS)

    def as_dict(self, digits: int = 4) -> dict:
        micro = self.micro
        return {
            "micro_f1": round(micro.f1, digits),
            "micro_precision": round(micro.precision, digits),
            "micro_recall": round(micro.recall, digits),
            "macro_f1": round(self.macro_f1, digits),
            "macro_precision": round(sum(c.precision for c in self.per_class.values()) / len(LABELS), digits),
            "macro_recall": round(sum(c.recall for c in self.per_class.values()) / len(LABELS), digits),
            "support": micro.support,
            "per_class": {label: self.per_class[label].as_dict(digits) for label in LABELS},
        }


def _check_lengths(gold: Sequence, pred: Sequence) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold sentences")


def score_official(
    gold: Sequence[Mapping[str, Iterable[str]]], pred: Sequence[Mapping[str, Iterable[str]]]
) -> Scores:
    """Official CLUENER metric over per-sentence ``{type: strings}``; unknown types in ``pred`` are ignored."""
    _check_lengths(gold, pred)
    scores = Scores("official")
    for g, p in zip(gold, pred):
        for label in LABELS:
            gs, ps = set(g.get(label, ())), set(p.get(label, ()))
            c = scores.per_class[label]
            c.tp += len(gs & ps)
            c.fp += len(ps - gs)
            c.fn += len(gs - ps)
    return scores


def score_spans(gold: Sequence[Iterable[Entity]], pred: Sequence[Iterable[Entity]]) -> Scores:
    """Span metric over per-sentence entity collections ``(label, start, end)``."""
    _check_lengths(gold, pred)
    scores = Scores("span")
    for g, p in zip(gold, pred):
        gs, ps = set(g), set(p)
        for ent in gs & ps:
            scores.per_class[ent.label].tp += 1
        for ent in ps - gs:
            if ent.label in scores.per_class:
                scores.per_class[ent.label].fp += 1
        for ent in gs - ps:
            scores.per_class[ent.label].fn += 1
    return scores
