"""``make data``: CLUENER2020 -> alpaca JSON files registered in dataset_info.json.

Writes ``data/cluener_{train,val,dev,test}.json`` (default prompt) and ``data/cluener_guided_*.json`` (guided
prompt), ``data/manifest.json`` (source, seed, val lines), and registers every file in ``dataset_info.json``
(names and paths: :mod:`cluener.layout`; one dataset per prompt of :data:`cluener.prompts.PROMPTS` and split),
all-or-nothing: a reader sees the complete old set or the complete new one (:mod:`cluener.publish`).
Then prints the round trip (gold -> target -> parse -> align -> score, :func:`eval.scoring.round_trip`) on train,
val and dev.

Usage: ``python -m cluener.build [--cluener-dir DIR] [--seed N] [--val-size N]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .download import resolve_source
from .files import os_error_text
from .layout import DATA_DIR, DATASET_INFO, LABELLED_SPLITS, RAW_DIR, SPLITS, data_file, dataset_name
from .prompts import PROMPTS
from .publish import PublishError, preflight, publish, register
from .reader import CluenerFormatError, Example, SourceError, read_cluener
from .splits import split_train_val
from .target import render_target

DEFAULT_SEED = 42
DEFAULT_VAL_SIZE = 500


def alpaca_record(example: Example, instruction: str) -> dict:
    output = render_target(example.text, example.entities) if example.labelled else ""
    return {"instruction": instruction, "input": example.text, "output": output}


def render_alpaca(examples: list[Example], instruction: str) -> str:
    """One record per line inside a JSON list: valid JSON, readable diffs, byte-identical across runs."""
    rows = [json.dumps(alpaca_record(ex, instruction), ensure_ascii=False) for ex in examples]
    return "[\n" + ",\n".join(rows) + "\n]\n"


class BuildError(ValueError):
    """A build setting that cannot work (names the argument)."""


def build(
    cluener_dir: str | None,
    data_dir: str | Path = DATA_DIR,
    dataset_info: str | Path = DATASET_INFO,
    seed: int = DEFAULT_SEED,
    val_size: int = DEFAULT_VAL_SIZE,
) -> dict:
    """Read, validate and split CLUENER, then publish every dataset file and the manifest all-or-nothing
    (:mod:`cluener.publish`); nothing is written before every input and path has been checked."""
    data_dir, dataset_info = Path(data_dir), Path(dataset_info)
    if val_size < 1:
        raise BuildError(f"--val-size {val_size}: must be at least 1")
    names = [dataset_name(split, prompt) for prompt in PROMPTS for split in SPLITS]
    info = preflight(data_dir, dataset_info, names)
    paths = resolve_source(cluener_dir, data_dir / RAW_DIR)
    official_train = read_cluener(paths["train"])
    if val_size >= len(official_train):
        raise BuildError(
            f"--val-size {val_size}: {paths['train']} has {len(official_train)} sentences; the validation split "
            f"must leave some for training (at most {len(official_train) - 1})"
        )
    train, val = split_train_val(official_train, seed, val_size)
    splits = {
        "train": train,
        "val": val,
        "dev": read_cluener(paths["dev"]),
        "test": read_cluener(paths["test"], labelled=False),
    }
    files, registered = {}, {}
    for prompt, instruction in PROMPTS.items():
        for split in SPLITS:
            name = dataset_name(split, prompt)
            path = data_file(name, data_dir)
            files[path.name] = render_alpaca(splits[split], instruction)
            registered[name] = Path(os.path.relpath(path, dataset_info.parent)).as_posix()
    manifest = {
        "source_dir": str(paths["train"].parent.resolve()),
        "seed": seed,
        "val_size": val_size,
        "counts": {split: len(rows) for split, rows in splits.items()},
        "val_lines": [ex.line for ex in val],
    }
    register(dataset_info, info, registered)  # the same entries on every build: written once, never half
    publish(data_dir, files, manifest, label=f"seed{seed}-val{val_size}")
    return {"splits": splits, "manifest": manifest, "datasets": registered}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluener-dir", default=None, help="local folder with train/dev/test.json (else download)")
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--dataset-info", default=DATASET_INFO)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--val-size", type=int, default=DEFAULT_VAL_SIZE, help="sentences of official train")
    args = parser.parse_args(argv)
    try:
        result = build(args.cluener_dir, args.data_dir, args.dataset_info, args.seed, args.val_size)
    except (CluenerFormatError, SourceError, BuildError, PublishError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the user gave that cannot be written (permissions, a full disk, ...)
        print(f"error: {os_error_text(exc, args.data_dir)}", file=sys.stderr)
        return 1
    counts = result["manifest"]["counts"]
    print("wrote " + ", ".join(f"{split} {n}" for split, n in counts.items()) + f" (seed {args.seed})")
    for name, path in result["datasets"].items():
        print(f"  {name:22s} {path}")
    from eval.scoring import round_trip  # the check only: building needs no scoring

    print("round trip gold -> target -> parse -> align, scored against gold:")
    for split in (s for s in SPLITS if s in LABELLED_SPLITS):
        official, span = round_trip(result["splits"][split])
        print(
            f"  {split:5s} official macro {official.macro_f1:.4f} micro {official.micro_f1:.4f} | "
            f"span micro {span.micro_f1:.4f} macro {span.macro_f1:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
