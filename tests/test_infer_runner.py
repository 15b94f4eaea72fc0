"""infer.runner: every record answered once, in order; resume after a hard error or a torn journal line."""

from __future__ import annotations

import pytest
import infer_assets
from infer_assets import client_for, final_rows, progress_line, write_dataset

from infer.journal import progress_path, read_progress
from infer.records import load_records
from infer.runner import run

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

stub = infer_assets.stub  # the fixture (a local server)


def test_run_writes_every_record_in_order_then_resumes_without_requests(stub, tmp_path):
    stub.delay = 0.01  # answers come back out of order with 4 workers
    records = load_records(write_dataset(tmp_path, 20))
    output = tmp_path / "out" / "generated_predictions.jsonl"
    settings = {"model": "stub-model", "max_tokens": 8, "system": None, "extra_body": None}
    summary = run(records, output, client_for(stub), settings, concurrency=4, progress_bar=False)
    assert (summary.done, summary.new, summary.output) == (20, 20, output)
    rows = final_rows(output)
    assert rows == [{"prompt": r.prompt, "predict": f"echo:{r.prompt}", "label": r.label} for r in records]
    assert list(rows[0]) == ["prompt", "predict", "label"]
    summary = run(records, output, client_for(stub), settings, concurrency=4, progress_bar=False)
    assert (summary.new, len(stub.requests)) == (0, 20) and final_rows(output) == rows


def test_run_stops_on_a_hard_error_and_resumes_past_a_torn_line(stub, tmp_path):
    records = load_records(write_dataset(tmp_path, 10))
    output = tmp_path / "generated_predictions.jsonl"
    sidecar = progress_path(output)
    settings = {"model": "stub-model", "max_tokens": 8, "system": None, "extra_body": None}
    stub.fail = [None] * 4 + [(400, {})]  # the 5th request fails for good
    summary = run(records, output, client_for(stub), settings, concurrency=1, progress_bar=False)
    assert summary.output is None and "HTTP 400" in summary.error and (summary.done, summary.new) == (4, 4)
    assert not output.exists()
    with open(sidecar, "a", encoding="utf-8") as handle:  # a crash in the middle of a write
        handle.write(progress_line(5)[:12])
    assert read_progress(sidecar, records).dropped_tail
    summary = run(records, output, client_for(stub), settings, concurrency=1, progress_bar=False)
    assert summary.output == output and summary.new == 6
    assert [row["predict"] for row in final_rows(output)] == [f"echo:{r.prompt}" for r in records]
    progress = read_progress(sidecar, records)  # torn tail gone, every line valid, each index once
    assert sorted(progress.done) == list(range(10)) and not progress.dropped_tail
    assert [body["messages"][-1]["content"] for body in stub.requests].count(records[4].prompt) == 2


def test_the_closing_lines_and_exit_status_say_how_the_run_ended(tmp_path):
    from pathlib import Path

    from infer.runner import Summary

    progress = tmp_path / "generated_predictions.progress.jsonl"
    lines, status = Summary(3, 3, 2, 1, Path("out.jsonl"), no_content=1).closing(64, progress, limit=3)
    assert status == 0
    assert lines[0] == "warning: 1 answers stopped at max_tokens 64"
    assert lines[1].startswith("warning: 1 answer with no content")
    assert lines[2] == "wrote out.jsonl: 3 predictions (2 new this run)"
    assert lines[3].startswith("note: --limit 3: the file covers only the first 3 records")
    lines, status = Summary(3, 1, 1, 0, None, error="interrupted").closing(64, progress, limit=None)
    assert (status, lines) == (130, [f"stopped (interrupted): 1/3 done, 1 new, kept in {progress}; rerun the same "
                                     "command to resume"])  # fmt: skip
    lines, status = Summary(3, 1, 1, 0, None, error="disk full").closing(64, progress, limit=None)
    assert status == 1 and lines[0].startswith("error: stopped (disk full): 1/3 done")
