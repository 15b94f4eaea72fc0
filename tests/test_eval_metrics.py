"""Both metrics: hand-checked cases, the official score.py formula (independent reference), seqeval equality."""

from __future__ import annotations

import json
import random
import warnings
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from cluener.reader import Entity, Example, read_cluener
from cluener.labels import LABELS
from eval.metrics import score_official, score_spans

from conftest import SHARED_CLUENER

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def test_official_hand_checked():
    # Sentence 1: gold name {张三, 李四}, pred name {张三, 王五} and address {北京} (gold has none).
    # Sentence 2: gold address {北京} (mentioned twice: one string), pred address {北京}.
    # name: tp 1, fp 1, fn 1 -> P 1/2, R 1/2, F1 1/2. address: tp 1, fp 1, fn 0 -> P 1/2, R 1, F1 2/3.
    # micro: tp 2, fp 2, fn 1 -> P 1/2, R 2/3, F1 4/7. macro: (1/2 + 2/3) / 10.
    gold = [{"name": {"张三", "李四"}}, {"address": {"北京"}}]
    pred = [{"name": ["张三", "王五"], "address": ["北京"]}, {"address": ["北京"]}]
    s = score_official(gold, pred)
    assert (s.per_class["name"].tp, s.per_class["name"].fp, s.per_class["name"].fn) == (1, 1, 1)
    assert s.per_class["name"].f1 == pytest.approx(0.5)
    assert s.per_class["address"].f1 == pytest.approx(2 / 3)
    assert s.micro_f1 == pytest.approx(4 / 7)
    assert s.macro_f1 == pytest.approx((0.5 + 2 / 3) / 10)
    assert s.per_class["address"].support == 1 and s.per_class["name"].support == 2


def test_span_hand_checked():
    # Gold: name [0,2), address [3,5), address [6,8). Pred: name [0,2) exact, address [3,4) (boundary),
    # address [6,8) exact, company [9,11) spurious.
    # name: 1/0/0 -> F1 1. address: tp 1, fp 1, fn 1 -> F1 1/2. company: tp 0 fp 1 -> F1 0.
    # micro: tp 2, fp 2, fn 1 -> P 1/2, R 2/3, F1 4/7. macro: (1 + 1/2 + 0) / 10.
    gold = [[Entity("name", 0, 2), Entity("address", 3, 5), Entity("address", 6, 8)]]
    pred = [[Entity("name", 0, 2), Entity("address", 3, 4), Entity("address", 6, 8), Entity("company", 9, 11)]]
    s = score_spans(gold, pred)
    assert s.per_class["name"].f1 == 1.0
    assert s.per_class["address"].f1 == pytest.approx(0.5)
    assert (s.per_class["company"].precision, s.per_class["company"].f1) == (0.0, 0.0)
    assert s.micro_f1 == pytest.approx(4 / 7)
    assert s.macro_f1 == pytest.approx(1.5 / 10)
    assert s.micro.support == 3


def test_same_string_twice_is_one_official_item_but_two_spans():
    gold_spans = [[Entity("address", 0, 2), Entity("address", 3, 5)]]
    pred_spans = [[Entity("address", 0, 2)]]
    assert score_spans(gold_spans, pred_spans).per_class["address"].recall == 0.5
    assert score_official([{"address": {"北京"}}], [{"address": ["北京"]}]).per_class["address"].recall == 1.0


def test_zero_divisions_score_zero():
    s = score_official([{}, {}], [{}, {}])
    assert s.micro_f1 == 0.0 and s.macro_f1 == 0.0
    assert s.per_class["book"].as_dict()["precision"] == 0.0
    s = score_spans([[Entity("book", 0, 1)]], [[]])  # a class with no predictions
    assert (s.per_class["book"].precision, s.per_class["book"].recall, s.per_class["book"].f1) == (0, 0, 0)


def test_line_count_mismatch_is_an_error():
    with pytest.raises(ValueError, match="2 predictions for 1 gold"):
        score_official([{}], [{}, {}])


# ---------------------------------------------------------------- the official score.py formula


def reference_official(pred_file, gold_file):
    """CLUENER score.py (CLUEbenchmark/CLUENER2020, a532068e), written independently: lines paired by order; per
    label, the keys of label[TYPE] per line; TP/FP/FN summed over lines; F1 per label; mean over the 10 labels.
    score.py divides by zero for a label with no predictions; here that F1 is 0."""
    pre_lines = [json.loads(line) for line in Path(pred_file).read_text("utf-8").splitlines() if line.strip()]
    gold_lines = [json.loads(line) for line in Path(gold_file).read_text("utf-8").splitlines() if line.strip()]
    labels = ["address", "book", "company", "game", "government", "movie", "name", "organization", "position", "scene"]
    f_score = {}
    for label in labels:
        tp = fp = fn = 0
        for pre, gold in zip(pre_lines, gold_lines):
            pre_keys = pre["label"].get(label, {}).keys()
            gold_keys = gold["label"].get(label, {}).keys()
            for key in pre_keys:
                if key in gold_keys:
                    tp += 1
                else:
                    fp += 1
            for key in gold_keys:
                if key not in pre_keys:
                    fn += 1
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f_score[label] = 2 * p * r / (p + r) if p + r else 0.0
    return f_score, sum(f_score.values()) / len(labels)


def perturb(examples: list[Example], seed: int) -> list[list[Entity]]:
    """Deterministic wrong predictions: drop, shift a boundary, change the type, add a spurious span."""
    rng = random.Random(seed)
    out = []
    for ex in examples:
        pred = []
        for ent in ex.entities:
            roll = rng.random()
            if roll < 0.1:
                continue
            if roll < 0.2 and ent.end - ent.start > 1:
                ent = ent._replace(end=ent.end - 1)
            elif roll < 0.3:
                ent = ent._replace(label=rng.choice(LABELS))
            pred.append(ent)
        if rng.random() < 0.2 and len(ex.text) > 2:
            start = rng.randrange(len(ex.text) - 2)
            pred.append(Entity(rng.choice(LABELS), start, start + 2))
        out.append(pred)
    return out


def write_cluener(path, examples, predictions):
    from cluener.reader import entities_to_label_dict

    rows = [{"text": ex.text, "label": entities_to_label_dict(ex.text, p)} for ex, p in zip(examples, predictions)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize("seed", [1, 2])
def test_official_equals_score_py_on_the_dev_files(tmp_path, seed):
    gold_file = SHARED_CLUENER / "dev.json"
    gold = read_cluener(gold_file)
    pred_file = tmp_path / "pred.json"
    write_cluener(pred_file, gold, perturb(gold, seed))
    pred = read_cluener(pred_file)  # the same file the reference reads
    ours = score_official([ex.strings_by_label() for ex in gold], [ex.strings_by_label() for ex in pred])
    per_label, macro = reference_official(pred_file, gold_file)
    assert 0.5 < macro < 0.99  # a real, imperfect prediction
    assert ours.macro_f1 == pytest.approx(macro, abs=1e-12)
    for label in LABELS:
        assert ours.per_class[label].f1 == pytest.approx(per_label[label], abs=1e-12)


# ---------------------------------------------------------------- span metric == seqeval strict IOB2


def iob2(text: str, entities) -> list[str]:
    tags = ["O"] * len(text)
    for ent in entities:
        tags[ent.start] = f"B-{ent.label}"
        for i in range(ent.start + 1, ent.end):
            tags[i] = f"I-{ent.label}"
    return tags


def assert_equals_seqeval(texts, gold, pred):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on classes with no predictions
        report = classification_report(
            [iob2(t, g) for t, g in zip(texts, gold)],
            [iob2(t, p) for t, p in zip(texts, pred)],
            mode="strict",
            scheme=IOB2,
            output_dict=True,
            zero_division=0,
        )
    ours = score_spans(gold, pred)
    for label in LABELS:
        if label in report:
            c = ours.per_class[label]
            expected = report[label]
            assert (c.precision, c.recall, c.f1, c.support) == pytest.approx(
                (expected["precision"], expected["recall"], expected["f1-score"], expected["support"])
            ), label
        else:
            assert ours.per_class[label].tp + ours.per_class[label].fp + ours.per_class[label].fn == 0
    if "micro avg" in report:
        micro = report["micro avg"]
        assert (ours.micro.precision, ours.micro.recall, ours.micro_f1) == pytest.approx(
            (micro["precision"], micro["recall"], micro["f1-score"])
        )
    return report, ours


def test_span_metric_equals_seqeval_on_dev(dev_gold):
    pred = perturb(dev_gold, 3)
    # IOB2 cannot hold overlapping spans; the aligner never produces them, so drop them from this perturbation.
    pred = [[e for i, e in enumerate(p) if not any(e.start < o.end and o.start < e.end for o in p[:i])] for p in pred]
    report, ours = assert_equals_seqeval([ex.text for ex in dev_gold], [ex.entities for ex in dev_gold], pred)
    assert 0.5 < ours.micro_f1 < 0.99
    assert ours.macro_f1 == pytest.approx(report["macro avg"]["f1-score"])  # all 10 types occur in dev


@st.composite
def sentences(draw):
    """Texts with non-overlapping gold and predicted spans (adjacent spans of one type included)."""
    out = []
    for _ in range(draw(st.integers(1, 5))):
        n = draw(st.integers(1, 12))
        spans = []
        for _ in range(2):
            cuts = sorted(draw(st.sets(st.integers(0, n), max_size=6)))
            ents = []
            for a, b in pairwise(cuts):
                if draw(st.booleans()):
                    ents.append(Entity(draw(st.sampled_from(LABELS[:3])), a, b))
            spans.append(ents)
        out.append(("x" * n, *spans))
    return out


@given(sentences())
@settings(max_examples=200, deadline=None)
def test_span_metric_equals_seqeval_property(case):
    texts, gold, pred = zip(*case)
    assert_equals_seqeval(texts, gold, pred)
