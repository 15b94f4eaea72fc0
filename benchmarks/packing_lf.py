"""The padding knobs measured through LLaMA-Factory's own data pipeline, and whether each example's loss survives.

benchmarks/padding.py counts from token lengths (LF's ``infer_seqlen`` and ``greedy_knapsack``); this module runs LF
itself, as ``llamafactory-cli train`` prepares a training run (``get_train_args``, ``load_tokenizer``, the template,
``get_dataset``, ``SFTDataCollatorWith4DAttentionMask`` built as LF's SFT workflow builds it), on the train set:

- **efficiency** = real tokens / tokens the step computes, where the computed tokens are ``input_ids.numel()`` of every
  batch LF's collator returns (it pads a batch to its longest row, rounded up to 8) and the real tokens are the
  examples' own tokens (LF's dataset before collation: ``attention_mask`` != 0; LF packs into ``cutoff_len - 1``
  and pads every pack to ``cutoff_len``);
  - ``group_by_length``: the unpacked dataset in the order of transformers' LengthGroupedSampler, batches of the
    recipe's ``per_device_train_batch_size``;
  - ``packing`` and ``neat_packing`` at each ``cutoff_len``: LF's packed datasets, batches of the same size;
- **loss unchanged**: on a random model of the recipe's family (the shrunken fp32 copy of `make bench-gpu`'s dry run,
  loaded through LF's ``load_model``, sdpa attention), the first packs go through the model as LF's collator makes
  them; each example's mean loss inside its pack is compared with the same example run alone (``max_abs_diff``).
  ``neat_packing`` keeps examples apart (block-diagonal mask, positions restarted); plain ``packing`` only restarts
  positions, so an example attends to the ones packed before it.

Usage: ``python -m benchmarks.packing_lf [--recipe R] [--cutoffs 256 512 1024] [--loss-packs 4] [--json OUT]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_gpu import build_model, check_params, load_recipe
from benchmarks.padding import grouped_order, random_order

from cluener.files import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]

UNCHANGED = 1e-4  # fp32: the same example alone and in its pack agree to rounding


def lf_pipeline(config: dict, model_dir: Path, out_dir: Path, cutoff_len: int, packing: str | None,
                max_samples: int | None = None, dataset_dir: Path = ROOT):
    """(tokenizer, dataset, collator, model_args, finetuning_args) exactly as LF's SFT workflow prepares them."""
    import torch
    from llamafactory.data import SFTDataCollatorWith4DAttentionMask, get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    args = {
        "stage": "sft", "do_train": True, "finetuning_type": "lora", "model_name_or_path": str(model_dir),
        "dataset": config["dataset"], "dataset_dir": str(dataset_dir), "template": config["template"],
        "enable_thinking": config.get("enable_thinking", True), "cutoff_len": cutoff_len,
        "output_dir": str(out_dir), "overwrite_cache": True, "preprocessing_num_workers": 1,
        "per_device_train_batch_size": int(config["per_device_train_batch_size"]), "report_to": "none",
        "bf16": False, "packing": packing is not None, "neat_packing": packing == "neat_packing",
    }
    if max_samples:
        args["max_samples"] = max_samples
    model_args, data_args, training_args, finetuning_args, _ = get_train_args(args)
    tokenizer_module = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(tokenizer_module["tokenizer"], data_args)
    dataset = get_dataset(template, model_args, data_args, training_args, stage="sft", **tokenizer_module)["train_dataset"]
    collator = SFTDataCollatorWith4DAttentionMask(
        template=template, model=None, pad_to_multiple_of=8, label_pad_token_id=-100,
        block_diag_attn=model_args.block_diag_attn, neat_packing=data_args.neat_packing, attn_implementation="sdpa",
        compute_dtype=model_args.compute_dtype or torch.float32, **tokenizer_module)  # fp32: the dry run's dtype
    return tokenizer_module["tokenizer"], dataset, collator, model_args, finetuning_args


def computed_tokens(dataset, collator, order: list[int], batch: int) -> int:
    """input_ids.numel() of every batch LF's collator makes, in ``order``."""
    return sum(collator([dict(dataset[i]) for i in order[start : start + batch]])["input_ids"].numel()
               for start in range(0, len(order), batch))


def real_tokens(dataset) -> int:
    return sum(sum(1 for m in mask if m != 0) for mask in dataset["attention_mask"])


def example_losses(model, features: dict, segments: list[list[int]]) -> list[float]:
    """Mean token loss of each segment (positions) of a batch of one row, labels shifted as the model shifts them."""
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        inputs = {k: v for k, v in features.items() if k in ("input_ids", "attention_mask", "position_ids")}
        logits = model(**inputs).logits[0].float()
    labels = features["labels"][0]
    losses = []
    for positions in segments:
        pos = torch.tensor(positions)
        keep = pos[(pos >= 1) & (labels[pos] != -100)]
        losses.append(F.cross_entropy(logits[keep - 1], labels[keep], reduction="mean").item())
    return losses


def loss_check(model, dataset, collator, packs: int) -> dict:
    """Each example's loss in its pack (as LF's collator makes the pack) against the example alone, over the first
    ``packs`` packs that hold two examples or more (a pack of one has nothing to compare); None when there is none."""
    import torch

    diffs, checked = [], 0
    for index in range(len(dataset)):
        if checked == packs:
            break
        row = dict(dataset[index])
        bounds = row["packing_params"]["sequence_boundaries"] if row.get("packing_params") else None
        if bounds is None:  # plain packing: positions restart at 0 at each example's start
            starts = [i for i, p in enumerate(row["position_ids"]) if p == 0]
            real = sum(1 for t in row["input_ids"] if t != collator.tokenizer.pad_token_id)
            bounds = [s for s in starts if s < real] + [real]
        segments = [list(range(bounds[k], bounds[k + 1])) for k in range(len(bounds) - 1)]
        segments = [s for s in segments if any(row["labels"][p] != -100 for p in s)]  # the tail padding has none
        if len(segments) < 2:
            continue
        checked += 1
        packed = example_losses(model, collator([row]), segments)
        for segment, in_pack in zip(segments, packed):
            alone = {"input_ids": torch.tensor([[row["input_ids"][p] for p in segment]]),
                     "labels": torch.tensor([[row["labels"][p] for p in segment]])}
            alone["attention_mask"] = torch.ones_like(alone["input_ids"])
            diffs.append(abs(in_pack - example_losses(model, alone, [list(range(len(segment)))])[0]))
    worst = max(diffs) if diffs else None
    return {"packs": checked, "examples": len(diffs), "max_abs_diff": worst,
            "unchanged": worst < UNCHANGED if diffs else None}


def padded_loss_check(model, dataset, collator, order: list[int], batch: int) -> dict:
    """Each example's loss in its padded row of a group_by_length batch (as LF's collator pads it) against alone."""
    import torch

    diffs = []
    features = collator([dict(dataset[i]) for i in order[:batch]])
    for row in range(features["input_ids"].shape[0]):
        one = {k: v[row : row + 1] for k, v in features.items() if torch.is_tensor(v) and v.dim() == 2}
        length = int(one["attention_mask"].sum())
        padded = example_losses(model, one, [list(range(length))])[0]
        alone = {k: v[:, :length] for k, v in one.items()}
        diffs.append(abs(padded - example_losses(model, alone, [list(range(length))])[0]))
    return {"rows": len(diffs), "max_abs_diff": max(diffs), "unchanged": max(diffs) < UNCHANGED}


def measure(recipe: str, cutoffs: list[int], loss_packs: int, max_samples: int | None = None,
            dataset_dir: Path = ROOT) -> dict:
    """The knobs of ``recipe`` on the train set of ``dataset_dir`` (its dataset_info.json and data/)."""
    from llamafactory.model import load_model

    config = load_recipe(recipe)
    shape, _ = check_params(recipe)
    batch = int(config["per_device_train_batch_size"])
    work = Path(tempfile.mkdtemp(prefix="packing_lf_"))
    try:
        model_dir = build_model(shape, work / "model", dry_run=True)
        _, plain, collator, model_args, finetuning_args = lf_pipeline(config, model_dir, work / "out",
                                                                      int(config["cutoff_len"]), None, max_samples,
                                                                      dataset_dir)
        model = load_model(collator.tokenizer, model_args, finetuning_args, is_trainable=False)
        model.config._attn_implementation = "sdpa"
        real = real_tokens(plain)
        order = grouped_order([len(ids) for ids in plain["input_ids"]], batch)  # the same orders as padding.py's
        shuffled = random_order(len(plain))
        result = {"recipe": recipe, "template": config["template"], "batch": batch, "examples": len(plain),
                  "cutoff_len": int(config["cutoff_len"]),
                  "random": round(real / computed_tokens(plain, collator, shuffled, batch), 4),
                  "group_by_length": round(real / computed_tokens(plain, collator, order, batch), 4),
                  "group_by_length_loss": padded_loss_check(model, plain, collator, order, batch),
                  "packing": {}}
        for cutoff in cutoffs:
            entry = {}
            for knob in ("packing", "neat_packing"):
                _, packed, collator, *_ = lf_pipeline(config, model_dir, work / "out", cutoff, knob, max_samples,
                                                      dataset_dir)
                pad = collator.tokenizer.pad_token_id
                real = real_tokens(packed) if knob == "neat_packing" else sum(
                    sum(1 for t in ids if t != pad) for ids in packed["input_ids"])
                computed = computed_tokens(packed, collator, list(range(len(packed))), batch)
                entry[knob] = {"efficiency": round(real / computed, 4), "packs": len(packed),
                               "examples_per_pack": round(len(plain) / len(packed), 2),
                               "loss": loss_check(model, packed, collator, loss_packs)}
            result["packing"][str(cutoff)] = entry
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(results: list[dict]) -> str:
    cutoffs = list(results[0]["packing"]) if results else []
    head = ["recipe", "batch", "random", "group_by_length"]
    head += [f"{knob} {c}" for c in cutoffs for knob in ("packing", "neat_packing")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r["recipe"], str(r["batch"]), f"{r['random']:.3f}", f"{r['group_by_length']:.3f} ({'loss unchanged' if r['group_by_length_loss']['unchanged'] else 'loss changes'})"]
        for c in cutoffs:
            for knob in ("packing", "neat_packing"):
                e = r["packing"][c][knob]
                unchanged = e["loss"]["unchanged"]
                loss = ("no pack of 2 examples" if unchanged is None else "loss unchanged" if unchanged
                        else f"loss changes by up to {e['loss']['max_abs_diff']:.3g}")
                cells.append(f"{e['efficiency']:.3f} ({e['examples_per_pack']} ex/pack; {loss})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=["qwen3_0.6b_lora_sft"])
    parser.add_argument("--cutoffs", nargs="+", type=int, default=[256, 512, 1024])
    parser.add_argument("--loss-packs", type=int, default=4, help="packs whose examples' losses are compared")
    parser.add_argument("--max-samples", type=int, default=None, help="the first N train examples (default: all)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    results = [measure(r, args.cutoffs, args.loss_packs, args.max_samples) for r in args.recipes]
    print(table(results))
    if args.json:
        atomic_write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
