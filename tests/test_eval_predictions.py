"""Reading LLaMA-Factory predictions: every bad line is named (file:line: problem); order is checked against gold."""

from __future__ import annotations

import pytest

from cluener.reader import Example
from eval.predictions import (
    PredictionsFormatError,
    PredictionsMismatchError,
    check_alignment,
    read_predictions,
)

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def write(tmp_path, content: str | bytes):
    path = tmp_path / "generated_predictions.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


GOOD = '{"prompt": "user 张三在北京 assistant", "predict": "{\\"name\\":[\\"张三\\"]}", "label": "{}"}'


def test_reads_lines_in_order_with_line_numbers(tmp_path):
    path = write(tmp_path, GOOD + "\n" + '{"predict": "{}"}' + "\n")
    preds = read_predictions(path)
    assert [(p.line, p.predict, p.prompt) for p in preds] == [
        (1, '{"name":["张三"]}', "user 张三在北京 assistant"),
        (2, "{}", None),
    ]


def test_final_newline_is_optional(tmp_path):
    assert len(read_predictions(write(tmp_path, GOOD + "\n" + GOOD))) == 2


@pytest.mark.parametrize(
    "bad, problem",
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"prompt": "x", "label": "{}"}', "'predict' is missing"),
        ('{"predict": null}', "'predict' is null"),
        ('{"predict": ["张三"]}', "'predict' is not a string: list"),
        ('{"predict": "{}", "prompt": 3}', "'prompt' is not a string: int"),
        ("", "empty line"),
        ("   ", "empty line"),
    ],
)
def test_bad_line_names_file_line_and_problem(tmp_path, bad, problem):
    path = write(tmp_path, GOOD + "\n" + bad + "\n" + GOOD + "\n")
    with pytest.raises(PredictionsFormatError) as info:
        read_predictions(path)
    assert str(info.value).startswith(f"{path}:2: ")
    assert problem in str(info.value)


def test_invalid_utf8_names_the_line(tmp_path):
    path = write(tmp_path, (GOOD + "\n").encode() + b'{"predict": "\xff"}\n')
    with pytest.raises(PredictionsFormatError, match=r":2: not valid UTF-8"):
        read_predictions(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="predictions file not found"):
        read_predictions(tmp_path / "nope.jsonl")


GOLD = [Example("张三在北京", line=1), Example("李四去上海", line=2)]


def preds_for(tmp_path, prompts):
    rows = "\n".join(f'{{"prompt": "{p}", "predict": "{{}}"}}' for p in prompts)
    return read_predictions(write(tmp_path, rows + "\n"))


def test_order_check_passes_and_tolerates_tokenizer_whitespace(tmp_path):
    preds = preds_for(tmp_path, ["抽取：张三 在北京", "抽取：李四去上海\\n"])
    assert check_alignment(preds, GOLD, "p.jsonl", "g.json").startswith("passed")


def test_count_mismatch_is_a_clear_error(tmp_path):
    preds = preds_for(tmp_path, ["张三在北京"])
    with pytest.raises(PredictionsMismatchError, match=r"p.jsonl: 1 predictions, but g.json has 2 sentences"):
        check_alignment(preds, GOLD, "p.jsonl", "g.json")


def test_reordered_or_wrong_split_predictions_are_an_error(tmp_path):
    preds = preds_for(tmp_path, ["李四去上海", "张三在北京"])
    with pytest.raises(PredictionsMismatchError, match=r"p.jsonl:1: the prompt does not contain .* g.json line 1"):
        check_alignment(preds, GOLD, "p.jsonl", "g.json")
    assert check_alignment(preds, GOLD, "p.jsonl", "g.json", check_prompts=False).startswith("disabled")


def test_without_prompts_the_order_cannot_be_checked_and_that_is_an_error(tmp_path):
    preds = read_predictions(write(tmp_path, '{"predict": "{}"}\n{"predict": "{}"}\n'))
    with pytest.raises(PredictionsMismatchError, match=r"p.jsonl:1: no prompt .* 2 of 2 lines have none"):
        check_alignment(preds, GOLD, "p.jsonl", "g.json")
    assert check_alignment(preds, GOLD, "p.jsonl", "g.json", check_prompts=False).startswith("disabled")
