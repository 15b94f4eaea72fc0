"""eval.run_card / eval.run_groups: what the card reads back of a run record (provenance.run_record; unknown when
missing, never guessed), the loss curve, and grouping runs over seeds with selection on val.

The card of a real LLaMA-Factory run (the tiny Qwen3 through `make train`, loss curve included) is checked in
tests/test_sweep.py, which trains such runs anyway.
"""

from __future__ import annotations

import json
import shutil

import pytest

from eval.run_card import build_card, card_rows, has_loss_curve, loss_curve_png, render_card
from eval.run_groups import config_key, group_runs, render_groups, selected
from provenance.run_record import RECORD_FILE, record

from conftest import ROOT
from make_project import recipe_project

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

RECIPE = "yaml_configs/train/qwen3_0.6b_lora_sft.yaml"

project = recipe_project  # a project folder holding RECIPE


def test_no_training_folder_no_card(tmp_path):
    pred = tmp_path / "loose" / "generated_predictions.jsonl"
    pred.parent.mkdir()
    pred.write_text("{}\n")
    assert build_card(pred) is None
    assert "unknown" in "\n".join(render_card(None))
    empty = tmp_path / "saves" / "r" / "predict_dev" / "generated_predictions.jsonl"
    empty.parent.mkdir(parents=True)
    empty.write_text("{}\n")
    assert build_card(empty) is None  # a folder with nothing training left in it


def test_only_the_record_known_the_rest_unknown(tmp_path):
    root = project(tmp_path)
    record(RECIPE, ["output_dir=saves/r", "seed=3"], cwd=root)
    pred = root / "saves" / "r" / "predict_dev" / "generated_predictions.jsonl"
    pred.parent.mkdir(parents=True)
    pred.write_text("{}\n")
    card = build_card(pred)
    assert card["recipe"] == RECIPE and card["seed"] == 3 and card["learning_rate"] == 1.0e-4
    assert card["lora"] == {"rank": 16, "alpha": 32, "target": "all", "source": RECORD_FILE}  # no adapter file
    assert card["batch"]["effective"] == 16  # the recorded config: 16 per device x 1 x 1 process
    assert card["steps_done"] == "unknown" and card["model"] == "Qwen/Qwen3-0.6B"
    assert card["train"] == {"runtime_s": "unknown", "samples_per_s": "unknown", "tokens_per_s": "unknown"}
    assert card["predict"] == {"runtime_s": "unknown", "samples_per_s": "unknown"}
    assert not has_loss_curve(card)
    text = "\n".join(render_card(card))
    assert "Loss curve: unknown" in text and "| seed | 3 |" in text


def test_a_split_named_for_what_it_is_still_finds_its_training_folder(tmp_path):
    """The demo predicts into saves/<recipe>/predict_train16 (16 train sentences): its card reads the training."""
    run = tmp_path / "saves" / "demo"
    state = {"global_step": 8, "log_history": [{"step": 1, "loss": 9.0}, {"step": 8, "loss": 1.5}]}
    (run / "predict_train16").mkdir(parents=True)
    (run / "trainer_state.json").write_text(json.dumps(state))
    pred = run / "predict_train16" / "generated_predictions.jsonl"
    pred.write_text("{}\n")
    card = build_card(pred)
    assert card is not None and card["steps_done"] == 8
    assert card["loss"]["train"] == [[1, 9.0], [8, 1.5]]


def test_encoder_card_from_its_summary(tmp_path):
    run_dir = tmp_path / "saves" / "bilstm_crf_cpu"
    (run_dir / "predict_dev").mkdir(parents=True)
    shutil.copy(ROOT / "reports" / "bilstm_crf_cpu-dev" / "train_summary.json", run_dir)
    card = build_card(run_dir / "predict_dev" / "generated_predictions.jsonl")
    assert card["kind"] == "encoder_ner" and card["recipe"] == "yaml_configs/encoder/bilstm_crf_cpu.yaml"
    assert card["overrides"] == [] and card["seed"] == 42 and card["steps_done"] == 8025
    assert card["batch"]["effective"] == 32 and card["train"]["runtime_s"] == 1362.0
    assert card["git"] == "unknown" and card["versions"] == "unknown"  # that summary did not record them
    assert len(card["loss"]["eval"]) == 25 and card["loss"]["eval"][-1][0] == 8025
    assert dict(card_rows(card))["hardware"] == "CPU, 2 cores, 2 torch threads"
    assert loss_curve_png(card, "t")[:8] == b"\x89PNG\r\n\x1a\n"


def run(name, split, seed, overrides, macro, recipe="r.yaml"):
    scores = {"macro_f1": macro, "micro_f1": macro, "per_class": {}}
    return {"name": name, "split": split, "official": scores, "span": {"micro_f1": macro, "macro_f1": macro},
            "run_card": {"recipe": recipe, "overrides": [f"seed={seed}", *overrides], "seed": seed}}  # fmt: skip


def test_groups_over_seeds_and_selection_on_val_only():
    runs = [
        run("a1v", "val", 1, ["learning_rate=1"], 0.60), run("a2v", "val", 2, ["learning_rate=1"], 0.62),
        run("b1v", "val", 1, ["learning_rate=2"], 0.50), run("b2v", "val", 2, ["learning_rate=2"], 0.52),
        run("a1d", "dev", 1, ["learning_rate=1"], 0.40), run("a2d", "dev", 2, ["learning_rate=1"], 0.40),
        run("b1d", "dev", 1, ["learning_rate=2"], 0.90), run("b2d", "dev", 2, ["learning_rate=2"], 0.90),
    ]  # fmt: skip
    groups = group_runs(runs)["r.yaml"]
    assert sorted(g.config for g in groups) == ["learning_rate=1", "learning_rate=2"]
    chosen = selected(groups)
    assert chosen.config == "learning_rate=1"  # best on val, although learning_rate=2 is better on dev
    mean, sd, n = chosen.mean_sd("val", "official", "macro_f1")
    assert mean == pytest.approx(0.61) and sd == pytest.approx(0.0141421, abs=1e-6) and n == 2
    text = "\n".join(render_groups(runs))
    assert "learning\\_rate=1 (**selected on val**)" in text or "learning_rate=1 (**selected on val**)" in text
    assert "0.6100 ± 0.0141" in text


def test_no_val_no_selection_and_single_runs_no_section():
    dev_only = [run("a", "dev", 1, [], 0.5), run("b", "dev", 2, [], 0.6)]
    assert selected(group_runs(dev_only)["r.yaml"]) is None
    assert "No val runs" in "\n".join(render_groups(dev_only))
    assert render_groups([run("a", "dev", 1, [], 0.5)]) == []
    assert config_key({"overrides": "unknown"}) == "unknown overrides"


def test_one_recipe_is_one_group_however_its_path_was_written():
    forms = [RECIPE, f"./{RECIPE}", str(ROOT / RECIPE), f"yaml_configs/../{RECIPE}"]
    runs = [run(f"s{seed}", "val", seed, [], 0.5 + seed / 100, recipe=form) for seed, form in enumerate(forms)]
    assert list(group_runs(runs)) == [RECIPE]
    assert group_runs(runs)[RECIPE][0].seeds("val") == [0, 1, 2, 3]


def test_one_seed_says_n_1_never_a_zero_sd():
    """Two configurations, one seed each: the table says n = 1 where no spread was measured."""
    runs = [run("a", "val", 1, ["learning_rate=1"], 0.5), run("b", "val", 1, ["learning_rate=2"], 0.6)]
    text = "\n".join(render_groups(runs))
    assert "0.6000 (n = 1)" in text and "± 0.0000" not in text
    assert "0.5000 (n = 1)" in text


def test_loss_curve_is_titled_by_what_it_holds():
    from eval.run_card import loss_curve_title

    assert loss_curve_title({"loss": {"train": [[1, 2.0]], "eval": []}}) == "training loss"
    assert loss_curve_title({"loss": {"train": [], "eval": [[1, 2.0]]}}) == "eval loss"
    assert loss_curve_title({"loss": {"train": [[1, 2.0]], "eval": [[1, 2.0]]}}) == "training loss and eval loss"
