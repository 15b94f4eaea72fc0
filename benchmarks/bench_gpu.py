"""`make bench-gpu`: speed and memory of every training recipe, measured on a model of the recipe's real shape.

For each recipe (every GPU recipe of yaml_configs/train, or those named):

1. the checkpoint's published shape (benchmarks/qwen_shapes.py) is built on the meta device and its parameter count
   checked against the published one (a mismatch is one line and exit 1);
2. a model is built with random weights and the real Qwen BPE (scripts/tiny_qwen.py's tokenizer): on a GPU, the
   full shape in bf16; with ``--dry-run``, a shrunken copy of the same family (2 layers, hidden 64) in fp32 on CPU;
3. it trains through ``make train RECIPE=<recipe> ARGS="model_name_or_path=<built> max_steps=<steps> ..."`` with the
   recipe's own batch, accumulation, cutoff, precision, DeepSpeed and quantization, on the real CLUENER train set
   (the dry run: PRECISION=fp32, batch 2, no accumulation, 64 examples; no quantization or DeepSpeed: both need CUDA
   here), with LF's trainer log on every step;
4. benchmarks/bench_gpu_metrics.py reads LF's trainer_log.jsonl: the JSON per recipe goes to ``BENCH_OUT/<recipe>.json``
   and the table to ``BENCH_OUT/README.md``, LF's log beside it (``<recipe>.trainer_log.jsonl``); the built model
   and the run folder (saves/bench-gpu/<recipe>) are removed.

5. with ``--liger`` (make LIGER=1), on a GPU, the same steps again with LF's ``enable_liger_kernel: true``: its time,
   tokens/s, mfu and peak memory under ``liger_kernel``; in a dry run (or without liger-kernel) that is null and
   ``liger_kernel_reason`` says why.

Usage: ``python -m benchmarks.bench_gpu [--recipes R ...] [--steps 30] [--dry-run] [--liger] [--out reports/gpu-bench]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml
from benchmarks.bench_gpu_metrics import markdown, optimizer_steps, read_log, steady_state, summarise
from benchmarks.qwen_shapes import build_meta, count_params, hf_config, recipe_model, shape_of

from cluener.files import atomic_write_json, atomic_write_text
from cluener.layout import DATA_DIR, SAVES_DIR

ROOT = Path(__file__).resolve().parents[1]

TRAIN_DIR = ROOT / "yaml_configs" / "train"
DRY_SHRINK = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                  intermediate_size=128)
DRY_BATCH, DRY_SAMPLES = 2, 64
NEVER = 10**9


class BenchError(Exception):
    """One line for the user; exit 1."""


def gpu_recipes() -> list[str]:
    return sorted(p.stem for p in TRAIN_DIR.glob("*.yaml") if not p.stem.startswith("demo_"))


def load_recipe(recipe: str) -> dict:
    path = TRAIN_DIR / f"{recipe}.yaml"
    if not path.is_file():
        raise BenchError(f"RECIPE={recipe}: no yaml_configs/train/{recipe}.yaml (one of: {' '.join(gpu_recipes())})")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def check_params(recipe: str):
    """The real shape on the meta device; its count must equal the published count."""
    model = recipe_model(TRAIN_DIR / f"{recipe}.yaml")
    try:
        shape = shape_of(model)
    except KeyError as exc:
        raise BenchError(f"yaml_configs/train/{recipe}.yaml: {exc.args[0]}") from None
    params = count_params(build_meta(shape))
    if params != shape.published_params:
        raise BenchError(f"{recipe}: {model} built from its config has {params:,} parameters, "
                         f"published {shape.published_params:,}: the shape in benchmarks/qwen_shapes.py is wrong")
    return shape, params


def build_model(shape, out_dir: Path, dry_run: bool, lora: dict | None = None) -> Path:
    """Random weights of ``shape`` (shrunken, fp32, CPU for the dry run; full, bf16, on the GPU otherwise) + real BPE.

    ``lora`` ({"r": rank, "alpha": alpha}): also a LoRA adapter on every linear layer (PEFT's default init) in
    ``out_dir.parent / "adapter"``, for the predict recipes that load one."""
    import torch
    from scripts.tiny_qwen import build_tokenizer
    from transformers import AutoModelForCausalLM, GenerationConfig

    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    tokenizer = build_tokenizer(out_dir)
    if dry_run:
        config = hf_config(shape, vocab_size=len(tokenizer), **DRY_SHRINK)
        dtype, device = torch.float32, "cpu"
    else:
        config, dtype, device = hf_config(shape), torch.bfloat16, "cuda"
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.save_pretrained(out_dir)
    GenerationConfig(bos_token_id=151643, eos_token_id=[151645, 151643], pad_token_id=151643).save_pretrained(out_dir)
    if lora:
        from peft import LoraConfig, get_peft_model

        adapter = LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], target_modules="all-linear", task_type="CAUSAL_LM")
        get_peft_model(model, adapter).save_pretrained(out_dir.parent / "adapter")
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return out_dir


def train_args(config: dict, model_dir: Path, run_dir: Path, steps: int, dry_run: bool) -> list[str]:
    """LF overrides of the benchmark run: the recipe's own settings except what a timed run must change."""
    args = [f"model_name_or_path={model_dir}", f"output_dir={run_dir}", f"max_steps={steps}", "logging_steps=1",
            "include_num_input_tokens_seen=true", "plot_loss=false",
            # no evaluation or checkpoint inside the timed steps ("no" would reach LF's parser as a YAML false)
            f"eval_steps={NEVER}", f"save_steps={NEVER}",
            "overwrite_output_dir=true", "report_to=none"]
    if dry_run:
        args += [f"per_device_train_batch_size={DRY_BATCH}", "gradient_accumulation_steps=1",
                 f"max_samples={DRY_SAMPLES}", "preprocessing_num_workers=1", "dataloader_num_workers=0"]
        if "quantization_bit" in config:
            args.append("quantization_bit=null")
        if "deepspeed" in config:
            args.append("deepspeed=null")
    return args


def run_train(recipe: str, args: list[str], dry_run: bool, log_path: Path) -> None:
    venv = Path(sys.prefix)  # make bench-gpu runs this file with $(VENV)/bin/python; make train uses the same venv
    command = ["make", "--no-print-directory", f"--old-file={venv}/.installed", f"VENV={venv}", "train", f"RECIPE={recipe}",
               f"PRECISION={'fp32' if dry_run else 'bf16'}", "ARGS=" + " ".join(args)]
    env = dict(os.environ, RECORD_VRAM="1")
    with open(log_path, "w", encoding="utf-8") as log:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        raise BenchError(f"{recipe}: make train failed (exit {done.returncode}; log {log_path}): {' '.join(tail)}")


def gpu_name_and_context() -> tuple[str | None, float | None]:
    """The GPU's name and the memory a bare CUDA context holds (NVML, via nvidia-smi), or (None, None)."""
    import torch

    if not torch.cuda.is_available():
        return None, None
    if shutil.which("nvidia-smi") is None:  # no NVML reader: the context (and so the peak memory) stays null
        return torch.cuda.get_device_name(0), None
    probe = subprocess.Popen([sys.executable, "-c", "import torch,sys,time; torch.zeros(1,device='cuda'); "
                              "print('ready',flush=True); sys.stdin.read()"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        probe.stdout.readline()
        query = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                               capture_output=True, text=True, check=False).stdout
        used = [int(mem) for pid, mem in (line.split(", ") for line in query.splitlines() if ", " in line)
                if int(pid) == probe.pid]
    finally:
        probe.communicate("")
    return torch.cuda.get_device_name(0), (used[0] / 1024 if used else None)


def padding_for(config: dict, batch: int) -> tuple[float, int]:
    """Measured padding efficiency of micro-batches of ``batch`` with the recipe's own knob (benchmarks/padding.py)."""
    from benchmarks.padding import batches_efficiency, cut_lengths, grouped_order, pair_lengths, random_order

    lengths = cut_lengths(pair_lengths(config), int(config["cutoff_len"]))
    order = grouped_order(lengths, batch) if config.get("group_by_length") else random_order(len(lengths))
    return batches_efficiency(lengths, order, batch), len(lengths)


LIGER_CPU = ("dry run on CPU: liger-kernel's Triton kernels need a CUDA GPU (measured on CPU: liger-kernel 0.6.4 with "
             "triton 3.9.0 installs and imports; the first forward of a patched Qwen3 fails with triton's "
             "'0 active drivers'; liger-kernel 0.8.x refuses transformers < 5)")


def liger_reason(dry_run: bool) -> str | None:
    """Why LF's ``enable_liger_kernel`` cannot be measured on this machine, or None when it can."""
    import importlib.util

    if dry_run:
        return LIGER_CPU
    if importlib.util.find_spec("liger_kernel") is None:
        return "liger-kernel is not installed (pip install 'liger-kernel<0.7': 0.8.x needs transformers >= 5)"
    return None


def liger_run(recipe: str, config: dict, model_dir: Path, work: Path, steps: int, out: Path, shape, params: int,
              efficiency: float, gpu: str | None, context_gib: float | None, total: int | None) -> dict:
    """The same steps again with LF's ``enable_liger_kernel: true``: what it changes in time and memory."""
    run_dir = work / "run_liger"
    args = train_args(config, model_dir, run_dir, steps, False) + ["enable_liger_kernel=true"]
    run_train(recipe, args, False, out / f"{recipe}.liger.log")
    try:
        run = steady_state(read_log(run_dir / "trainer_log.jsonl"), warmup=max(1, steps // 5))
    except (OSError, ValueError) as exc:
        raise BenchError(f"{recipe} (enable_liger_kernel): {run_dir / 'trainer_log.jsonl'}: {exc}") from None
    row = summarise(recipe, params, shape, run, efficiency, gpu, context_gib, total, False)
    return {key: row[key] for key in ("seconds_per_step", "tokens_per_second", "mfu", "peak_memory_gib",
                                      "projected_hours")}


def bench(recipe: str, steps: int, dry_run: bool, out: Path, gpu: str | None, context_gib: float | None,
          liger: bool = False) -> dict:
    config = load_recipe(recipe)
    shape, params = check_params(recipe)
    batch = DRY_BATCH if dry_run else int(config["per_device_train_batch_size"])
    efficiency, examples = padding_for(config, batch)
    work = ROOT / SAVES_DIR / "bench-gpu" / recipe  # the built model and LF's run: saves/ is never committed
    shutil.rmtree(work, ignore_errors=True)  # what an interrupted run left
    model_dir = build_model(shape, work / "model", dry_run)
    run_dir = work / "run"
    started = time.monotonic()
    run_train(recipe, train_args(config, model_dir, run_dir, steps, dry_run), dry_run, out / f"{recipe}.log")
    log = run_dir / "trainer_log.jsonl"
    if not log.is_file():
        raise BenchError(f"{recipe}: make train wrote no {log} (log {out / f'{recipe}.log'})")
    atomic_write_text(out / f"{recipe}.trainer_log.jsonl", log.read_text(encoding="utf-8"))
    try:
        run = steady_state(read_log(log), warmup=max(1, steps // 5))
    except ValueError as exc:
        raise BenchError(f"{recipe}: {log}: {exc}") from None
    gpus = int(os.environ.get("NPROC_PER_NODE", "1"))
    total = None if dry_run else optimizer_steps(examples, int(config["per_device_train_batch_size"]),
                                                 int(config["gradient_accumulation_steps"]), gpus,
                                                 float(config["num_train_epochs"]))
    row = summarise(recipe, params, shape, run, efficiency, gpu, context_gib, total, dry_run)
    row["wall_seconds"] = round(time.monotonic() - started, 1)
    row["run"] = {"steps": steps, "model": recipe_model(TRAIN_DIR / f"{recipe}.yaml"),
                  "trained_shape": "shrunken copy (2 layers, hidden 64), fp32, CPU" if dry_run else "full, bf16",
                  "per_device_train_batch_size": batch,
                  "gpus": gpus, "train_examples": examples, "knob": "group_by_length" if config.get("group_by_length")
                  else "random batches", "date": time.strftime("%Y-%m-%d", time.gmtime())}
    reason = liger_reason(dry_run) if liger else "not asked for (LIGER=1)"
    row["liger_kernel"] = None if reason else liger_run(recipe, config, model_dir, work, steps, out, shape, params,
                                                        efficiency, gpu, context_gib, total)
    row["liger_kernel_reason"] = reason
    atomic_write_json(out / f"{recipe}.json", row)
    shutil.rmtree(work, ignore_errors=True)  # a GPU model (and a full-SFT run's weights) is GBs: only the numbers stay
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="*", default=None, help="training recipes (default: every GPU recipe)")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per recipe (30; dry run 6)")
    parser.add_argument("--dry-run", action="store_true", help="CPU: real shapes on meta, shrunken fp32 training")
    parser.add_argument("--out", default=str(ROOT / "reports" / "gpu-bench"))
    parser.add_argument("--liger", action="store_true", help="also run each recipe with enable_liger_kernel (GPU)")
    args = parser.parse_args(argv)
    steps = args.steps or (6 if args.dry_run else 30)
    out = Path(args.out).resolve()
    try:
        if steps < 3:
            raise BenchError(f"STEPS={steps}: at least 3 (the first steps are left out of the steady state)")
        recipes = args.recipes or gpu_recipes()
        for recipe in recipes:
            load_recipe(recipe)
        if not (ROOT / DATA_DIR / "manifest.json").is_file():
            raise BenchError("no prepared data; run 'make data' first")
        gpu, context = (None, None) if args.dry_run else gpu_name_and_context()
        if not args.dry_run and gpu is None:
            raise BenchError("no CUDA GPU: make bench-gpu needs one (DRY_RUN=1 runs the harness on CPU)")
        out.mkdir(parents=True, exist_ok=True)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows, failed = [], []
    for recipe in recipes:  # one recipe failing (e.g. out of memory) does not stop the others; it is reported
        try:
            rows.append(bench(recipe, steps, args.dry_run, out, gpu, context, args.liger))
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed.append(recipe)
            continue
        print(f"{recipe}: {rows[-1]['seconds_per_step']} s/step, params {rows[-1]['params']:,}", flush=True)
    table = markdown(rows)
    header = (f"# make bench-gpu{' DRY_RUN=1' if args.dry_run else ''}: {len(rows)} recipe(s), {steps} steps, "
              f"{gpu or 'CPU (dry run: the GPU columns stay empty)'}, {time.strftime('%Y-%m-%d', time.gmtime())}\n\n")
    failures = f"\nFailed (see <recipe>.log): {' '.join(failed)}\n" if failed else ""
    atomic_write_text(out / "README.md", header + table + failures)
    print(table, end="")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
