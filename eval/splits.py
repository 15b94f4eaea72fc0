"""The project's splits and where their gold lives.

``train`` / ``val`` come from the official train file with a seeded split (val keeps source order); ``dev`` is the
official dev set (the reporting set, never trained on); ``test`` is the official unlabelled test set.
``make data`` records the source folder, seed and val lines in ``data/manifest.json`` so that the eval package
finds the same gold later.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from .cluener import Example, read_cluener, verify_sources

SPLITS = ("train", "val", "dev", "test")
MANIFEST = "manifest.json"


def split_train_val(examples: list[Example], seed: int, val_size: int) -> tuple[list[Example], list[Example]]:
    """Seeded split of the official train file; both parts keep source order.

    >>> from eval.cluener import Example
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


def read_manifest(data_dir: str | Path = "data") -> dict:
    path = Path(data_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; run `make data` first")
    return json.loads(path.read_text(encoding="utf-8"))


def load_split(split: str, data_dir: str | Path = "data") -> list[Example]:
    """Gold examples of a project split, from the same verified source ``make data`` used."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    manifest = read_manifest(data_dir)
    paths = verify_sources(manifest["source_dir"])
    if split in ("dev", "test"):
        return read_cluener(paths[split], labelled=split == "dev")
    examples = read_cluener(paths["train"])
    val_lines = set(manifest["val_lines"])
    return [ex for ex in examples if (ex.line in val_lines) == (split == "val")]
