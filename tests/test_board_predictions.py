"""Predictions from LLaMA-Factory's usual places, scored by `make report` (eval/split_match.py, eval/runs.py):

- a LLaMA Board Evaluate & Predict run: the Board's launch path for real (LLaMA-Factory's own ``save_cmd`` writes
  the arguments the Board builds, then ``llamafactory-cli train <that yaml>`` with the Board's environment) on the
  tiny Qwen3 + a LoRA adapter, into ``saves/<model>/lora/<run>/``, then a plain `make report`;
- ``scripts/vllm_infer.py``'s output, at its default path (``generated_predictions.jsonl`` in the working folder)
  with `make report PRED=... RUN=...`, and at the path the README gives it (``saves/<recipe>/predict_dev_vllm/``)
  with a plain `make report`.

vLLM cannot generate on this CPU machine (its kernels need a GPU), so the vllm_infer.py file is made by the script's
own code path up to the generation: the same LLaMA-Factory calls (``get_infer_args``, ``load_tokenizer``,
``get_template_and_fix_tokenizer``, ``get_dataset(..., "ppo")``), its prompts and labels decoded as it decodes them
(``skip_special_tokens=True``, the prompt without the chat template's special tokens, unlike LF's predict file), its
line written as it writes it; the ``predict`` texts are those the real LF predict run wrote for the same model and
sentences. Its scores must then equal the Board run's, line for line the same outputs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from llm_assets import cli_env, llamafactory_cli, make_lora_adapter
from make_project import copy_front_door, make

from cluener.layout import DATA_DIR, DATASET_INFO, REPORTS_DIR, dataset_name, predictions_file, recipe_save_dir, run_name

pytestmark = pytest.mark.slow

BOARD_MODEL, BOARD_RUN = "Qwen3-0.6B-Base", "eval_2026-12-05-00-00-00"  # the Board's model name and output dir
REPORTED = f"{BOARD_MODEL}_lora_{BOARD_RUN}"  # cluener/layout.py's board_run_name
SAMPLES = 16  # the Board's "Max samples"
RECIPE = "qwen3_4b_instruct2507_lora_sft"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, built) -> Path:
    """A copy of the front door with the `make data` build of the session."""
    root = copy_front_door(tmp_path_factory.mktemp("repo"))
    shutil.rmtree(root / DATA_DIR)
    shutil.copytree(built["root"] / DATA_DIR, root / DATA_DIR, symlinks=True)
    shutil.copy2(built["root"] / DATASET_INFO, root / DATASET_INFO)
    return root


@pytest.fixture(scope="module")
def adapter(workdir, tiny_qwen3) -> Path:
    return make_lora_adapter(tiny_qwen3, workdir / "saves" / BOARD_MODEL / "lora" / "train_2026-12-04-23-00-00")


@pytest.fixture(scope="module")
def board_run(workdir, tiny_qwen3, adapter) -> Path:
    """The Board's Evaluate & Predict of cluener_dev (Data dir ".", as `make webui` sets it) with the adapter."""
    from llamafactory.webui.common import save_cmd

    output_dir = workdir / "saves" / BOARD_MODEL / "lora" / BOARD_RUN
    args = dict(  # what llamafactory.webui.runner's _parse_eval_args builds (sampling, as the Board does)
        stage="sft", model_name_or_path=str(tiny_qwen3), finetuning_type="lora", template="qwen3_nothink",
        dataset_dir=".", eval_dataset=dataset_name("dev"), cutoff_len=1024, max_samples=SAMPLES,
        per_device_eval_batch_size=2, predict_with_generate=True, report_to="none", max_new_tokens=12, top_p=0.7,
        temperature=0.95, output_dir=str(output_dir), trust_remote_code=False, do_predict=True,
        adapter_name_or_path=str(adapter),
    )  # fmt: skip
    env = cli_env(LLAMABOARD_ENABLED="1", LLAMABOARD_WORKDIR=str(output_dir))
    result = subprocess.run(llamafactory_cli("train", save_cmd(args)), cwd=workdir, env=env, capture_output=True,
                            text=True, timeout=1800)  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    return output_dir / "generated_predictions.jsonl"


def test_make_report_scores_the_board_run(workdir, board_run):
    rows = [json.loads(line) for line in board_run.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == SAMPLES and all({"prompt", "predict", "label"} <= set(row) for row in rows)
    result = make(workdir, "report")
    assert f"{REPORTS_DIR}/{REPORTED}/ (dev, PARTIAL: {SAMPLES} OF 1343 SENTENCES)" in result.stdout
    metrics = json.loads((workdir / REPORTS_DIR / REPORTED / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["split"] == "dev" and metrics["lines"] == SAMPLES
    assert metrics["partial"] == {"scored_sentences": SAMPLES, "split_sentences": 1343}
    assert metrics["order_check"].startswith("passed")
    assert REPORTED in (workdir / REPORTS_DIR / "README.md").read_text(encoding="utf-8")


def vllm_infer_rows(workdir: Path, tiny: Path, adapter: Path, predicts: list[str]) -> list[str]:
    """scripts/vllm_infer.py's lines for cluener_dev, ``predicts`` in place of vLLM's generations."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.extras.constants import IGNORE_INDEX
    from llamafactory.hparams import get_infer_args
    from llamafactory.model import load_tokenizer
    from transformers import Seq2SeqTrainingArguments

    model_args, data_args, _, _ = get_infer_args(dict(
        model_name_or_path=str(tiny), adapter_name_or_path=str(adapter), dataset=dataset_name("dev"),
        dataset_dir=str(workdir), template="qwen3_nothink", cutoff_len=2048, max_samples=SAMPLES,
    ))  # fmt: skip
    training_args = Seq2SeqTrainingArguments(output_dir=str(workdir / "dummy_dir"))
    tokenizer_module = load_tokenizer(model_args)
    tokenizer = tokenizer_module["tokenizer"]
    template = get_template_and_fix_tokenizer(tokenizer, data_args)
    template.mm_plugin.expand_mm_tokens = False
    dataset = get_dataset(template, model_args, data_args, training_args, "ppo", **tokenizer_module)["train_dataset"]
    assert len(dataset) == len(predicts)
    lines = []
    for sample, pred in zip(dataset, predicts, strict=True):
        prompt = tokenizer.decode(sample["input_ids"], skip_special_tokens=True)
        label = tokenizer.decode([t for t in sample["labels"] if t != IGNORE_INDEX], skip_special_tokens=True)
        lines.append(json.dumps({"prompt": prompt, "predict": pred, "label": label}, ensure_ascii=False) + "\n")
    return lines


def test_make_report_scores_vllm_infer_output(workdir, tiny_qwen3, adapter, board_run):
    board_rows = [json.loads(line) for line in board_run.read_text(encoding="utf-8").splitlines()]
    lines = vllm_infer_rows(workdir, tiny_qwen3, adapter, [row["predict"] for row in board_rows])
    rows = [json.loads(line) for line in lines]
    assert [row["label"] for row in rows] == [row["label"] for row in board_rows]  # the same sentences, in order
    assert "<|im_start|>" in board_rows[0]["prompt"] and "<|im_start|>" not in rows[0]["prompt"]  # its own decoding
    (workdir / "generated_predictions.jsonl").write_text("".join(lines), encoding="utf-8")  # its default save_name
    result = make(workdir, "report", "PRED=generated_predictions.jsonl", "RUN=tiny_vllm")
    assert f"{REPORTS_DIR}/tiny_vllm/ (dev, PARTIAL: {SAMPLES} OF 1343 SENTENCES)" in result.stdout
    readme_path = workdir / predictions_file(recipe_save_dir(RECIPE), "dev", "vllm")  # --save_name as the README gives it
    readme_path.parent.mkdir(parents=True)
    readme_path.write_text("".join(lines), encoding="utf-8")
    make(workdir, "report")
    board = json.loads((workdir / REPORTS_DIR / REPORTED / "metrics.json").read_text(encoding="utf-8"))
    for name in ("tiny_vllm", run_name(RECIPE, "dev", "vllm")):
        metrics = json.loads((workdir / REPORTS_DIR / name / "metrics.json").read_text(encoding="utf-8"))
        assert metrics["split"] == "dev" and metrics["partial"] == board["partial"]
        for section in ("official", "span", "parse"):
            assert metrics[section] == board[section], (name, section)


def test_a_file_of_no_split_asks_for_it(workdir):
    other = workdir / "other.jsonl"
    other.write_text(json.dumps({"prompt": "user\n抽取\n不在任何划分里的句子", "predict": "{}", "label": "{}"},
                                ensure_ascii=False) + "\n", encoding="utf-8")  # fmt: skip
    result = make(workdir, "report", "PRED=other.jsonl", check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "error: other.jsonl: its prompts are not the sentences of any split" in result.stderr
    assert "make report PRED=<file> SPLIT=<split>" in result.stderr
