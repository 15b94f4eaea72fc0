"""Span predictions (a tagger's exact spans, or a CLUENER-format file): read, checked against the gold, scored as
they are -- not re-aligned from strings."""

from __future__ import annotations

import json

import pytest

from eval.__main__ import main
from cluener.reader import Entity, Example, entities_to_label_dict
from eval.predictions import (
    PredictedSpan,
    PredictionsFormatError,
    PredictionsMismatchError,
    check_alignment,
    read_predictions,
)
from eval.scoring import score_run
from cluener.target import render_target

from conftest import SHARED_CLUENER, write_jsonl

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

TEXT = "张三说张三在北京"
GOLD = Example(TEXT, (Entity("name", 0, 2), Entity("address", 6, 8)))


def span_row(text: str, entities, **extra) -> dict:
    return {"prompt": text, "predict": render_target(text, entities), "label": "", "spans":
            entities_to_label_dict(text, entities), **extra}  # fmt: skip


def test_spans_are_read_beside_predict(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [span_row(TEXT, GOLD.entities), {"predict": "{}"}])
    first, second = read_predictions(path)
    assert first.spans == (PredictedSpan("name", "张三", 0, 2), PredictedSpan("address", "北京", 6, 8))
    assert second.spans is None


def test_a_cluener_format_line_is_recognised_by_its_keys(tmp_path):
    rows = [{"text": TEXT, "label": {"name": {"张三": [[0, 1], [3, 4]]}}}, {"id": 7, "label": {}}]
    first, second = read_predictions(write_jsonl(tmp_path / "p.jsonl", rows))
    assert (first.prompt, first.predict) == (TEXT, '{"name":["张三"]}')
    assert [s.start for s in first.spans] == [0, 3]
    assert (second.prompt, second.predict, second.spans) == (None, "{}", ())


@pytest.mark.parametrize(
    "row, problem",
    [
        ({"predict": '{"name":["李四"]}', "spans": {"name": {"张三": [[0, 1]]}}}, "name different (type, string)"),
        ({"predict": "{}", "spans": {"person": {"张三": [[0, 1]]}}}, "unknown type 'person'"),
        ({"predict": '{"name":["张三"]}', "spans": {"name": {"张三": [[0, 2]]}}}, "bad span [0, 2]"),
        ({"predict": '{"name":["张三"]}', "spans": {"name": {"张三": [[-1, 0]]}}}, "bad span [-1, 0]"),
        ({"predict": "{}", "spans": ["张三"]}, "expected an object"),
        ({"text": TEXT, "label": {"name": {"张三": []}}}, "non-empty list"),
        ({"text": 3, "label": {}}, "'text' is not a string"),
    ],
)
def test_bad_spans_name_the_line(tmp_path, row, problem):
    path = write_jsonl(tmp_path / "p.jsonl", [{"predict": "{}"}, row])
    with pytest.raises(PredictionsFormatError) as info:
        read_predictions(path)
    assert str(info.value).startswith(f"{path}:2: ") and problem in str(info.value)


def test_a_span_must_cover_its_string_in_the_gold_even_without_the_prompt_check(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"text": TEXT, "label": {"address": {"北京": [[5, 6]]}}}])
    with pytest.raises(PredictionsMismatchError, match=r"p.jsonl:1: span \[5, 6\] of address '北京' covers '在北'"):
        check_alignment(read_predictions(path), [GOLD], path, "gold.json", check_prompts=False)


def test_spans_are_scored_as_they_are_not_realigned(tmp_path):
    # The tagger found the first 张三 only, which is the gold. Aligning the string 张三 would place it twice.
    path = write_jsonl(tmp_path / "p.jsonl", [span_row(TEXT, GOLD.entities)])
    exact = score_run(read_predictions(path), [GOLD])
    assert exact.span.micro_f1 == exact.official.micro_f1 == 1.0
    assert exact.parse_stats()["span_lines"] == 1 and exact.parse_stats()["ok"] == 1
    label = {"name": {"张三": [[0, 1]]}, "address": {"北京": [[6, 7]]}}
    assert exact.cluener_rows() == [{"text": TEXT, "label": label}]
    strings = score_run(read_predictions(write_jsonl(tmp_path / "s.jsonl", [{"predict": span_row(TEXT, GOLD.entities)[
        "predict"]}])), [GOLD])  # fmt: skip
    assert strings.span.micro_f1 < 1.0 and strings.parse_stats()["span_lines"] == 0


def test_the_official_dev_file_scores_itself_perfectly_through_the_cli(tmp_path, data_dir):
    """dev.json read as a CLUENER-format predictions file: every span of every sentence, repeated mentions and all."""
    reports = tmp_path / "reports"
    status = main(["score", str(SHARED_CLUENER / "dev.json"), "--split", "dev", "--name", "gold-dev",
                   "--reports", str(reports), "--data-dir", str(data_dir)])  # fmt: skip
    assert status == 0
    metrics = json.loads((reports / "gold-dev" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["span"]["micro_f1"] == metrics["official"]["macro_f1"] == 1.0
    assert metrics["span"]["support"] == 3072 and metrics["parse"]["span_lines"] == 1343
    assert metrics["order_check"].startswith("passed")
    assert "scored as they are" in (reports / "gold-dev" / "report.md").read_text(encoding="utf-8")
