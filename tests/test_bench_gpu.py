"""`make bench-gpu` (benchmarks/bench_gpu.py, bench_gpu_metrics.py, qwen_shapes.py) and benchmarks/padding.py.

The dry run goes through the real chain: make bench-gpu -> make train -> llamafactory-cli on a shrunken copy of the
recipe's family, on CPU; the shapes are the published ones, built on the meta device.
"""

from __future__ import annotations

import json

import pytest
from make_project import copy_front_door, make


from benchmarks import bench_gpu, padding, qwen_shapes
from benchmarks.bench_gpu_metrics import markdown, optimizer_steps, path_params, steady_state


@pytest.mark.parametrize("recipe", bench_gpu.gpu_recipes())
def test_every_recipe_builds_its_published_parameter_count(recipe):
    shape, params = bench_gpu.check_params(recipe)
    assert params == shape.published_params
    assert shape is qwen_shapes.SHAPES[qwen_shapes.recipe_model(bench_gpu.TRAIN_DIR / f"{recipe}.yaml")]


def test_a_wrong_shape_is_one_line(monkeypatch):
    real = qwen_shapes.SHAPES["Qwen/Qwen3-0.6B"]
    wrong = qwen_shapes.Shape(**{**real.__dict__, "intermediate_size": 3000})
    monkeypatch.setitem(qwen_shapes.SHAPES, "Qwen/Qwen3-0.6B", wrong)
    with pytest.raises(bench_gpu.BenchError, match=r"qwen3_0\.6b_lora_sft: Qwen/Qwen3-0\.6B .* published 596,049,920"):
        bench_gpu.check_params("qwen3_0.6b_lora_sft")


def test_lora_and_path_parameters_of_the_real_shapes():
    # LoRA r16 on every linear layer: PEFT's count for Qwen3-4B / Qwen3-8B (33,030,144 / 43,646,976).
    assert qwen_shapes.lora_params(qwen_shapes.SHAPES["Qwen/Qwen3-4B-Instruct-2507"], 16) == 33_030_144
    assert qwen_shapes.lora_params(qwen_shapes.SHAPES["Qwen/Qwen3-8B"], 16) == 43_646_976
    # N_path of an untied model: every parameter but the input embedding and the norms.
    shape = qwen_shapes.SHAPES["Qwen/Qwen3-8B"]
    norms = shape.num_hidden_layers * (2 * shape.hidden_size + 2 * shape.head_dim) + shape.hidden_size
    assert path_params(shape) == shape.published_params - shape.vocab_size * shape.hidden_size - norms


def test_steady_state_leaves_out_the_first_steps():
    # elapsed = total_tokens / throughput: steps 1-2 slow (10 s), then 2 s per step of 1000 tokens.
    times = {1: 10.0, 2: 20.0, 3: 22.0, 4: 24.0, 5: 26.0}
    rows = [{"current_steps": s, "total_tokens": 1000 * s, "throughput": 1000 * s / t, "vram_reserved": s}
            for s, t in times.items()]  # fmt: skip
    run = steady_state(rows, warmup=2)
    assert run["seconds_per_step"] == pytest.approx(2.0)
    assert run["padded_tokens_per_second"] == pytest.approx(500.0)
    assert run["steps_measured"] == 2 and run["peak_reserved_gib"] == 5
    with pytest.raises(ValueError, match="too few"):
        steady_state(rows, warmup=4)


def test_optimizer_steps_follow_the_trainer():
    # transformers: len(dataloader) // accumulation per epoch, ceil(epochs x that).
    assert optimizer_steps(10248, 16, 1, 1, 3.0) == 3 * 641
    assert optimizer_steps(10248, 8, 2, 1, 3.0) == 3 * (1281 // 2)
    assert optimizer_steps(10248, 4, 1, 4, 3.0) == 3 * 641


def test_padding_knobs_on_the_train_set(project_root):
    config = padding.recipe_config("qwen3_0.6b_lora_sft")
    pairs = padding.pair_lengths(config, project_root / "data")
    lengths = padding.cut_lengths(pairs, int(config["cutoff_len"]))
    assert len(lengths) == 10248 and max(lengths) <= config["cutoff_len"]
    random_eff = padding.batches_efficiency(lengths, padding.random_order(len(lengths)), 16)
    grouped = padding.batches_efficiency(lengths, padding.grouped_order(lengths, 16), 16)
    # group_by_length reaches the >= 0.95 goal that random batches miss (the recipes' knob).
    assert random_eff < 0.9 < 0.95 <= grouped < 1
    # every example is kept once, whatever the order
    assert sorted(padding.grouped_order(lengths, 16)) == list(range(len(lengths)))
    efficiency, packs = padding.packing_efficiency(padding.cut_lengths(pairs, 255), 256)
    assert packs * 255 >= sum(lengths) and 0 < efficiency < 0.9  # 256-token packs leave gaps


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the front door with `make data` run in it."""
    root = copy_front_door(tmp_path_factory.mktemp("bench"))
    make(root, "data")
    return root


def test_dry_run_through_make(project):
    """make bench-gpu DRY_RUN=1 of the QLoRA 8B recipe: 8B counted on meta, a shrunken Qwen3 trained on CPU."""
    out = project / "bench-out"
    make(project, "bench-gpu", "DRY_RUN=1", "RECIPE=qwen3_8b_qlora_sft", "STEPS=4", "LIGER=1", f"BENCH_OUT={out}")
    row = json.loads((out / "qwen3_8b_qlora_sft.json").read_text(encoding="utf-8"))
    assert row["params"] == 8_190_735_360 and row["dry_run"] is True and row["steps_measured"] >= 2
    assert row["seconds_per_step"] > 0
    assert 0 < row["tokens_per_second"]["real"] < row["tokens_per_second"]["padded"]
    assert 0.5 < row["padding_efficiency"] < 1
    # what a CPU cannot measure stays empty
    assert row["gpu"] is None and row["mfu"] is None and row["peak_memory_gib"] is None
    assert row["projected_hours"] is None
    # LIGER=1: enable_liger_kernel is GPU only (Triton): null with the reason, no second run
    assert row["liger_kernel"] is None and "CUDA GPU" in row["liger_kernel_reason"]
    assert not (out / "qwen3_8b_qlora_sft.liger.log").exists()
    assert row["run"]["knob"] == "group_by_length" and row["run"]["per_device_train_batch_size"] == 2
    log = (out / "qwen3_8b_qlora_sft.trainer_log.jsonl").read_text(encoding="utf-8")
    assert len(log.splitlines()) >= 4  # LF's log line of every step, kept beside the numbers
    assert not (project / "saves" / "bench-gpu" / "qwen3_8b_qlora_sft").exists()  # the built model is not kept
    table = (out / "README.md").read_text(encoding="utf-8")
    assert markdown([row]).splitlines()[-1] in table and "| qwen3_8b_qlora_sft | 8,190,735,360 |" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["RECIPE=no_such_recipe"], "error: RECIPE=no_such_recipe: no yaml_configs/train/no_such_recipe.yaml"),
        (["RECIPE=qwen3_0.6b_lora_sft", "STEPS=2"], "error: STEPS=2: at least 3"),
    ],
)
def test_bad_arguments_are_one_line(project, tmp_path, args, message):
    result = make(project, "bench-gpu", "DRY_RUN=1", f"BENCH_OUT={tmp_path}", *args, check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and errors[0].startswith(message)
    assert "Traceback" not in result.stderr
