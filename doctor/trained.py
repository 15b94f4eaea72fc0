"""Is a recipe's output trained? A LoRA recipe's adapter folder must hold adapter_config.json and its weights; a full
fine-tuning output (or a merged model) config.json and its weights. A failed or interrupted `make train` leaves
``run_command.json`` (and maybe checkpoint-N/ folders) but not those files, so it never counts.
"""

from __future__ import annotations

import re
from pathlib import Path

from .report import FAIL, OK, Check

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
MODEL_CONFIG = "config.json"
MODEL_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
ENCODER_FILES = ("encoder_ner_config.json", "model.safetensors")  # encoder_ner.train's final save
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def missing_files(folder: Path, kind: str) -> str | None:
    """None when ``folder`` holds a trained ``kind`` ('adapter', 'model', 'encoder'), else what is missing."""
    if not folder.is_dir():
        return "does not exist"
    if kind == "adapter":
        needed = [ADAPTER_CONFIG] if not (folder / ADAPTER_CONFIG).is_file() else []
        if not any((folder / name).is_file() for name in ADAPTER_WEIGHTS):
            needed.append(" or ".join(ADAPTER_WEIGHTS))
    elif kind == "model":
        needed = [MODEL_CONFIG] if not (folder / MODEL_CONFIG).is_file() else []
        if not any((folder / name).is_file() for name in MODEL_WEIGHTS):
            needed.append("model weights (model.safetensors or pytorch_model.bin)")
    else:
        needed = [name for name in ENCODER_FILES if not (folder / name).is_file()]
    return f"has no {' and no '.join(needed)}" if needed else None


def last_checkpoint(folder: Path) -> str | None:
    steps = [int(m[1]) for p in folder.glob("checkpoint-*") if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return f"checkpoint-{max(steps)}" if steps else None


def trained_check(folder: str, kind: str, recipe: str, gpu_available: bool | None = None) -> Check:
    """OK when ``folder`` is trained; else FAIL with one line: what is missing, and ``make train RECIPE=recipe``."""
    path = Path(folder)
    problem = missing_files(path, kind)
    if problem is None:
        return Check("trained", OK, f"{folder} ({kind})")
    state = ""
    if path.is_dir():
        checkpoint = last_checkpoint(path)
        if checkpoint:
            state = f"; training stopped at {checkpoint} (make train resumes it)"
        elif (path / "run_command.json").is_file():
            state = "; only a run card: that training failed or was interrupted"
    train = "make train-bert-crf / train-bilstm-crf" if kind == "encoder" else f"make train RECIPE={recipe}"
    gpu = " (training needs a CUDA GPU; torch sees none here)" if gpu_available is False and kind != "encoder" else ""
    what = {"adapter": "LoRA adapter", "model": "model", "encoder": "encoder"}[kind]
    return Check("trained", FAIL, folder, f"{folder} {problem}{state}: no trained {what} for {recipe}; train it "
                 f"first: {train}{gpu}")  # fmt: skip
