"""`make bench-predict` (benchmarks/bench_predict.py): LF predict and LF api on a shaped model at the gold lengths.

The dry run goes through the real chain on CPU: a shrunken copy of the recipe's family with a random LoRA adapter,
``llamafactory-cli train yaml_configs/predict/<recipe>.yaml`` per gold-length bucket, and ``llamafactory-cli api``
answering requests whose ``max_tokens`` is each sentence's gold length.
"""

from __future__ import annotations

import json

import pytest
from make_project import copy_front_door, make


from benchmarks.predict_lengths import buckets, overshoot


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = copy_front_door(tmp_path_factory.mktemp("bench_predict"))
    make(root, "data")
    return root


def test_dry_run_through_make(project):
    """The QLoRA 8B recipe: its adapter, quantization left out on CPU, 12 dev sentences in 2 buckets."""
    out = project / "bench-out"
    make(project, "bench-predict", "DRY_RUN=1", "RECIPE=qwen3_8b_qlora_sft", "LIMIT=12", f"BENCH_OUT={out}")
    row = json.loads((out / "predict" / "qwen3_8b_qlora_sft.json").read_text(encoding="utf-8"))
    assert row["params"] == 8_190_735_360 and row["dry_run"] is True and row["gpu"] is None
    assert row["sentences"] == 12 and row["dev_sentences"] == 1343 and row["test_sentences"] == 1345
    lengths = row["gold_lengths"]
    assert len(lengths) == 12 and all(0 < n <= 128 for n in lengths)
    assert row["adapter"] == "random LoRA r16 on every linear layer"

    hf = row["hf_predict"]
    groups = buckets(lengths, 2)
    # each bucket ran with max_new_tokens = its longest gold length, and LF wrote a prediction per sentence
    assert [b["max_new_tokens"] for b in hf["buckets"]] == [max(lengths[i] for i in g) for g in groups]
    assert [b["predictions"] for b in hf["buckets"]] == [len(g) for g in groups]
    assert hf["overshoot_tokens"] == sum(overshoot(lengths, groups)) and hf["gold_tokens"] == sum(lengths)
    assert hf["sentences_per_second"] > 0 and hf["projected_minutes"]["dev"] > 0

    api = row["api"]
    # LF's api passes max_tokens through: no answer is longer than its gold length, and a random model
    # (which practically never emits the stop token) generates up to it
    assert api["gold_tokens"] == sum(lengths) and api["completion_tokens"] <= sum(lengths)
    assert api["stopped_early"] < len(lengths) and api["completion_tokens"] > 0
    assert api["sentences_per_second"] > 0 and api["server_concurrency"] == 4 and api["concurrency"] == 16
    # vLLM is not in the CPU set: null, with the reason
    assert row["vllm"] is None and "vllm" in row["vllm_reason"]
    table = (out / "predict" / "README.md").read_text(encoding="utf-8")
    assert "| qwen3_8b_qlora_sft | 8,190,735,360 | cpu (dry run) | 12 |" in table
    assert not (project / "saves" / "bench-predict" / "qwen3_8b_qlora_sft").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["RECIPE=no_such_recipe"], "error: RECIPE=no_such_recipe: no yaml_configs/train/no_such_recipe.yaml"),
        (["RECIPE=qwen3_0.6b_lora_sft", "LIMIT=0"], "error: LIMIT=0: must be at least 1"),
    ],
)
def test_bad_arguments_are_one_line(project, tmp_path, args, message):
    result = make(project, "bench-predict", "DRY_RUN=1", f"BENCH_OUT={tmp_path}", *args, check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and errors[0].startswith(message)
    assert "Traceback" not in result.stderr
