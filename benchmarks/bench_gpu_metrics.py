"""What `make bench-gpu` reports for one run, read from what LLaMA-Factory wrote (no trainer of our own).

The run trains with ``logging_steps=1`` and ``include_num_input_tokens_seen=true``, so every line of LF's
``trainer_log.jsonl`` carries ``total_tokens`` (tokens fed so far, padding included: transformers counts
``input_ids.numel()``; its ``non_padding`` mode is not reachable through LF's parser) and ``throughput`` (total_tokens
over the seconds since training started, unrounded): ``elapsed = total_tokens / throughput`` is the step's exact time.
With ``RECORD_VRAM=1`` each line also carries LF's ``vram_reserved`` (torch's peak reserved memory, GiB).

- ``seconds_per_step``: steady state, the time between the last logged step and the first kept one (the first
  ``warmup`` steps are left out: compilation, allocator growth, dataloader start);
- ``tokens_per_second.padded``: tokens fed over that time (measured); ``.real``: padded x padding_efficiency (the
  share of real tokens in the micro-batches of this recipe's knob, measured on CPU by benchmarks/padding.py);
- ``mfu`` = 6 x N_path x real tokens per second / the GPU's dense bf16 peak, N_path = the parameters every token
  multiplies (the blocks' linear layers + the output head; the input embedding is a lookup): the 6N convention
  (forward 2N, backward 4N), attention's sequence-length term left out (~2-3 % at these lengths); null without a
  known GPU peak;
- ``peak_memory_gib``: the largest ``vram_reserved`` + the CUDA context (measured by NVML for a bare CUDA process);
- ``projected_hours``: seconds_per_step x optimizer steps of ``num_train_epochs`` over the train set (evaluation and
  checkpoint saving not included).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity), from the vendors' data sheets; an unknown GPU gets mfu null.
BF16_PEAK_TFLOPS = {
    "H200": 989.4,  # same SXM tensor cores as H100 SXM
    "H100 80GB HBM3": 989.4,  # H100 SXM
    "H100 PCIe": 756.5,
    "A100": 312.0,
}


def gpu_peak_tflops(gpu_name: str | None) -> float | None:
    if not gpu_name:
        return None
    for key, peak in BF16_PEAK_TFLOPS.items():
        if key in gpu_name:
            return peak
    return None


def read_log(path: str | Path) -> list[dict]:
    """The step lines of LF's trainer_log.jsonl (lines with a loss and the token counters)."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if "total_tokens" in row and row.get("throughput"):
                rows.append(row)
    return rows


def steady_state(rows: list[dict], warmup: int) -> dict:
    """Seconds per step and real tokens per second between the first step after ``warmup`` and the last step."""
    kept = [r for r in rows if r["current_steps"] > warmup]
    if len(kept) < 2:
        raise ValueError(f"{len(rows)} logged steps: too few after leaving out the first {warmup}")
    first, last = kept[0], kept[-1]
    elapsed = [r["total_tokens"] / r["throughput"] for r in (first, last)]
    seconds = elapsed[1] - elapsed[0]
    steps = last["current_steps"] - first["current_steps"]
    return {
        "seconds_per_step": seconds / steps,
        "padded_tokens_per_second": (last["total_tokens"] - first["total_tokens"]) / seconds,
        "steps_measured": steps,
        "peak_reserved_gib": max((r.get("vram_reserved", -1) for r in rows), default=-1),
    }


def path_params(shape) -> int:
    """N_path: linear-layer weights of the blocks plus the output head (what 6N counts per token)."""
    q, kv = shape.num_attention_heads * shape.head_dim, shape.num_key_value_heads * shape.head_dim
    h, f = shape.hidden_size, shape.intermediate_size
    per_layer = h * q + 2 * h * kv + q * h + 3 * h * f
    return shape.num_hidden_layers * per_layer + shape.vocab_size * h


def optimizer_steps(examples: int, per_device: int, accumulation: int, gpus: int, epochs: float) -> int:
    per_epoch = math.ceil(examples / (per_device * gpus)) // accumulation or 1
    return math.ceil(per_epoch * epochs)


def summarise(recipe: str, params: int, shape, run: dict, padding_efficiency: float, gpu: str | None,
              context_gib: float | None, steps_total: int | None, dry_run: bool) -> dict:
    """The recorded row of one recipe; what this machine cannot measure is None."""
    padded = run["padded_tokens_per_second"]
    real = padded * padding_efficiency
    peak = gpu_peak_tflops(gpu)
    reserved = run["peak_reserved_gib"]
    memory = reserved + context_gib if (reserved is not None and reserved >= 0 and context_gib is not None) else None
    return {
        "recipe": recipe,
        "params": params,
        "gpu": gpu,
        "dry_run": dry_run,
        "seconds_per_step": round(run["seconds_per_step"], 4),
        "steps_measured": run["steps_measured"],
        "tokens_per_second": {"real": round(real, 1), "padded": round(padded, 1)},
        "mfu": round(6 * path_params(shape) * real / (peak * 1e12), 4) if (peak and not dry_run) else None,
        "peak_memory_gib": round(memory, 2) if memory is not None else None,
        "projected_hours": round(run["seconds_per_step"] * steps_total / 3600, 2) if steps_total else None,
        "padding_efficiency": round(padding_efficiency, 4),
    }


COLUMNS = ["recipe", "params", "gpu", "seconds_per_step", "tokens/s real", "tokens/s padded", "mfu",
           "peak_memory_gib", "projected_hours", "padding_efficiency"]


def cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        values = [r["recipe"], r["params"], r["gpu"] or ("cpu (dry run)" if r["dry_run"] else None),
                  r["seconds_per_step"], r["tokens_per_second"]["real"], r["tokens_per_second"]["padded"], r["mfu"],
                  r["peak_memory_gib"], r["projected_hours"], r["padding_efficiency"]]
        lines.append("| " + " | ".join(cell(v) for v in values) + " |")
    return "\n".join(lines) + "\n"
