"""Partial prediction files (eval/partial.py): fewer lines than the split are scored on the lines they have, marked
partial in report.md, metrics.json and reports/README.md, never the best run, and never break ``python -m eval
report`` (a smoke test's ``--limit 16`` file used to make every later report exit 1)."""

from __future__ import annotations

import json

import pytest

from eval.__main__ import main

from conftest import SHARED_CLUENER, lf_row, write_jsonl
from test_eval_report import noisy_outputs

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

SMOKE = 16  # make predict-api API_ARGS="--limit 16"


def read_metrics(folder):
    return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def partial_report(tmp_path_factory, dev_records, data_dir):
    """saves/ with a complete gold-perfect dev run and a 16-line noisy predict_dev_api run, after `eval report`."""
    root = tmp_path_factory.mktemp("partial")
    saves, reports = root / "saves", root / "reports"
    write_jsonl(saves / "full" / "predict_dev" / "generated_predictions.jsonl",
                (lf_row(r, r["output"]) for r in dev_records))  # fmt: skip
    outputs = noisy_outputs(dev_records)[:SMOKE]
    write_jsonl(saves / "smoke" / "predict_dev_api" / "generated_predictions.jsonl",
                (lf_row(r, o) for r, o in zip(dev_records, outputs)))  # fmt: skip
    argv = ["report", "--saves", str(saves), "--reports", str(reports), "--data-dir", str(data_dir)]
    first = main(argv)
    second = main(argv)  # the partial file is up to date now: the later reports pass too
    return {"root": root, "reports": reports, "codes": (first, second), "outputs": outputs}


def test_report_exits_0_with_a_partial_file_and_stays_0(partial_report):
    assert partial_report["codes"] == (0, 0)


def test_partial_scores_are_the_official_scores_of_the_lines_it_has(partial_report, dev_records):
    """Scoring the 16 lines against the split equals scoring them against a gold file of its first 16 sentences."""
    root = partial_report["root"]
    gold16 = root / "dev16.json"
    gold16.write_text("".join((SHARED_CLUENER / "dev.json").read_text(encoding="utf-8").splitlines(keepends=True)[:SMOKE]), encoding="utf-8")
    pred = write_jsonl(root / "p16.jsonl", (lf_row(r, o) for r, o in zip(dev_records, partial_report["outputs"])))
    args = ["--gold", str(gold16), "--name", "dev16", "--reports", str(root / "other")]
    assert main(["score", str(pred), *args]) == 0
    whole = read_metrics(root / "other" / "dev16")
    partial = read_metrics(partial_report["reports"] / "smoke-dev_api")
    assert whole["partial"] is None
    assert partial["partial"] == {"scored_sentences": SMOKE, "split_sentences": len(dev_records)}
    assert partial["lines"] == SMOKE
    for section in ("official", "span"):
        for key in ("macro_f1", "micro_f1"):
            assert partial[section][key] == whole[section][key]
    assert partial["official"]["macro_f1"] < 1.0  # noisy: a test that could tell the runs apart


def test_partial_is_said_in_report_and_index_and_never_the_best(partial_report):
    reports = partial_report["reports"]
    report = (reports / "smoke-dev_api" / "report.md").read_text(encoding="utf-8")
    assert f"**Partial run (partial: {SMOKE} of " in report
    index = (reports / "README.md").read_text(encoding="utf-8")
    row = next(line for line in index.splitlines() if line.startswith("| [smoke-dev\\_api]"))
    assert f"(partial: {SMOKE} of " in row
    assert row.rstrip().endswith(f"| not compared: partial: {SMOKE} of 1343 sentences |")
    full_row = next(line for line in index.splitlines() if line.startswith("| [full-dev]"))
    assert "best run" in full_row and "partial" not in full_row
    assert index.index("[full-dev]") < index.index("[smoke-dev\\_api]")


def test_a_partial_run_is_the_best_only_among_partial_runs(tmp_path, dev_records, data_dir):
    """A partial run with a perfect score still ranks below a worse complete run."""
    saves, reports = tmp_path / "saves", tmp_path / "reports"
    write_jsonl(saves / "perfect16" / "predict_dev" / "generated_predictions.jsonl",
                (lf_row(r, r["output"]) for r in dev_records[:SMOKE]))  # fmt: skip
    write_jsonl(saves / "noisy" / "predict_dev" / "generated_predictions.jsonl",
                (lf_row(r, o) for r, o in zip(dev_records, noisy_outputs(dev_records))))  # fmt: skip
    assert main(["report", "--saves", str(saves), "--reports", str(reports), "--data-dir", str(data_dir)]) == 0
    index = (reports / "README.md").read_text(encoding="utf-8")
    assert index.index("[noisy-dev]") < index.index("[perfect16-dev]")
    noisy_row = next(line for line in index.splitlines() if line.startswith("| [noisy-dev]"))
    assert noisy_row.rstrip().endswith("| best run |")
    report = (reports / "perfect16-dev" / "report.md").read_text(encoding="utf-8")
    assert "| **perfect16-dev** (this run) (partial: 16 of" in report
