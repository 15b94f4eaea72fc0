"""eval.semeval: the SemEval-2013 schemes equal nervaluate 1.2.1's (overall and per type) on random spans
(hypothesis), on every committed run's predictions, and on a perturbed dev set; hand-checked cases."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nervaluate import Evaluator

from cluener.labels import LABELS
from eval.counting import Sentence
from eval.semeval import FAMILY, KINDS, SCHEMES, as_dict

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def ours(gold, pred) -> dict:
    """metrics.json's ``semeval`` section for per-sentence span lists, unrounded."""
    sentences = [Sentence({}, {}, g, p) for g, p in zip(gold, pred)]
    return as_dict(FAMILY.count(sentences).sum(axis=0), digits=17)


def ordered(spans) -> list[tuple]:
    """What eval.semeval reads: known types, each span once, in (start, end, type) order."""
    return sorted({tuple(e) for e in spans if e[0] in LABELS}, key=lambda e: (e[1], e[2], e[0]))


def theirs(gold, pred) -> dict:
    """nervaluate on the same spans, in the same order (its end is inclusive)."""
    def docs(sentences):
        return [[{"label": e[0], "start": e[1], "end": e[2] - 1} for e in ordered(s)] for s in sentences]

    return Evaluator(docs(gold), docs(pred), tags=list(LABELS), loader="dict").evaluate()


def assert_same(mine: dict, result) -> None:
    """Every count and P/R/F1 equal; a scheme nervaluate does not report (no such span at all) is all zeros."""
    for scheme in SCHEMES:
        want = result[scheme] if result is not None and scheme in result else None
        got = mine[scheme]
        for kind in KINDS:
            assert got[kind] == (getattr(want, kind) if want else 0), (scheme, kind)
        for measure in ("precision", "recall", "f1"):
            assert got[measure] == pytest.approx(getattr(want, measure) if want else 0.0, abs=1e-12), (scheme, measure)


def assert_equals_nervaluate(gold, pred) -> dict:
    mine, result = ours(gold, pred), theirs(gold, pred)
    assert_same(mine, result["overall"])
    for label in LABELS:
        assert_same(mine["per_class"][label], result["entities"].get(label))
    return mine


def test_one_boundary_character_off():
    # gold address 北京市 [0,3); predicted 北京 [0,2): exact fails, partial gives half, ent_type counts it correct
    s = ours([[("address", 0, 3)]], [[("address", 0, 2)]])
    assert [s[scheme]["f1"] for scheme in SCHEMES] == [0.0, 0.0, 0.5, 1.0]
    assert (s["partial"]["partial"], s["exact"]["incorrect"], s["ent_type"]["correct"]) == (1, 1, 1)
    assert s["partial"]["possible"] == s["partial"]["actual"] == 1


def test_a_wrong_type_is_incorrect_overall_but_spurious_and_missed_within_each_type():
    # gold name [0,2); predicted company [0,2): strict incorrect, exact correct; per type: name missed, company spurious
    s = ours([[("name", 0, 2)]], [[("company", 0, 2)]])
    assert (s["strict"]["incorrect"], s["exact"]["correct"], s["partial"]["correct"], s["ent_type"]["incorrect"]) == (
        1, 1, 1, 1)  # fmt: skip
    assert s["per_class"]["name"]["strict"]["missed"] == 1 and s["per_class"]["company"]["exact"]["spurious"] == 1
    assert s["per_class"]["address"]["strict"] == {**dict.fromkeys(("precision", "recall", "f1"), 0.0),
                                                   **dict.fromkeys((*KINDS, "possible", "actual"), 0)}  # fmt: skip


def test_ent_type_takes_the_closest_gold_span_and_order_does_not_matter():
    gold = [("name", 0, 4), ("name", 3, 5)]
    pred = [("name", 2, 5)]  # overlaps both; the second is closer (distance 1 against 3)
    for g in (gold, gold[::-1]):
        s = assert_equals_nervaluate([g], [pred])
        assert (s["ent_type"]["correct"], s["ent_type"]["missed"]) == (1, 1)
    # [2,4) is as close to [1,3) as to [3,5): a tie goes to the first, which leaves [3,5) free for [3,4)
    s = assert_equals_nervaluate([[("name", 1, 3), ("name", 3, 5)]], [[("name", 2, 4), ("name", 3, 4)]])
    assert (s["ent_type"]["correct"], s["ent_type"]["spurious"], s["ent_type"]["missed"]) == (2, 0, 0)


def test_overlap_is_at_least_one_percent_of_the_gold_span():
    # one shared character of a 150-character gold span is 0.67%: no overlap (spurious and missed); of 100, 1%: overlap
    s = assert_equals_nervaluate([[("name", 0, 150)], [("name", 0, 100)]], [[("name", 149, 151)], [("name", 99, 101)]])
    assert (s["partial"]["spurious"], s["partial"]["missed"], s["partial"]["partial"]) == (1, 1, 1)


def test_unknown_types_and_repeated_spans_are_not_scored():
    s = ours([[("name", 0, 2)]], [[("name", 0, 2), ("name", 0, 2), ("weather", 3, 5)]])
    assert s["strict"]["correct"] == 1 and s["strict"]["spurious"] == 0


@st.composite
def sentences(draw):
    """Gold and predicted spans anywhere in a short text: overlapping, nested and repeated spans included."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 10))
        span = st.tuples(st.sampled_from(LABELS[:3]), st.integers(0, n - 1), st.integers(1, 4)).map(
            lambda t: (t[0], t[1], min(n, t[1] + t[2]))
        )
        out.append((draw(st.lists(span, max_size=5)), draw(st.lists(span, max_size=5))))
    return out


@given(sentences())
@settings(max_examples=300, deadline=None)
def test_equals_nervaluate_property(case):
    gold, pred = zip(*case)
    assert_equals_nervaluate(gold, pred)


def committed_runs() -> list[Path]:
    return sorted(REPORTS.glob("*/details.jsonl"))


@pytest.mark.parametrize("details", committed_runs(), ids=lambda p: p.parent.name)
def test_equals_nervaluate_on_the_committed_runs(details):
    rows = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    gold, pred = [row["gold"] for row in rows], [row["spans"] for row in rows]
    s = assert_equals_nervaluate(gold, pred)
    assert 0.0 < s["strict"]["f1"] <= s["partial"]["f1"] and s["strict"]["f1"] < 1.0  # real, imperfect predictions


def test_there_are_committed_runs_to_check():
    assert len(committed_runs()) >= 5


def test_equals_nervaluate_on_perturbed_dev(dev_gold):
    rng = random.Random(4)
    pred = []
    for ex in dev_gold:
        spans = []
        for e in ex.entities:
            roll = rng.random()
            if roll < 0.1:
                continue
            if roll < 0.3:  # shift a boundary by one (either way, either end), sometimes the type too
                start, end = e.start + rng.choice((-1, 0, 1)), e.end + rng.choice((-1, 0, 1))
                e = e._replace(start=max(0, start), end=max(max(0, start) + 1, min(len(ex.text), end)))
            if rng.random() < 0.1:
                e = e._replace(label=rng.choice(LABELS))
            spans.append(tuple(e))
        if rng.random() < 0.2 and len(ex.text) > 3:
            start = rng.randrange(len(ex.text) - 3)
            spans.append((rng.choice(LABELS), start, start + 3))
        pred.append(spans)
    s = assert_equals_nervaluate([[tuple(e) for e in ex.entities] for ex in dev_gold], pred)
    assert 0.5 < s["strict"]["f1"] < s["partial"]["f1"] < s["ent_type"]["f1"] < 1.0
