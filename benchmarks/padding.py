"""Padding efficiency of a training recipe on the train set: real tokens over the tokens a step computes.

Sequence lengths come from the recipe's own template (LLaMA-Factory's ``encode_oneturn``, ``enable_thinking`` as the
recipe says) with the real Qwen BPE (scripts/tiny_qwen.py), truncated as LLaMA-Factory truncates (``infer_seqlen``).
Then, per knob, what LLaMA-Factory / transformers would put in each micro-batch:

- ``random``: shuffled batches of the recipe's ``per_device_train_batch_size`` (or ``--batch``), padded to the
  longest in the batch rounded up to 8 (LF's SFT collator: ``pad_to_multiple_of=8`` when training);
- ``group_by_length``: the same batches in the order of transformers' ``get_length_grouped_indices`` (what the
  Trainer's ``LengthGroupedSampler`` yields with ``group_by_length: true``): each example still alone in its row;
- ``packing`` / ``neat_packing`` at ``cutoff_len`` C: LF's ``greedy_knapsack`` over the lengths cut to C - 1, each
  pack padded to C. Both pack the same tokens; ``neat_packing`` adds a block-diagonal mask and restarts positions,
  so each example's loss is what it was alone, while plain ``packing`` lets examples attend to each other.

Usage: ``python -m benchmarks.padding [--recipes R ...] [--cutoffs 256 512 1024] [--batch 16] [--json OUT]``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import yaml

from cluener.layout import DATA_DIR, data_file
from cluener.prompts import build_prompt

ROOT = Path(__file__).resolve().parents[1]

PAD_MULTIPLE = 8  # LF's SFT collator pads to a multiple of 8 when training
SEED = 42


def recipe_config(recipe: str) -> dict:
    path = ROOT / "yaml_configs" / "train" / f"{recipe}.yaml"
    if not path.is_file():
        raise SystemExit(f"{path}: no such training recipe")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def pair_lengths(config: dict, data_dir: Path = ROOT / DATA_DIR) -> list[tuple[int, int]]:
    """(prompt, target) token counts of every train example through the recipe's template, before any cut."""
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from scripts.tiny_qwen import build
    from transformers import AutoTokenizer

    path = data_file(config["dataset"], data_dir)
    if not path.is_file():
        raise SystemExit(f"{path}: missing, run `make data` first")
    tokenizer = AutoTokenizer.from_pretrained(build(ROOT / ".cache" / "qwen-bpe", tokenizer_only=True))
    args = DataArguments(template=config["template"], enable_thinking=config.get("enable_thinking", True))
    template = get_template_and_fix_tokenizer(tokenizer, args)
    pairs = []
    for row in json.loads(path.read_text(encoding="utf-8")):
        messages = [{"role": "user", "content": build_prompt(row["instruction"], row["input"])},
                    {"role": "assistant", "content": row["output"]}]
        source, target = template.encode_oneturn(tokenizer, messages)
        pairs.append((len(source), len(target)))
    return pairs


def cut_lengths(pairs: list[tuple[int, int]], cutoff_len: int) -> list[int]:
    """Sequence lengths cut to ``cutoff_len`` as LF cuts them (``infer_seqlen``)."""
    from llamafactory.data.processor.processor_utils import infer_seqlen

    return [sum(infer_seqlen(source, target, cutoff_len)) for source, target in pairs]


def padded(n: int) -> int:
    return -(-n // PAD_MULTIPLE) * PAD_MULTIPLE


def batches_efficiency(lengths: list[int], order: list[int], batch: int) -> float:
    real = pad = 0
    for start in range(0, len(order), batch):
        rows = [lengths[i] for i in order[start : start + batch]]
        real += sum(rows)
        pad += padded(max(rows)) * len(rows)
    return real / pad


def random_order(n: int) -> list[int]:
    order = list(range(n))
    random.Random(SEED).shuffle(order)
    return order


def grouped_order(lengths: list[int], batch: int) -> list[int]:
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    return get_length_grouped_indices(lengths, batch, generator=torch.Generator().manual_seed(SEED))


def packing_efficiency(lengths: list[int], cutoff_len: int) -> tuple[float, int]:
    """(real / padded, number of packs) of LF's packing at ``cutoff_len`` (lengths already cut to cutoff_len - 1)."""
    from llamafactory.data.processor.processor_utils import greedy_knapsack

    packs = greedy_knapsack(list(lengths), cutoff_len - 1)
    return sum(lengths) / (len(packs) * padded(cutoff_len)), len(packs)


def measure(recipe: str, cutoffs: list[int], batch: int | None = None, data_dir: Path = ROOT / DATA_DIR) -> dict:
    config = recipe_config(recipe)
    batch = batch or int(config["per_device_train_batch_size"])
    pairs = pair_lengths(config, data_dir)
    lengths = cut_lengths(pairs, int(config["cutoff_len"]))
    result = {
        "recipe": recipe,
        "template": config["template"],
        "examples": len(lengths),
        "real_tokens": sum(lengths),
        "mean_length": round(sum(lengths) / len(lengths), 1),
        "max_length": max(lengths),
        "batch": batch,
        "random": round(batches_efficiency(lengths, random_order(len(lengths)), batch), 4),
        "group_by_length": round(batches_efficiency(lengths, grouped_order(lengths, batch), batch), 4),
        "packing": {},
    }
    for cutoff in cutoffs:
        cut = cut_lengths(pairs, cutoff - 1)  # LF: packing cuts each example to C - 1
        efficiency, packs = packing_efficiency(cut, cutoff)
        truncated = sum(source + target > cutoff - 1 for source, target in pairs)
        result["packing"][str(cutoff)] = {"efficiency": round(efficiency, 4), "packs": packs, "truncated": truncated}
    return result


def table(results: list[dict]) -> str:
    cutoffs = list(results[0]["packing"]) if results else []
    head = ["recipe", "template", "batch", "mean / max tokens", "random", "group_by_length"]
    head += [f"(neat_)packing {c}" for c in cutoffs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r["recipe"], r["template"], str(r["batch"]), f"{r['mean_length']} / {r['max_length']}",
                 f"{r['random']:.3f}", f"{r['group_by_length']:.3f}"]
        cells += [f"{p['efficiency']:.3f} ({p['packs']} packs" + (f", {p['truncated']} cut)" if p["truncated"] else ")")
                  for p in r["packing"].values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=None, help="training recipes (default: one per template)")
    parser.add_argument("--cutoffs", nargs="+", type=int, default=[256, 512, 1024, 2048])
    parser.add_argument("--batch", type=int, default=None, help="micro-batch size (default: the recipe's)")
    parser.add_argument("--data-dir", default=str(ROOT / DATA_DIR))
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    recipes = args.recipes or ["qwen3_0.6b_lora_sft", "qwen3_4b_instruct2507_lora_sft", "qwen2.5_7b_lora_sft",
                               "qwen3_1.7b_lora_sft_guided"]
    results = [measure(r, args.cutoffs, args.batch, Path(args.data_dir)) for r in recipes]
    print(table(results))
    if args.json:
        from cluener.files import atomic_write_json

        atomic_write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
