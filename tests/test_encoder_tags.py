"""BIO tags of the encoder baselines: gold -> tags -> spans is exact on every CLUENER sentence (the one nested
sentence reported, not hidden), decoding agrees with seqeval's strict IOB2, and gold spans written as encoder
predictions score 1.0 through the eval CLI."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.scheme import IOB2, Entities

from encoder_ner.data import CharVocab, Collator, encode_examples
from encoder_ner.predict import prediction_rows
from encoder_ner.tags import TAGS, allowed_transition, entities_from_tags, tags_from_entities
from eval.__main__ import main
from cluener.files import atomic_write_jsonl
from cluener.reader import Entity, read_cluener

from conftest import SHARED_CLUENER

NESTED_TRAIN_LINE = 1507


@pytest.fixture(scope="module")
def official():
    return {split: read_cluener(SHARED_CLUENER / f"{split}.json") for split in ("train", "dev")}


@pytest.mark.parametrize("split", ["train", "dev"])
def test_gold_tags_spans_gold_is_exact_on_every_sentence(official, split):
    nested = {}
    for ex in official[split]:
        tags, dropped = tags_from_entities(len(ex.text), ex.entities)
        decoded = entities_from_tags(tags)
        if dropped:
            nested[ex.line] = (decoded, dropped)
            assert sorted([*decoded, *dropped]) == sorted(ex.entities)
        else:
            assert decoded == list(ex.entities), ex.line
    # The only sentence with overlapping gold spans: a book title holding two company names. BIO keeps the book and
    # reports the two companies (python -m encoder_ner.train prints them; they are left out of training only).
    if split == "train":
        text = official["train"][NESTED_TRAIN_LINE - 1].text
        decoded, dropped = nested.pop(NESTED_TRAIN_LINE)
        book = "《招商银行：投资永隆银行浮亏逾百亿港元》"
        assert [(e.label, text[e.start : e.end]) for e in decoded] == [("book", book)]
        assert dropped == [Entity("company", 16, 20), Entity("company", 23, 27)]
        assert [text[e.start : e.end] for e in dropped] == ["招商银行", "永隆银行"]
    assert nested == {}


def test_training_features_carry_the_tags_and_report_the_nested_line(official):
    train = official["train"]
    vocab = CharVocab.build(ex.text for ex in train)
    features, dropped = encode_examples(train, vocab.encode, 52, 0, with_labels=True)
    assert [(ex.line, len(ents)) for ex, ents in dropped] == [(NESTED_TRAIN_LINE, 2)]
    for ex, feature in zip(train, features, strict=True):
        assert len(feature["input_ids"]) == len(feature["labels"]) == len(ex.text)
    batch = Collator(0)(features[:3])
    assert batch["labels"].shape[1] == batch["input_ids"].shape[1] == max(len(ex.text) for ex in train[:3])
    assert (batch["labels"] == -100).sum() == (batch["attention_mask"] == 0).sum()


def test_gold_written_as_encoder_predictions_scores_perfectly(tmp_path, data_dir, dev_gold):
    """The predictions file format end to end: decoded gold tags -> generated_predictions.jsonl -> eval score."""
    decoded = [entities_from_tags(tags_from_entities(len(ex.text), ex.entities)[0]) for ex in dev_gold]
    pred = tmp_path / "predict_dev" / "generated_predictions.jsonl"
    atomic_write_jsonl(pred, prediction_rows(dev_gold, decoded))
    reports = tmp_path / "reports"
    assert main(["score", str(pred), "--split", "dev", "--name", "gold-tags-dev", "--reports", str(reports),
                 "--data-dir", str(data_dir)]) == 0  # fmt: skip
    metrics = json.loads((reports / "gold-tags-dev" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["span"]["micro_f1"] == metrics["official"]["macro_f1"] == metrics["official"]["micro_f1"] == 1.0
    assert metrics["span"]["support"] == 3072  # every dev span, repeated mentions included
    assert metrics["parse"]["span_lines"] == metrics["parse"]["ok"] == 1343
    assert metrics["order_check"].startswith("passed")


tag_sequences = st.lists(st.sampled_from(["O", "B-name", "I-name", "B-game", "I-game"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(tag_sequences)
def test_decoding_agrees_with_seqeval_strict_iob2(tags):
    theirs = [(e.tag, e.start, e.end) for e in Entities([tags], IOB2, suffix=False).entities[0]]
    ours = [(e.label, e.start, e.end) for e in entities_from_tags(tags)]
    assert ours == theirs


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(1, 5), st.sampled_from(["name", "book"])), max_size=5))
def test_tags_written_from_spans_are_valid_bio_and_decode_back(spans):
    entities = [Entity(label, start, start + size) for start, size, label in spans]
    tags, dropped = tags_from_entities(26, entities)
    assert all(allowed_transition(prev, tag) for prev, tag in zip([None, *tags], tags))
    assert sorted([*entities_from_tags(tags), *dropped]) == sorted(entities)


def test_tag_set_and_transitions():
    assert len(TAGS) == 21 and TAGS[0] == "O"
    assert allowed_transition("B-name", "I-name") and allowed_transition("I-name", "I-name")
    assert not allowed_transition(None, "I-name") and not allowed_transition("O", "I-name")
    assert not allowed_transition("B-game", "I-name") and allowed_transition("I-game", "B-name")
    with pytest.raises(ValueError, match="not a BIO tag"):
        entities_from_tags(["S-name"])
