"""Read LLaMA-Factory prediction files and check that they line up with their gold split.

``llamafactory-cli train`` with ``do_predict`` (and the fast inference path) writes ``generated_predictions.jsonl``:
one JSON object per line, in dataset order, ``{"prompt": ..., "predict": ..., "label": ...}``. ``predict`` is the
model output (untrusted text, parsed later by :mod:`eval.target`); ``prompt`` is the decoded model input.

Every line is checked; a bad line raises :class:`PredictionsFormatError` naming file, line and problem.

>>> p = parse_prediction_line('{"prompt": "抽取…张三", "predict": "{}", "label": "{}"}', "p.jsonl", 1)
>>> p.predict, p.line
('{}', 1)
>>> parse_prediction_line('{"prompt": "x"}', "p.jsonl", 7)
Traceback (most recent call last):
...
eval.predictions.PredictionsFormatError: p.jsonl:7: 'predict' is missing
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .cluener import Example


class PredictionsFormatError(ValueError):
    """A predictions line that cannot be read. ``str()`` reads ``file:line: problem``."""

    def __init__(self, path: str | os.PathLike, line: int, problem: str):
        self.path, self.line, self.problem = str(path), line, problem
        super().__init__(f"{self.path}:{line}: {problem}")


class PredictionsMismatchError(ValueError):
    """Predictions that do not belong to the gold file they are scored against (count or order)."""


@dataclass(frozen=True)
class Prediction:
    """One model output. ``line`` is the 1-based line in the predictions file."""

    line: int
    predict: str
    prompt: str | None = None
    label: str | None = None


def parse_prediction_line(raw: str, path: str | os.PathLike, line: int) -> Prediction:
    def fail(problem: str) -> PredictionsFormatError:
        return PredictionsFormatError(path, line, problem)

    try:
        row = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise fail(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise fail("invalid JSON (nested too deeply)") from None
    if not isinstance(row, dict):
        raise fail(f"expected a JSON object, got {type(row).__name__}")
    if "predict" not in row:
        raise fail("'predict' is missing")
    fields = {}
    for key in ("predict", "prompt", "label"):
        value = row.get(key)
        if value is not None and not isinstance(value, str):
            raise fail(f"'{key}' is not a string: {type(value).__name__}")
        fields[key] = value
    if fields["predict"] is None:
        raise fail("'predict' is null")
    return Prediction(line=line, predict=fields["predict"], prompt=fields["prompt"], label=fields["label"])


def read_predictions(path: str | os.PathLike) -> list[Prediction]:
    """Read and validate a whole predictions file (JSON lines; a final newline is optional)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: predictions file not found")
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PredictionsFormatError(path, line, "not valid UTF-8") from None
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise PredictionsFormatError(path, number, "empty line")
        out.append(parse_prediction_line(line, path, number))
    return out


_SPACE = re.compile(r"\s+")


def _normalise(text: str) -> str:
    """What survives a tokenizer round trip: NFKC, no whitespace."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


def check_alignment(
    predictions: Sequence[Prediction],
    gold: Sequence[Example],
    predictions_path: str | os.PathLike,
    gold_path: str | os.PathLike,
    check_prompts: bool = True,
) -> str:
    """Fail unless predictions and gold pair up line by line. Returns how the order was checked (for the report).

    The count must match. When every prediction has a ``prompt``, each must contain its gold sentence (compared
    after NFKC and without whitespace, which tokenizers may change): this catches predictions scored against the
    wrong split or reordered.
    """
    if len(predictions) != len(gold):
        raise PredictionsMismatchError(
            f"{predictions_path}: {len(predictions)} predictions, but {gold_path} has {len(gold)} sentences; "
            "predictions must be one line per gold line, in the same order (wrong --split/--gold, or max_samples set "
            "in the predict recipe?)"
        )
    if not check_prompts:
        return "disabled (--no-prompt-check)"
    if not predictions:
        return "nothing to check (no lines)"
    if any(not p.prompt for p in predictions):
        return "not possible (some lines have no prompt)"
    bad = [
        (p, ex)
        for p, ex in zip(predictions, gold, strict=True)
        if _normalise(ex.text) not in _normalise(p.prompt or "")
    ]
    if bad:
        p, ex = bad[0]
        raise PredictionsMismatchError(
            f"{predictions_path}:{p.line}: the prompt does not contain the gold sentence of {gold_path} line "
            f"{ex.line} ({ex.text!r}); {len(bad)} of {len(gold)} lines differ. The predictions are not in the gold "
            "order or belong to another split; use --no-prompt-check only if the prompts are known not to hold "
            "the sentence"
        )
    return "passed (every prompt contains its gold sentence)"
