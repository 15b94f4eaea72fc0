"""Pre-flight of the GPU targets and of the Makefile's variables (issues 15 and 17), table-driven, through the real
`make` in a temp copy of the front door (tests/make_project.py), the real doctor checks and LLaMA-Factory's parser.

Every row is a mistake a user makes: a GPU target on a machine without a GPU, a model that cannot be reached, a recipe
or override LLaMA-Factory would refuse only after loading the model, a recipe that was never trained (or whose
training failed), a RECIPE or SPLIT that is not one. Each must stop before anything loads, with one ``error:`` line
(two where the row says) naming the problem, a non-zero exit and no traceback. The machine is made GPU-less for
every row (CUDA_VISIBLE_DEVICES=""), and the hub is off (HF_HUB_OFFLINE=1, an empty HF_HOME), so the rows hold on
any machine. The rows that must pass are the CPU runs the tests and `make demo` do: fp32 and a local tiny model.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from llm_assets import make_lora_adapter

from cluener.layout import SAVES_DIR
from make_project import copy_front_door, make

RECIPE = "qwen3_0.6b_lora_sft"


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = copy_front_door(tmp_path_factory.mktemp("outer") / "repo")
    make(root, "data")
    train = (root / "yaml_configs" / "train" / f"{RECIPE}.yaml").read_text(encoding="utf-8")
    bad = {"bad_key": train + "lerning_rate: 1.0e-4\n",
           "bad_lr": train.replace("learning_rate: 1.0e-4", "learning_rate: fast"),
           "bad_dataset": train.replace("dataset: cluener_train ", "dataset: cluener_trian ")}  # fmt: skip
    for name, text in bad.items():
        assert text != train
        (root / "yaml_configs" / "train" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    return {**os.environ, "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1",
            "HF_HOME": str(tmp_path_factory.mktemp("hf-home"))}  # fmt: skip


def saves(root: Path, recipe: str) -> Path:
    folder = root / SAVES_DIR / recipe
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@dataclass
class Row:
    id: str
    args: list[str]
    needles: tuple[str, ...]
    setup: object = None  # fn(root, tiny) run first
    errors: int = 1
    extra: dict = field(default_factory=dict)


ROWS = [
    # GPU targets on a machine without a GPU (the 35-line "Your setup doesn't support bf16/gpu")
    Row("bf16-without-gpu", ["train", f"RECIPE={RECIPE}", "ARGS=model_name_or_path={tiny}"],
        ("precision: bf16 (bf16: true) needs a CUDA GPU", "PRECISION=fp32")),
    Row("fp16-without-gpu", ["predict", f"RECIPE={RECIPE}", "PRECISION=fp16",
                             "ARGS=model_name_or_path={tiny} adapter_name_or_path={adapter}"],
        ("precision: fp16 (fp16: true) needs a CUDA GPU",)),
    Row("default-train-no-gpu-no-hub", ["train", "SIZE=0.6b"],
        ("bf16", "Qwen/Qwen3-0.6B: not in the HF cache, and HF_HUB_OFFLINE=1"), errors=2),
    Row("qlora-without-gpu", ["train", "RECIPE=qwen3_8b_qlora_sft", "PRECISION=fp32", "ARGS=model_name_or_path={tiny}"],
        ("quantization_bit: 4 (bitsandbytes) needs a CUDA GPU",), errors=None),
    Row("gpu-smoke-without-gpu", ["gpu-smoke"], ("make gpu-smoke", "needs a CUDA GPU")),
    # the model (the 170 lines to "Failed to load tokenizer")
    Row("fp32-no-hub", ["train", "SIZE=0.6b", "PRECISION=fp32"],
        ("base model: Qwen/Qwen3-0.6B: not in the HF cache, and HF_HUB_OFFLINE=1",)),
    Row("missing-local-model", ["train", "SIZE=0.6b", "PRECISION=fp32", "ARGS=model_name_or_path=/no/such/model"],
        ("/no/such/model: no such folder",)),
    # what LLaMA-Factory refuses only after loading the model, or with its traceback
    Row("override-bad-type", ["train", "SIZE=0.6b", "PRECISION=fp32", "ARGS=model_name_or_path={tiny} learning_rate=fast"],
        ("LLaMA-Factory refuses it", "invalid float value: 'fast'")),
    Row("recipe-bad-type", ["train", "RECIPE=bad_lr", "PRECISION=fp32", "ARGS=model_name_or_path={tiny}"],
        ("yaml_configs/train/bad_lr.yaml", "invalid float value: 'fast'")),
    Row("recipe-unknown-key", ["train", "RECIPE=bad_key", "PRECISION=fp32", "ARGS=model_name_or_path={tiny}"],
        ("yaml_configs/train/bad_key.yaml", "Some keys are not used by the HfArgumentParser: ['lerning_rate']")),
    Row("recipe-undefined-dataset", ["train", "RECIPE=bad_dataset", "PRECISION=fp32", "ARGS=model_name_or_path={tiny}"],
        ("Undefined dataset cluener_trian in dataset_info.json.",)),
    Row("chat-bad-choice", ["chat", f"RECIPE={RECIPE}",
                            "ARGS=model_name_or_path={tiny} adapter_name_or_path={adapter} infer_dtype=fp8"],
        ("yaml_configs/chat/", "invalid choice: 'fp8'")),
    # trained means trained
    Row("predict-after-failed-train", ["predict", f"RECIPE={RECIPE}", "PRECISION=fp32", "ARGS=model_name_or_path={tiny}"],
        ("only a run card", f"train it first: make train RECIPE={RECIPE}", "needs a CUDA GPU"),
        setup=lambda root, tiny: (saves(root, RECIPE) / "run_command.json").write_text("{}")),
    Row("chat-after-interrupted-train", ["chat", "RECIPE=qwen3_1.7b_lora_sft", "ARGS=model_name_or_path={tiny}"],
        ("training stopped at checkpoint-400", "make train RECIPE=qwen3_1.7b_lora_sft"),
        setup=lambda root, tiny: (saves(root, "qwen3_1.7b_lora_sft") / "checkpoint-400").mkdir()),
    Row("export-never-trained", ["export", "RECIPE=qwen2.5_0.5b_lora_sft", "ARGS=model_name_or_path={tiny}"],
        ("saves/qwen2.5_0.5b_lora_sft does not exist", "train it first")),
    Row("api-never-trained", ["api", "RECIPE=qwen2.5_1.5b_lora_sft"], ("saves/qwen2.5_1.5b_lora_sft", "train it first")),
    Row("serve-vllm-never-trained", ["serve-vllm", "RECIPE=qwen2.5_7b_lora_sft"], ("train it first",)),
    Row("full-sft-never-trained", ["predict", "RECIPE=qwen3_0.6b_full_sft", "PRECISION=fp32"],
        ("saves/qwen3_0.6b_full_sft", "no trained model")),
    Row("submit-never-trained", ["submit", "RECIPE=qwen3_4b_instruct2507_lora_sft", "PRECISION=fp32"],
        ("saves/qwen3_4b_instruct2507_lora_sft does not exist", "train it first")),
    Row("encoder-never-trained", ["predict-encoder", "RECIPE=bilstm_crf_cpu"], ("no trained encoder",)),
    # variables that become paths (issue 17)
    Row("predict-api-recipe-path", ["predict-api", "RECIPE=../../x"], ("RECIPE='../../x': not a recipe name",)),
    Row("predict-recipe-path", ["predict", "RECIPE=../train/qwen3_0.6b_lora_sft"], ("not a recipe name",)),
    Row("train-unknown-recipe", ["train", "RECIPE=qwen9_lora"], ("RECIPE=qwen9_lora: no recipe",)),
    Row("predict-api-bad-split", ["predict-api", "SPLIT=bogus"], ("SPLIT='bogus'", "train, val, dev, test")),
    Row("predict-bad-split", ["predict", f"RECIPE={RECIPE}", "SPLIT=../x"], ("SPLIT='../x'",)),
    Row("report-bad-split", ["report", "PRED=x.jsonl", "SPLIT=bogus"], ("SPLIT='bogus'",)),
    Row("doctor-bad-recipe", ["doctor", "RECIPE=a/b"], ("RECIPE='a/b': not a recipe name",)),
    # trackers (issue 18): TRACKER= and report_to checked before the model loads; keys only from the environment
    Row("tracker-unknown", ["train", f"RECIPE={RECIPE}", "PRECISION=fp32", "TRACKER=tensorbord",
                            "ARGS=model_name_or_path={tiny}"], ("TRACKER='tensorbord': not a tracker",)),
    Row("tracker-not-installed", ["train", f"RECIPE={RECIPE}", "PRECISION=fp32", "TRACKER=mlflow",
                                  "ARGS=model_name_or_path={tiny}"],
        ("report_to: mlflow: the mlflow package is not installed", "pip install mlflow")),
    Row("report-to-not-installed", ["train", f"RECIPE={RECIPE}", "PRECISION=fp32",
                                    "ARGS=model_name_or_path={tiny} report_to=swanlab"],
        ("report_to: swanlab: the swanlab package is not installed",)),
    Row("key-in-args", ["train", f"RECIPE={RECIPE}", "PRECISION=fp32",
                        "ARGS=model_name_or_path={tiny} swanlab_api_key=sk-secret"],
        ("swanlab_api_key: a key in a recipe or ARGS", "SWANLAB_API_KEY")),
    Row("demo-tracker-unknown", ["demo", "TRACKER=tb"], ("TRACKER='tb': not a tracker",)),
    Row("sweep-tracker-not-installed", ["sweep", f"RECIPE={RECIPE}", "PRECISION=fp32", "TRACKER=wandb",
                                        "ARGS=model_name_or_path={tiny}"], ("report_to: wandb",)),
]  # fmt: skip


@pytest.fixture(scope="module")
def adapter(tiny_qwen3, tmp_path_factory) -> Path:
    return make_lora_adapter(tiny_qwen3, tmp_path_factory.mktemp("adapter") / "lora", rank=4)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_a_mistake_stops_before_anything_loads_with_one_line(row, root, env, tiny_qwen3, adapter):
    if row.setup:
        row.setup(root, tiny_qwen3)
    before = sorted(p.name for p in root.parent.iterdir())
    args = [a.format(tiny=tiny_qwen3, adapter=adapter) for a in row.args]
    result = make(root, *args, check=False, env=env, timeout=300)
    where = f"make {' '.join(args)}: exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert result.returncode != 0, where
    assert "Traceback" not in result.stdout + result.stderr, where
    assert "llamafactory-cli" not in result.stdout, where  # stopped before the launcher
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    if row.errors is not None:
        assert len(errors) == row.errors, where
    for needle in row.needles:
        assert any(needle in line for line in errors), f"{needle!r} not in an error line\n{where}"
    assert sorted(p.name for p in root.parent.iterdir()) == before, "something was written outside the repository"


def test_cpu_runs_with_a_local_model_in_fp32_pass(root, env, tiny_qwen3, adapter):
    """What the tests, `make demo` and gpu_smoke.sh's CPU dry run do: the pre-flight lets it through."""
    make(root, "check-train", f"RECIPE={RECIPE}", "PRECISION=fp32", f"ARGS=model_name_or_path={tiny_qwen3}", env=env)
    make(root, "check-predict", f"RECIPE={RECIPE}", "PRECISION=fp32",
         f"ARGS=model_name_or_path={tiny_qwen3} adapter_name_or_path={adapter}", env=env)  # fmt: skip
    make(root, "check-chat", f"RECIPE={RECIPE}", f"ARGS=model_name_or_path={tiny_qwen3} adapter_name_or_path={adapter}",
         env=env)  # infer_dtype: auto runs on the CPU  # fmt: skip
    smoke = make(root, "check-gpu-smoke", env={**env, "SMOKE_CPU_DRY_RUN": "1"})
    assert smoke.stderr == ""


def test_make_doctor_reports_the_machine_and_refuses_bf16_without_a_gpu(root, env, tiny_qwen3):
    result = make(root, "doctor", "SIZE=0.6b", check=False, env=env)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    table = {re.split(r"\s{2,}", line)[0]: line for line in result.stdout.splitlines()[1:] if line.strip()}
    for name in ("Python", "torch", "CUDA", "GPU", "llamafactory", "transformers", "peft", "trl", "deepspeed",
                 "bitsandbytes", "vllm", "trained", "precision", "base model", "disk (training output)",
                 "GPU memory (train)", "recipe"):  # fmt: skip
        assert name in table, result.stdout
    assert " none " in table["GPU"] and "FAIL" in table["precision"] and "FAIL" in table["base model"]
    ok = make(root, "doctor", "SIZE=0.6b", "PRECISION=fp32", f"ARGS=model_name_or_path={tiny_qwen3}", env=env)
    assert "LLaMA-Factory's parser accepts it" in ok.stdout and "FAIL" not in ok.stdout


def test_cluener_dir_with_a_space(root, cluener_dir, tmp_path):
    spaced = tmp_path / "my data" / "cluener 2020"
    shutil.copytree(cluener_dir, spaced)
    result = make(root, "data", f"CLUENER_DIR={spaced}")
    assert "round trip" in result.stdout
