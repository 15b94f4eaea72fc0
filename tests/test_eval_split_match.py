"""Prediction files that name no split (eval/split_match.py, eval/runs.py, cluener/layout.py's default_run_name):
``python -m eval score PRED`` with no --split reads the split from the path or from the prompts and names the run
after the path; ``python -m eval report`` scores LLaMA Board's ``saves/<model>/<method>/<run>/`` runs. A file whose
split cannot be told is one line that says to give it, exit 1.

The lines are LLaMA-Factory-shaped (conftest's ``lf_row``); tests/test_board_predictions.py does the same with
files written by the real ``llamafactory-cli``."""

from __future__ import annotations

import json

import pytest

from eval.__main__ import main

from conftest import lf_row, write_jsonl

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

BOARD_RUN = "Qwen3-4B-Instruct-2507_lora_eval_2026-12-05-00-00-00"


def records(data_dir, split: str) -> list[dict]:
    return json.loads((data_dir / f"cluener_{split}.json").read_text(encoding="utf-8"))


def metrics_of(reports, name: str) -> dict:
    return json.loads((reports / name / "metrics.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("split", "lines"), [("dev", None), ("val", 16), ("train", 5), ("test", 3)])
def test_score_reads_the_split_from_the_prompts(tmp_path, data_dir, split, lines):
    rows = records(data_dir, split)[:lines]
    pred = write_jsonl(tmp_path / "out" / "vllm_4b.jsonl", (lf_row(r, r["output"]) for r in rows))
    reports = tmp_path / "reports"
    assert main(["score", str(pred), "--reports", str(reports), "--data-dir", str(data_dir)]) == 0
    metrics = metrics_of(reports, f"vllm_4b-{split}")  # named after the file and its split
    assert metrics["split"] == split and metrics["lines"] == len(rows)
    assert (metrics["partial"] is None) == (lines is None)
    if split != "test":  # gold fed back: the official scores are perfect
        assert metrics["official"]["micro_f1"] == 1.0


def test_lfs_default_file_name_is_named_after_its_folder(tmp_path, data_dir, capsys):
    pred = write_jsonl(tmp_path / "vllm_run" / "generated_predictions.jsonl",
                       (lf_row(r, "{}") for r in records(data_dir, "dev")[:8]))  # fmt: skip
    assert main(["score", str(pred), "--reports", str(tmp_path / "reports"), "--data-dir", str(data_dir)]) == 0
    assert "vllm_run-dev/ (dev, PARTIAL: 8 OF 1343 SENTENCES)" in capsys.readouterr().out


def test_a_given_split_and_name_win(tmp_path, data_dir):
    pred = write_jsonl(tmp_path / "p.jsonl", (lf_row(r, r["output"]) for r in records(data_dir, "val")))
    reports = tmp_path / "reports"
    args = ["--reports", str(reports), "--data-dir", str(data_dir)]
    assert main(["score", str(pred), "--split", "val", "--name", "mine", *args]) == 0
    assert metrics_of(reports, "mine")["split"] == "val"
    assert main(["score", str(pred), "--split", "dev", "--name", "wrong", *args]) == 1  # the order check holds


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        (lambda recs: [lf_row(r, "{}") for r in reversed(recs[:4])], "are not the sentences of any split"),
        (lambda recs: [{"predict": "{}", "label": r["output"]} for r in recs[:4]], ":1: no prompt to tell the split by"),
        (lambda recs: [], "no predictions (the file is empty)"),
    ],
)
def test_a_split_that_cannot_be_told_is_one_line(tmp_path, data_dir, capsys, rows, says):
    pred = write_jsonl(tmp_path / "p.jsonl", rows(records(data_dir, "dev")))
    assert main(["score", str(pred), "--reports", str(tmp_path / "reports"), "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {pred}") and says in err, err
    assert "Traceback" not in err and (says.startswith("no predictions") or "SPLIT=<split>" in err)
    assert not (tmp_path / "reports" / "p-dev").exists()


def test_report_scores_board_runs(tmp_path, data_dir):
    """saves/<model>/<method>/<run>/generated_predictions.jsonl (LLaMA Board's Evaluate & Predict) is scored by
    `eval report` beside the project's runs, its split read from its prompts; a file in neither layout is named."""
    saves, reports = tmp_path / "saves", tmp_path / "reports"
    write_jsonl(saves / "Qwen3-4B-Instruct-2507" / "lora" / "eval_2026-12-05-00-00-00" / "generated_predictions.jsonl",
                (lf_row(r, r["output"]) for r in records(data_dir, "val")))  # fmt: skip
    write_jsonl(saves / "r" / "predict_dev" / "generated_predictions.jsonl",
                (lf_row(r, "{}") for r in records(data_dir, "dev")))  # fmt: skip
    write_jsonl(saves / "elsewhere" / "generated_predictions.jsonl", [lf_row(records(data_dir, "dev")[0], "{}")])
    argv = ["report", "--saves", str(saves), "--reports", str(reports), "--data-dir", str(data_dir)]
    assert main(argv) == 0
    board = metrics_of(reports, BOARD_RUN)
    assert board["split"] == "val" and board["partial"] is None and board["official"]["micro_f1"] == 1.0
    assert metrics_of(reports, "r-dev")["split"] == "dev"
    assert BOARD_RUN in (reports / "README.md").read_text(encoding="utf-8")
    assert sorted(p.name for p in reports.iterdir() if p.is_dir()) == [BOARD_RUN, "r-dev"]


def test_report_names_a_board_run_it_cannot_place(tmp_path, data_dir, capsys):
    saves = tmp_path / "saves"
    write_jsonl(saves / "Custom" / "lora" / "eval_x" / "generated_predictions.jsonl",
                [lf_row({"instruction": "抽取", "input": "不在任何划分里的句子", "output": "{}"}, "{}")])  # fmt: skip
    argv = ["report", "--saves", str(saves), "--reports", str(tmp_path / "reports"), "--data-dir", str(data_dir)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "error: Custom_lora_eval_x: " in err and "are not the sentences of any split" in err
    assert "error: 1 of 1 runs failed: Custom_lora_eval_x" in err
