"""Read the alpaca records to predict: a dataset name registered in ``dataset_info.json``, or a .json / .jsonl
file. Each record's prompt is :func:`cluener.prompts.build_prompt` of its instruction and input (what LLaMA-Factory
shows the model); a bad record names file and record or line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluener.layout import ALPACA_COLUMNS, DATASET_INFO
from cluener.prompts import build_prompt


class DataError(ValueError):
    """A dataset that cannot be read as alpaca records (names the file and record)."""


@dataclass(frozen=True)
class Record:
    index: int
    prompt: str
    label: str


def resolve_dataset(dataset: str, dataset_dir: str | os.PathLike = ".") -> tuple[Path, dict[str, str]]:
    """A dataset name registered in ``<dataset_dir>/dataset_info.json`` or a path: (file, alpaca column names)."""
    candidate = Path(dataset)
    if candidate.suffix in (".json", ".jsonl") and candidate.is_file():
        return candidate, dict(ALPACA_COLUMNS)
    info_path = Path(dataset_dir) / DATASET_INFO
    if not info_path.is_file():
        raise DataError(f"{dataset}: not a file, and {info_path} does not exist to look the name up")
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{info_path}: not valid JSON ({exc})") from None
    if not isinstance(info, dict) or dataset not in info:
        raise DataError(f"{dataset}: not a file and not registered in {info_path}")
    entry = info[dataset]
    if not isinstance(entry, dict) or not isinstance(entry.get("file_name"), str):
        raise DataError(f"{info_path}: entry {dataset!r} has no file_name (only local files are supported)")
    formatting = entry.get("formatting", "alpaca")
    if formatting != "alpaca":
        raise DataError(f"{info_path}: entry {dataset!r} is {formatting!r}; only alpaca datasets are supported")
    columns = dict(ALPACA_COLUMNS)
    columns.update({k: v for k, v in (entry.get("columns") or {}).items() if k in columns})
    path = Path(dataset_dir) / entry["file_name"]
    if not path.is_file():
        raise DataError(f"{path}: file of dataset {dataset!r} not found (run `make data` first?)")
    return path, columns


def _field(row: dict, column: str, where: str, required: bool) -> str:
    value = row.get(column)
    if value is None:
        if required:
            raise DataError(f"{where}: missing {column!r}")
        return ""
    if not isinstance(value, str):
        raise DataError(f"{where}: {column!r} is {type(value).__name__}, not a string")
    return value


def load_records(path: str | os.PathLike, columns: dict[str, str] | None = None) -> list[Record]:
    """Read a JSON list or JSON lines file of alpaca records; a bad record names file and record/line."""
    path = Path(path)
    columns = columns or dict(ALPACA_COLUMNS)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    rows: list[tuple[str, Any]] = []
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        rows = [(f"{path}: record {i}", row) for i, row in enumerate(data, start=1)]
    else:
        for number, line in enumerate(text.split("\n"), start=1):  # only "\n": JSON strings may hold U+2028 raw
            if not line.strip():
                continue
            try:
                rows.append((f"{path}:{number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    records = []
    for index, (where, row) in enumerate(rows):
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected an object, got {type(row).__name__}")
        instruction = _field(row, columns["prompt"], where, required=True)
        query = _field(row, columns["query"], where, required=False)
        label = _field(row, columns["response"], where, required=False)
        prompt = build_prompt(instruction, query)
        if not prompt:
            raise DataError(f"{where}: empty prompt (instruction and input are both empty)")
        records.append(Record(index, prompt, label))
    if not records:
        raise DataError(f"{path}: no records")
    return records
