"""doctor.recipe_args: recipes and overrides through LLaMA-Factory's real parser and dataset registry, nothing loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doctor.recipe_args import RecipeArgsError, validate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def in_project(project_root, monkeypatch):
    """The recipes' dataset_dir is '.': run where `make data` built data/ and dataset_info.json."""
    monkeypatch.chdir(project_root)
    return project_root


def recipe(kind: str, name: str = "qwen3_0.6b_lora_sft") -> Path:
    return ROOT / "yaml_configs" / kind / f"{name}.yaml"


@pytest.mark.parametrize(
    ("kind", "overrides", "message"),
    [
        ("train", ["learning_rate=fast"], "argument --learning_rate/--learning-rate: invalid float value: 'fast'"),
        ("train", ["per_device_train_batch_size=2.5"], "invalid int value: '2.5'"),
        ("train", ["lerning_rate=1e-4"], "Some keys are not used by the HfArgumentParser: ['lerning_rate']"),
        ("train", ["eval_strategy=sometimes"], "invalid choice: 'sometimes'"),
        ("train", ["dataset=cluener_nope"], "Undefined dataset cluener_nope in dataset_info.json."),
        ("predict", ["eval_dataset=cluener_guided_nope"], "Undefined dataset cluener_guided_nope"),
        ("chat", ["infer_dtype=fp8"], "invalid choice: 'fp8'"),
        ("merge", ["export_size=big"], "invalid int value: 'big'"),
        ("train", ["bf16=maybe"], "Truthy value expected"),
    ],
)  # fmt: skip
def test_what_llamafactory_would_refuse_is_one_line(in_project, kind, overrides, message):
    with pytest.raises(RecipeArgsError) as caught:
        validate(kind, recipe(kind), ["bf16=false", *overrides] if kind in ("train", "predict") else overrides)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("kind", ["train", "predict", "chat", "merge"])
def test_every_kind_of_a_real_recipe_passes(in_project, kind):
    validate(kind, recipe(kind), ["bf16=false"] if kind in ("train", "predict") else [])


def test_a_registered_dataset_whose_file_is_missing(in_project, tmp_path):
    info = json.loads((in_project / "dataset_info.json").read_text())
    info["cluener_extra"] = {"file_name": "data/cluener_extra.json", "columns": {"prompt": "instruction"}}
    (tmp_path / "dataset_info.json").write_text(json.dumps(info))
    with pytest.raises(RecipeArgsError, match="dataset cluener_extra: .*cluener_extra.json not found"):
        validate("train", recipe("train"), ["bf16=false", f"dataset_dir={tmp_path}", "dataset=cluener_extra"])
