"""`make sweep` for real on CPU: the tiny Qwen3, 2 seeds x 2 learning rates, a few steps, val and dev predicted and
scored, selection on val, resume after an interruption; and the run card (with its loss curve) of those runs.

Runs in a temp copy of the front door (tests/make_project.py), like the end-to-end chain.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from make_project import build_tiny_qwen3, copy_front_door, make

pytestmark = pytest.mark.slow

RECIPE = "qwen3_0.6b_lora_sft"
SEEDS = "42 43"
GRID = "learning_rate=1e-3,1e-4"
VAL_SIZE = 40
COMBOS = [f"learning_rate={lr}+seed={s}" for lr in ("1e-3", "1e-4") for s in (42, 43)]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = copy_front_door(tmp_path_factory.mktemp("sweep"))
    make(root, "data", f"VAL_SIZE={VAL_SIZE}")  # a small val split: 8 predictions of it are cheap
    return root


@pytest.fixture(scope="module")
def tiny(project) -> Path:
    return build_tiny_qwen3(project, project / "tiny-qwen3")


def sweep_args(tiny: Path) -> list[str]:
    return [
        f"RECIPE={RECIPE}", f"SEEDS={SEEDS}", f"GRID={GRID}",
        f"ARGS=model_name_or_path={tiny} bf16=false preprocessing_num_workers=1 dataloader_num_workers=0",
        "TRAIN_ARGS=max_steps=4 max_samples=32 logging_steps=1 eval_steps=2 save_steps=2 per_device_train_batch_size=4",
        "PREDICT_ARGS=max_new_tokens=4 per_device_eval_batch_size=512",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def swept(project, tiny) -> str:
    return make(project, "sweep", *sweep_args(tiny), timeout=3000).stdout


def test_every_combination_is_trained_predicted_and_scored(project, swept):
    for combo in COMBOS:
        folder = project / "saves" / f"{RECIPE}-sweep-{combo}"
        assert (folder / "train_results.json").is_file() and (folder / "adapter_config.json").is_file()
        record = json.loads((folder / "run_command.json").read_text())
        lr, seed = combo.split("+")
        assert lr in record["overrides"] and seed in record["overrides"]
        for split, lines in (("val", VAL_SIZE), ("dev", 1343)):
            pred = folder / f"predict_{split}" / "generated_predictions.jsonl"
            assert len(pred.read_text(encoding="utf-8").splitlines()) == lines
            metrics = json.loads((project / "reports" / f"{folder.name}-{split}" / "metrics.json").read_text())
            assert metrics["split"] == split and metrics["lines"] == lines


def test_selection_is_on_val_and_the_readme_groups_the_seeds(project, swept):
    assert "selected on val official macro F1" in swept and "<- selected" in swept
    assert [line for line in swept.splitlines() if line.startswith("sweep: run ")] == [
        f"sweep: run {i}/{len(COMBOS)}: {combo}" for i, combo in enumerate(COMBOS, 1)]  # each run named as it starts
    readme = (project / "reports" / "README.md").read_text(encoding="utf-8")
    assert "## Seeds and configurations" in readme
    assert "learning\\_rate=1e-3" in readme and "learning\\_rate=1e-4" in readme  # Markdown-escaped
    assert "±" in readme and "selected on val" in readme


def test_run_card_and_loss_curve(project, swept):
    name = f"{RECIPE}-sweep-{COMBOS[0]}-dev"
    metrics = json.loads((project / "reports" / name / "metrics.json").read_text())
    card = metrics["run_card"]
    assert card["recipe"] == f"yaml_configs/train/{RECIPE}.yaml"
    assert card["seed"] == 42 and card["learning_rate"] == 1e-3  # read as LLaMA-Factory reads 1e-3: a float
    assert card["lora"]["rank"] == 16 and card["lora"]["alpha"] == 32
    assert card["batch"]["effective"] == 4 and card["steps_done"] == 4
    assert card["versions"]["llamafactory"] == "0.9.5" and card["hardware"]["kind"] == "cpu"
    assert card["git"] == "unknown"  # the temp copy is not a git checkout: said, not guessed
    assert isinstance(card["train"]["runtime_s"], float) and isinstance(card["predict"]["samples_per_s"], float)
    assert len(card["loss"]["train"]) == 4 and len(card["loss"]["eval"]) == 2
    # each combination's TensorBoard events in its own folder (logging_dir follows the sweep's output_dir)
    assert card["logs"]["tracker"] == "tensorboard" and len(card["logs"]["tensorboard"]) == 1
    assert card["logs"]["tensorboard"][0].startswith("runs/")
    png = project / "reports" / name / "loss_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (project / "reports" / name / "report.md").read_text(encoding="utf-8")
    assert "## Run card" in report and "![loss curve](loss_curve.png)" in report
    assert "(" in report and "–" in report  # intervals: 0.1234 (0.1000–0.1500)


def test_an_interrupted_sweep_resumes_where_it_stopped(project, tiny, swept):
    first = project / "saves" / f"{RECIPE}-sweep-{COMBOS[0]}"
    last = project / "saves" / f"{RECIPE}-sweep-{COMBOS[-1]}"
    kept = (first / "adapter_model.safetensors").stat().st_mtime_ns
    shutil.rmtree(last / "predict_dev")  # as if killed while predicting dev
    (last / "train_results.json").unlink()  # ... and before training had finished (its checkpoints remain)
    out = make(project, "sweep", *sweep_args(tiny), timeout=3000).stdout
    assert f"{first.name}: trained already" in out
    assert f"{last.name}: trained already" not in out and (last / "train_results.json").is_file()
    assert (first / "adapter_model.safetensors").stat().st_mtime_ns == kept
    assert len((last / "predict_dev" / "generated_predictions.jsonl").read_text().splitlines()) == 1343
    assert f"reports/{first.name}-dev/: up to date" in out


def test_bad_grid_is_one_line(project):
    result = make(project, "sweep", f"RECIPE={RECIPE}", "GRID=learning_rate", check=False)
    assert result.returncode != 0 and "GRID item 'learning_rate': expected key=value1,value2" in result.stderr
    assert "Traceback" not in result.stderr
