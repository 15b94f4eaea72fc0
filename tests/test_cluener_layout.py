"""cluener.layout: the one owner of dataset, split, file and folder names, and the queries the Makefile makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cluener import layout
from conftest import ROOT

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def test_splits_in_one_order_and_dataset_names_round_trip():
    assert layout.SPLITS == ("train", "val", "dev", "test")
    for variant in ("default", "guided"):
        for split in layout.SPLITS:
            name = layout.dataset_name(split, variant)
            assert layout.dataset_parts(name) == (variant, split)
            assert layout.split_of(str(layout.data_file(name))) == split
    assert layout.dataset_names(["default"]) == ["cluener_train", "cluener_val", "cluener_dev", "cluener_test"]
    assert layout.split_of("my_file.json") is None and layout.dataset_parts("cluener_dev_extra") is None
    with pytest.raises(ValueError, match="unknown split 'gold'"):
        layout.dataset_name("gold")


def test_predictions_and_runs_follow_one_rule():
    path = layout.predictions_file(layout.recipe_save_dir("r"), "dev", layout.API_SUFFIX)
    assert path == Path("saves/r/predict_dev_api/generated_predictions.jsonl")
    assert layout.parse_predictions_path(path, Path("saves")) == ("dev", "r-dev_api")
    assert layout.parse_predictions_path(Path("saves/r/predict_dev/generated_predictions.jsonl"), Path("saves")) == (
        "dev",
        "r-dev",
    )
    for bad in ("saves/r/predict_gold/generated_predictions.jsonl", "saves/r/x/predict_dev/generated_predictions.jsonl"):
        assert layout.parse_predictions_path(Path(bad), Path("saves")) is None
    assert layout.predictions_file("saves/enc", "test") == Path("saves/enc/predict_test/generated_predictions.jsonl")
    assert layout.parse_predictions_path(Path("reports/r/predict_dev/generated_predictions.jsonl"), Path("saves")) is None
    assert layout.check_run_name("a-dev_api") == "a-dev_api"
    for bad in ("..", "a/b", "", "-x"):
        with pytest.raises(layout.RunNameError):
            layout.check_run_name(bad)


def test_recipe_dataset_follows_the_prompt_variant_of_the_predict_recipe(tmp_path):
    assert layout.recipe_dataset("qwen3_1.7b_lora_sft_guided", "test", ROOT / "yaml_configs") == "cluener_guided_test"
    assert layout.recipe_dataset("qwen2.5_7b_lora_sft", "val", ROOT / "yaml_configs") == "cluener_val"
    assert layout.recipe_dataset("no_such_recipe", "dev", ROOT / "yaml_configs") == "cluener_dev"
    (tmp_path / "predict").mkdir()
    (tmp_path / "predict" / "broken.yaml").write_text("eval_dataset: [unclosed\n", encoding="utf-8")
    with pytest.raises(layout.RecipeError, match=r"broken\.yaml: not valid YAML"):
        layout.recipe_dataset("broken", "dev", tmp_path)


def query(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cluener.layout", *args], cwd=ROOT, capture_output=True, text=True)


def test_cli_answers_the_makefile_queries():
    guided = ["--recipe", "qwen3_1.7b_lora_sft_guided", "--split", "test"]
    assert query("dataset", *guided).stdout == "cluener_guided_test\n"
    assert query("predictions-dir", *guided).stdout == "saves/qwen3_1.7b_lora_sft_guided/predict_test\n"
    assert query("predictions", *guided).stdout == (
        "saves/qwen3_1.7b_lora_sft_guided/predict_test/generated_predictions.jsonl\n"
    )
    assert query("run-name", *guided).stdout == "qwen3_1.7b_lora_sft_guided-test\n"
    bad = query("dataset", "--recipe", "r", "--split", "gold")
    assert bad.returncode == 2 and "invalid choice: 'gold'" in bad.stderr


def test_predictions_paths_parse_whichever_form_they_are_written_in(tmp_path, monkeypatch):
    """A predictions path and its saves folder may each be relative, absolute or reached through a symlink."""
    monkeypatch.chdir(tmp_path)
    pred = layout.predictions_file(layout.recipe_save_dir("r"), "dev")
    pred.parent.mkdir(parents=True)
    pred.touch()
    (tmp_path / "link").symlink_to(tmp_path, target_is_directory=True)
    for path, saves in [(pred, Path("saves")), (tmp_path / pred, Path("saves")), (pred, tmp_path / "saves"),
                        (Path("link") / pred, Path("saves")), (Path("./saves/x/../r/predict_dev") / pred.name, Path("saves"))]:  # fmt: skip
        assert layout.parse_predictions_path(path, saves) == ("dev", "r-dev"), (path, saves)
    monkeypatch.chdir(pred.parent)  # `python -m eval score generated_predictions.jsonl` inside the predict folder
    assert layout.training_dir_of(pred.name) == tmp_path / "saves" / "r"
    assert layout.training_dir_of(Path("..") / "predict_dev" / pred.name) == tmp_path / "saves" / "r"
