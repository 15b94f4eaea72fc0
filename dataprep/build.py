"""``make data``: CLUENER2020 -> alpaca JSON files registered in dataset_info.json.

Writes ``data/cluener_{train,val,dev,test}.json`` (default prompt) and ``data/cluener_guided_*.json`` (guided
prompt), ``data/manifest.json`` (source, seed, val lines), and registers every file in ``dataset_info.json``
(names and paths: :mod:`cluener.layout`; one dataset per prompt of :data:`cluener.prompts.PROMPTS` and split),
all-or-nothing: a reader sees the complete old set or the complete new one (:mod:`dataprep.publish`).
Then prints the round trip on train, val and dev (:func:`round_trip`: gold -> target -> parse, compared with the
gold entity strings sentence by sentence; it needs no scoring).

Usage: ``python -m dataprep.build [--cluener-dir DIR] [--seed N] [--val-size N]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path
from typing import NamedTuple, Sequence

from cluener.files import os_error_text
from cluener.layout import DATA_DIR, DATASET_INFO, LABELLED_SPLITS, RAW_DIR, SPLITS, data_file, dataset_name
from cluener.prompts import PROMPTS
from cluener.reader import CluenerFormatError, Example, SourceError, read_cluener
from cluener.target import parse_target, render_target

from .download import resolve_source
from .publish import PublishError, preflight, publish, register

DEFAULT_SEED = 42
DEFAULT_VAL_SIZE = 500


def split_train_val(examples: list[Example], seed: int, val_size: int) -> tuple[list[Example], list[Example]]:
    """Seeded split of the official train file; both parts keep source order.

    >>> from cluener.reader import Example
    >>> exs = [Example(text=str(i), line=i + 1) for i in range(10)]
    >>> train, val = split_train_val(exs, seed=1, val_size=3)
    >>> len(train), len(val), [e.line for e in val] == sorted(e.line for e in val)
    (7, 3, True)
    """
    if not 0 < val_size < len(examples):
        raise ValueError(f"val_size must be between 1 and {len(examples) - 1}, got {val_size}")
    chosen = set(random.Random(seed).sample(range(len(examples)), val_size))
    train = [ex for i, ex in enumerate(examples) if i not in chosen]
    val = [ex for i, ex in enumerate(examples) if i in chosen]
    return train, val


def alpaca_record(example: Example, instruction: str) -> dict:
    output = render_target(example.text, example.entities) if example.labelled else ""
    return {"instruction": instruction, "input": example.text, "output": output}


def render_alpaca(examples: list[Example], instruction: str) -> str:
    """One record per line inside a JSON list: valid JSON, readable diffs, byte-identical across runs."""
    rows = [json.dumps(alpaca_record(ex, instruction), ensure_ascii=False) for ex in examples]
    return "[\n" + ",\n".join(rows) + "\n]\n"


class RoundTrip(NamedTuple):
    """How many sentences give back exactly their gold entity strings, of how many; the line numbers of the others."""

    exact: int
    sentences: int
    differing: list[int]


def round_trip(examples: Sequence[Example]) -> RoundTrip:
    """Render each sentence's gold as the target, parse it back, and compare the entity strings per type with the
    gold's (what the official metric scores). Every sentence that differs is named by its line, never dropped.

    >>> from cluener.reader import Entity
    >>> round_trip([Example(text="张三在北京", entities=[Entity("name", 0, 2), Entity("address", 3, 5)], line=1)])
    RoundTrip(exact=1, sentences=1, differing=[])
    """
    differing = []
    for ex in examples:
        parsed = parse_target(render_target(ex.text, ex.entities))
        if parsed.status != "ok" or {label: set(strings) for label, strings in parsed.entities.items()} != (
            ex.strings_by_label()
        ):
            differing.append(ex.line)
    return RoundTrip(len(examples) - len(differing), len(examples), differing)


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
    (:mod:`dataprep.publish`); nothing is written before every input and path has been checked."""
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
    print("round trip gold -> target -> parse, against the gold entity strings:")
    failed = False
    for split in (s for s in SPLITS if s in LABELLED_SPLITS):
        check = round_trip(result["splits"][split])
        shown = ", ".join(map(str, check.differing[:10])) + (" ..." if len(check.differing) > 10 else "")
        print(f"  {split:5s} {check.exact}/{check.sentences} sentences exact"
              + (f"; differing at line(s) {shown}" if check.differing else ""))  # fmt: skip
        failed = failed or bool(check.differing)
    if failed:
        print("error: the target format did not give back the gold of every sentence (lines above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
