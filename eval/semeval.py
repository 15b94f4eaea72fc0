"""The SemEval-2013 (task 9.1) span schemes, as nervaluate 1.2.1 computes them: how many predicted spans are right
when a boundary or a type may be off.

Each predicted span is matched greedily against the gold spans not matched yet (both in ``(start, end, type)``
order) and is **correct**, **incorrect**, **partial** or **spurious**; a gold span left unmatched is **missed**:

- ``strict``: correct = same boundaries and type; incorrect = overlaps a gold span otherwise;
- ``exact``: correct = same boundaries, any type; incorrect = overlaps otherwise;
- ``partial``: correct = same boundaries, any type; partial = overlaps otherwise (half credit);
- ``ent_type``: correct = overlaps a gold span of its type (the closest boundaries win); incorrect = overlaps only
  spans of other types.

Overlap is nervaluate's default (``min_overlap_percentage=1``): at least 1% of the gold span, i.e. any shared
character for a gold span of up to 100 characters. ``possible`` = correct + incorrect + partial + missed (the gold spans), ``actual`` = correct + incorrect +
partial + spurious (the predicted ones); precision = (correct + ½ partial) / actual, recall = (correct + ½ partial)
/ possible (``partial`` is 0 outside the partial scheme). Per type, the scheme runs on that type's spans only (as
nervaluate's per-entity results); ``all types`` runs on all of them at once, so a span of the wrong type can be
incorrect there but is spurious (and its gold missed) within each type. Predicted spans of unknown types and repeated
spans are not scored (as in the span metric).

A boundary one character off (gold 北京市 [0,3), predicted 北京 [0,2)): exact fails, partial gives half, ent_type
counts it correct.

>>> totals = FAMILY.count([Sentence({}, {}, [("address", 0, 3)], [("address", 0, 2)])]).sum(axis=0)
>>> section = as_dict(totals)
>>> [(s, section[s]["correct"], section[s]["incorrect"], section[s]["partial"], section[s]["f1"]) for s in SCHEMES]
[('strict', 0, 1, 0, 0.0), ('exact', 0, 1, 0, 0.0), ('partial', 0, 0, 1, 0.5), ('ent_type', 1, 0, 0, 1.0)]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cluener.labels import LABELS

from .counting import TYPE_INDEX, Family, FamilyTable, Sentence, f1_of, ratio

SCHEMES = ("strict", "exact", "partial", "ent_type")
KINDS = ("correct", "incorrect", "partial", "missed", "spurious")
COR, INC, PAR, MIS, SPU = range(len(KINDS))
ALL = len(LABELS)  # the last slot of the type axis: all types at once
HALF_CREDIT = ("partial", "ent_type")  # nervaluate's partial_or_type formula
DESCRIPTIONS = {
    "strict": "same boundaries and type",
    "exact": "same boundaries, any type",
    "partial": "overlap, any type; other boundaries count half",
    "ent_type": "same type, any overlap",
}


def _overlaps(pred: tuple, gold: tuple) -> bool:
    """nervaluate's test with its default threshold: the shared characters are at least 1% of the gold span."""
    shared = min(pred[2], gold[2]) - max(pred[1], gold[1])
    return shared > 0 and (shared / (gold[2] - gold[1])) * 100.0 >= 1.0


def _first_match(scheme: str, gold: Sequence[tuple], pred: Sequence[tuple]) -> list[int]:
    """strict, exact, partial: a predicted span takes the first free gold span it matches, else the first free gold
    span it overlaps (incorrect, or partial in the partial scheme)."""
    out = [0] * len(KINDS)
    matched: set[int] = set()
    near, strict = (PAR if scheme == "partial" else INC), scheme == "strict"
    for p in pred:
        candidate = None
        for i, g in enumerate(gold):
            if i in matched:
                continue
            if p[1] == g[1] and p[2] == g[2] and (not strict or p[0] == g[0]):
                out[COR] += 1
                matched.add(i)
                break
            if candidate is None and _overlaps(p, g):
                candidate = i
        else:
            if candidate is None:
                out[SPU] += 1
            else:
                out[near] += 1
                matched.add(candidate)
    out[MIS] = len(gold) - len(matched)
    return out


def _ent_type(gold: Sequence[tuple], pred: Sequence[tuple]) -> list[int]:
    """ent_type: a predicted span takes the overlapping free gold span of its type with the closest boundaries
    (the first of equals), else the first overlapping free gold span of another type (incorrect)."""
    out = [0] * len(KINDS)
    matched: set[int] = set()
    for p in pred:
        best, best_distance, other = None, None, None
        for i, g in enumerate(gold):
            if i in matched or not _overlaps(p, g):
                continue
            if p[0] == g[0]:
                distance = abs(p[1] - g[1]) + abs(p[2] - g[2])
                if best_distance is None or distance < best_distance:
                    best, best_distance = i, distance
            elif other is None:
                other = i
        kind, taken = (COR, best) if best is not None else (INC, other) if other is not None else (SPU, None)
        out[kind] += 1
        if taken is not None:
            matched.add(taken)
    out[MIS] = len(gold) - len(matched)
    return out


def scheme_counts(scheme: str, gold: Sequence[tuple], pred: Sequence[tuple]) -> list[int]:
    """``(5,)``: correct, incorrect, partial, missed, spurious of one sentence's ordered spans under ``scheme``."""
    return _ent_type(gold, pred) if scheme == "ent_type" else _first_match(scheme, gold, pred)


def _ordered(spans) -> list[tuple]:
    """Known types only, each span once, in (start, end, type) order: the order the greedy matching reads."""
    return sorted({tuple(e) for e in spans if e[0] in TYPE_INDEX}, key=lambda e: (e[1], e[2], e[0]))


def count(sentences: Sequence[Sentence]) -> np.ndarray:
    """``(n, 4, 5, 11)`` int64: per sentence, scheme and count kind, per type and (last) all types at once."""
    out = np.zeros((len(sentences), len(SCHEMES), len(LABELS) + 1, len(KINDS)), dtype=np.int64)
    for n, sentence in enumerate(sentences):
        gold, pred = _ordered(sentence.gold_spans), _ordered(sentence.pred_spans)
        types = {e[0] for e in (*gold, *pred)}
        for s, scheme in enumerate(SCHEMES):
            out[n, s, ALL] = overall = scheme_counts(scheme, gold, pred)
            if len(types) == 1:  # one type: its own counts are those of all types
                out[n, s, TYPE_INDEX[next(iter(types))]] = overall
                continue
            for label in types:
                of_type = [e for e in gold if e[0] == label], [e for e in pred if e[0] == label]
                out[n, s, TYPE_INDEX[label]] = scheme_counts(scheme, *of_type)
    return out.swapaxes(2, 3)


def scores(totals: np.ndarray) -> dict[str, np.ndarray]:
    """``{scheme_precision, scheme_recall, scheme_f1}`` over all types, from summed counts ``(..., 4, 5, 11)``."""
    out = {}
    for s, scheme in enumerate(SCHEMES):
        c = totals[..., s, :, ALL]
        p, r, f1 = _prf(scheme, c)
        out.update({f"{scheme}_precision": p, f"{scheme}_recall": r, f"{scheme}_f1": f1})
    return out


def _prf(scheme: str, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of counts ``(..., 5)`` (nervaluate's ``compute_metrics``)."""
    credit = c[..., COR] + (0.5 * c[..., PAR] if scheme in HALF_CREDIT else 0)
    actual = c[..., COR] + c[..., INC] + c[..., PAR] + c[..., SPU]
    possible = c[..., COR] + c[..., INC] + c[..., PAR] + c[..., MIS]
    p, r = ratio(credit, actual), ratio(credit, possible)
    return p, r, f1_of(p, r)


def _scheme_dict(scheme: str, c: np.ndarray, digits: int) -> dict:
    p, r, f1 = (round(float(v), digits) for v in _prf(scheme, c))
    counts = {kind: int(c[k]) for k, kind in enumerate(KINDS)}
    return {"precision": p, "recall": r, "f1": f1, **counts,
            "possible": int(c[COR] + c[INC] + c[PAR] + c[MIS]), "actual": int(c[COR] + c[INC] + c[PAR] + c[SPU])}  # fmt: skip


def as_dict(totals: np.ndarray, digits: int = 4) -> dict:
    """metrics.json's ``semeval``: per scheme over all types, and ``per_class`` per type and scheme."""
    out = {scheme: _scheme_dict(scheme, totals[s, :, ALL], digits) for s, scheme in enumerate(SCHEMES)}
    out["per_class"] = {
        label: {scheme: _scheme_dict(scheme, totals[s, :, k], digits) for s, scheme in enumerate(SCHEMES)}
        for k, label in enumerate(LABELS)
    }
    return out


NOTE = (
    "Each predicted span matched once against the gold spans, as nervaluate 1.2.1 does: correct, incorrect (overlaps "
    "a gold span but is not correct), partial (the partial scheme's overlap: half credit), missed (gold), spurious "
    "(overlaps no gold span). Precision = (correct + ½ partial) / predicted, recall = (correct + ½ partial) / gold. "
    "An entity right but for one boundary character is incorrect under strict and exact, half right under partial "
    "and correct under ent_type. Per type: metrics.json, `semeval.per_class`."
)


def tables(section: dict) -> list[FamilyTable]:
    """report.md's table: one row per scheme."""
    header = ("scheme", "correct means", "precision", "recall", "F1", *KINDS)
    rows = [(scheme, DESCRIPTIONS[scheme], *(f"{section[scheme][k]:.4f}" for k in ("precision", "recall", "f1")),
             *(section[scheme][kind] for kind in KINDS)) for scheme in SCHEMES]  # fmt: skip
    return [FamilyTable("SemEval-2013 span schemes", header, rows, NOTE)]


FAMILY = Family("semeval", count, scores, as_dict, tables=tables)
