"""python -m infer: the CLI against a local stub server (model discovery, default output, clear errors)."""

from __future__ import annotations

import pytest
import infer_assets
from infer_assets import final_rows, progress_header, write_dataset
from llm_assets import alpaca_records, write_dataset_dir

from infer.__main__ import main
from infer.journal import progress_path

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

stub = infer_assets.stub  # the fixture (a local server)


def test_main_reports_a_corrupt_progress_file(stub, tmp_path, capsys):
    data = write_dataset(tmp_path, 3)
    output = tmp_path / "o" / "generated_predictions.jsonl"
    output.parent.mkdir()
    progress_path(output).write_text(progress_header(n=3) + "{oops\n", encoding="utf-8")
    code = main(["--dataset", str(data), "--output", str(output), "--base-url", stub.url, "--no-progress-bar"])
    assert code == 1
    assert f"error: {progress_path(output)}:2: invalid JSON" in capsys.readouterr().err


def test_main_picks_the_served_model_and_the_default_output(stub, tmp_path, monkeypatch, capsys):
    write_dataset_dir(tmp_path / "data", {"cluener_val": alpaca_records(3)})
    monkeypatch.chdir(tmp_path)
    code = main(
        ["--name", "some_run", "--split", "val", "--dataset-dir", "data", "--base-url", stub.url, "--no-progress-bar"]
    )
    assert code == 0, capsys.readouterr().err
    output = tmp_path / "saves" / "some_run" / "predict_val_api" / "generated_predictions.jsonl"
    assert len(final_rows(output)) == 3
    assert {body["model"] for body in stub.requests} == {"stub-model"} and stub.requests[0]["max_tokens"] == 128
    assert "chat_template_kwargs" not in stub.requests[0]
