"""infer.journal: the progress file (corrupt input -> errors naming file and line; one writer at a time)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from infer_assets import progress_header, progress_line

from infer.journal import ProgressError, ProgressWriter, check_settings, progress_path, prompt_hash, read_progress
from infer.records import Record

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def _records(n: int = 4) -> list[Record]:
    return [Record(i, f"prompt {i}", f"label {i}") for i in range(n)]


def test_progress_round_trip(tmp_path):
    path = tmp_path / "p.progress.jsonl"
    assert read_progress(path, _records()) is None
    path.write_text(progress_header() + progress_line(2, "b") + progress_line(0, "a"), encoding="utf-8")
    progress = read_progress(path, _records())
    assert {i: d["predict"] for i, d in progress.done.items()} == {2: "b", 0: "a"}
    assert progress.settings["model"] == "m" and not progress.dropped_tail
    assert progress.valid_bytes == path.stat().st_size


@pytest.mark.parametrize(
    "body, line, problem",
    [
        (progress_line(0) + "{not json\n" + progress_line(1), 3, "invalid JSON"),
        (progress_line(0) + '["a list"]\n', 3, "expected a JSON object"),
        (progress_line(7), 2, "index 7 is not an integer in [0, 4)"),
        (progress_line(0) + json.dumps({"index": True, "predict": "x"}) + "\n", 3, "index True"),
        (json.dumps({"index": 1, "prompt_sha256": prompt_hash("prompt 1")}) + "\n", 2, "'predict' is missing"),
        (progress_line(1) + progress_line(1), 3, "index 1 appears twice"),
        (progress_line(3, prompt="another prompt"), 2, "different prompt"),
    ],
)
def test_corrupt_progress_line_is_a_clear_error(tmp_path, body, line, problem):
    path = tmp_path / "p.progress.jsonl"
    path.write_text(progress_header() + body, encoding="utf-8")
    with pytest.raises(ProgressError) as info:
        read_progress(path, _records())
    assert str(info.value).startswith(f"{path}:{line}: ") and problem in str(info.value)


def test_progress_of_another_dataset_or_not_a_progress_file(tmp_path):
    path = tmp_path / "p.progress.jsonl"
    path.write_text(progress_header(n=5), encoding="utf-8")
    with pytest.raises(ProgressError, match=r":1: made for a dataset of 5 records, this one has 4"):
        read_progress(path, _records())
    path.write_text('{"prompt": "x", "predict": "y", "label": "z"}\n', encoding="utf-8")
    with pytest.raises(ProgressError, match=r":1: not a progress header"):
        read_progress(path, _records())
    path.write_bytes(progress_header().encode() + b'{"index": 0, "predict": "\xff"}\n')
    with pytest.raises(ProgressError, match=r":2: not valid UTF-8"):
        read_progress(path, _records())


def test_incomplete_last_line_is_dropped(tmp_path):
    path = tmp_path / "p.progress.jsonl"
    complete = progress_header() + progress_line(0)
    path.write_text(complete + progress_line(1)[:20], encoding="utf-8")  # a write cut by a crash: no newline
    progress = read_progress(path, _records())
    assert list(progress.done) == [0] and progress.dropped_tail
    assert progress.valid_bytes == len(complete.encode())


def test_resuming_with_other_settings_is_refused(tmp_path):
    path = tmp_path / "p.progress.jsonl"
    path.write_text(progress_header() + progress_line(0), encoding="utf-8")
    progress = read_progress(path, _records())
    check_settings(progress, {"model": "m", "max_tokens": 8, "system": None, "extra_body": None, "base_url": "x"})
    with pytest.raises(ProgressError, match=r":1: made with model='m', this run has model='other'.*--restart"):
        check_settings(progress, {"model": "other", "max_tokens": 8, "system": None, "extra_body": None})


def test_two_runs_cannot_write_one_progress_file(tmp_path):
    path = tmp_path / "p.progress.jsonl"
    first = ProgressWriter(path)
    try:
        with pytest.raises(ProgressError, match="another `python -m infer` run"):
            ProgressWriter(path)
    finally:
        first.close()
    ProgressWriter(path).close()  # free again once the first is closed


def test_the_journal_sits_beside_the_output():
    assert progress_path("a/generated_predictions.jsonl") == Path("a/generated_predictions.progress.jsonl")
