"""eval.run_logs and the run card's logs row: the tracker a run reported to and its TensorBoard event folders, as
paths relative to the run folder the report names (never this machine's absolute path). The real event file of a
real run (make demo) is read back in tests/test_end_to_end.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eval.run_card import build_card, card_rows
from eval.run_logs import event_folders, logs_text, run_logs
from provenance.run_record import RECORD_FILE

pytestmark = pytest.mark.light


def run_with_events(root: Path, *stamps: str) -> Path:
    run_dir = root / "saves" / "r"
    for i, stamp in enumerate(stamps):
        folder = run_dir / "runs" / stamp
        folder.mkdir(parents=True)
        (folder / f"events.out.tfevents.17000000{i}.box.1.0").write_bytes(b"")
        os.utime(folder, (1_700_000_000 + i, 1_700_000_000 + i))
    (run_dir / "runs" / "empty").mkdir(parents=True, exist_ok=True)  # no event file: not a log folder
    return run_dir


def test_event_folders_oldest_first_and_relative(tmp_path):
    run_dir = run_with_events(tmp_path, "Jan02_00-00-00_box", "Dec01_00-00-00_box")  # a resumed run: two starts
    assert [p.name for p in event_folders(run_dir)] == ["Jan02_00-00-00_box", "Dec01_00-00-00_box"]
    logs = run_logs(run_dir, "tensorboard")
    assert logs == {"tracker": "tensorboard", "tensorboard": ["runs/Jan02_00-00-00_box", "runs/Dec01_00-00-00_box"]}
    assert run_logs(run_dir, None)["tracker"] == "tensorboard"  # no record: the event files say it
    assert run_logs(tmp_path / "none", None) == {"tracker": "unknown", "tensorboard": []}
    assert run_logs(tmp_path / "none", ["wandb"])["tracker"] == "wandb"


def test_the_logs_row_of_each_tracker():
    assert logs_text({"tracker": "none", "tensorboard": []}, "saves/r") == "none"
    assert logs_text({"tracker": "tensorboard", "tensorboard": []}, "saves/r") == "tensorboard: no event file found"
    assert logs_text({"tracker": "mlflow", "tensorboard": []}, "saves/r").startswith("mlflow (")
    assert logs_text(None, "saves/r") == "unknown"  # a card written before the row existed


def test_the_card_of_a_run_links_its_event_folder(tmp_path, monkeypatch):
    run_dir = run_with_events(tmp_path, "Dec05_00-01-02_box")
    (run_dir / RECORD_FILE).write_text(json.dumps({"recipe": "yaml_configs/train/r.yaml", "overrides": [],
                                                   "config": {"report_to": "tensorboard"}}))  # fmt: skip
    pred = run_dir / "predict_dev" / "generated_predictions.jsonl"
    pred.parent.mkdir()
    pred.write_text("{}\n")
    monkeypatch.chdir(tmp_path)  # make report runs in the project root and names runs from there
    card = build_card(Path("saves/r/predict_dev/generated_predictions.jsonl"))
    assert card["logs"] == {"tracker": "tensorboard", "tensorboard": ["runs/Dec05_00-01-02_box"]}
    row = dict(card_rows(card))["logs"]
    assert row == "tensorboard: saves/r/runs/Dec05_00-01-02_box (make tensorboard)"
    assert str(tmp_path) not in json.dumps(card)
