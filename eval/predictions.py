"""Read LLaMA-Factory prediction files and check that they line up with their gold split.

``llamafactory-cli train`` with ``do_predict`` (and the fast inference path) writes ``generated_predictions.jsonl``:
one JSON object per line, in dataset order, ``{"prompt": ..., "predict": ..., "label": ...}``. ``predict`` is the
model output (untrusted text, parsed later by :mod:`cluener.target`); ``prompt`` is the decoded model input.

Span predictions. A tagger knows the exact character spans of its entities; re-aligning its strings would lose
that (repeated mentions), so a line may carry them and the eval package then scores those spans as they are:

- an optional ``"spans"`` key beside ``predict``, in CLUENER's layout ``{TYPE: {STRING: [[start, end], ...]}}``
  (inclusive ends), whose (type, string) pairs must be exactly those of ``predict`` (what
  ``python -m encoder_ner.train`` writes);
- or a CLUENER-format prediction line, recognised by its keys (no ``predict``; ``label`` is an object):
  ``{"id": N, "text": ..., "label": {TYPE: {STRING: [[start, end], ...]}}}`` (``text`` and ``id`` optional),
  as in a leaderboard file (``cluener_predict.json``); its ``text`` serves as the prompt.

Each span must cover its string in the gold sentence (:func:`check_alignment`). Lines without spans are parsed
and aligned as strings, as before.

``python -m infer`` adds ``"no_content": "null" | "missing"`` to a line whose server answer had no content (its
``predict`` is then ``""``): such a line is scored as ``failed`` and counted (:mod:`eval.scoring`). Unpaired
surrogates (``\\ud800`` escapes, which no UTF-8 file can hold) are read as U+FFFD, so any text scores and reports.

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
from typing import NamedTuple, Sequence

from cluener.files import json_object, numbered_lines, utf8_safe
from cluener.labels import LABEL_SET
from cluener.reader import Example
from cluener.target import parse_target

from .quoting import quote_repr


class PredictionsFormatError(ValueError):
    """A predictions line that cannot be read. ``str()`` reads ``file:line: problem``."""

    def __init__(self, path: str | os.PathLike, line: int, problem: str):
        self.path, self.line, self.problem = str(path), line, problem
        super().__init__(f"{self.path}:{line}: {problem}")


class PredictionsMismatchError(ValueError):
    """Predictions that do not belong to the gold file they are scored against (count or order), or nothing to
    score (an empty file)."""


NO_CONTENT = ("null", "missing")  # why a line has no model output: the server's content was null / absent


class PredictedSpan(NamedTuple):
    """A span a model predicted: ``text[start:end] == string`` (end exclusive) once checked against the gold."""

    label: str
    string: str
    start: int
    end: int


@dataclass(frozen=True)
class Prediction:
    """One model output. ``line`` is the 1-based line in the predictions file. ``spans``: the exact spans when the
    line carries them (sorted), else None (strings only: the scorer aligns them)."""

    line: int
    predict: str
    prompt: str | None = None
    label: str | None = None
    spans: tuple[PredictedSpan, ...] | None = None
    id: int | None = None  # a CLUENER-format line's id (checked against the gold's id)
    no_content: str | None = None  # the server's answer had no content: "null" or "missing" (python -m infer)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_spans(value, fail) -> tuple[PredictedSpan, ...]:
    """CLUENER's ``{TYPE: {STRING: [[start, end_inclusive], ...]}}`` -> sorted spans (structure checked here; the
    strings against the sentence in :func:`check_alignment`)."""
    if not isinstance(value, dict):
        raise fail(f"spans: expected an object {{type: {{string: [[start, end], ...]}}}}, got {type(value).__name__}")
    out = set()
    for label, mentions in value.items():
        if label not in LABEL_SET:
            raise fail(f"spans: unknown type {quote_repr(label)}")
        if not isinstance(mentions, dict):
            raise fail(f"spans: type {quote_repr(label)}: expected an object of string -> [[start, end], ...]")
        for string, spans in mentions.items():
            if not string or not isinstance(spans, list) or not spans:
                raise fail(f"spans: type {quote_repr(label)}, string {quote_repr(string)}: expected a non-empty list of [start, end]")
            for span in spans:
                ok = isinstance(span, list) and len(span) == 2 and all(_is_int(v) for v in span)
                if not ok or not 0 <= span[0] <= span[1] or span[1] - span[0] + 1 != len(string):
                    raise fail(
                        f"spans: type {quote_repr(label)}, string {quote_repr(string)}: bad span {quote_repr(span)} "
                        "(inclusive end)"
                    )
                out.add(PredictedSpan(label, string, span[0], span[1] + 1))
    return tuple(sorted(out, key=lambda s: (s.start, s.end, s.label)))


def render_spans(spans: Sequence[PredictedSpan]) -> str:
    """The target string of sorted spans (as :func:`cluener.target.render_target` renders them from the sentence)."""
    grouped: dict[str, list[str]] = {}
    for span in spans:
        strings = grouped.setdefault(span.label, [])
        if span.string not in strings:
            strings.append(span.string)
    return json.dumps(grouped, ensure_ascii=False, separators=(",", ":"))


def _string_sets(entities: dict) -> dict[str, set[str]]:
    return {label: set(strings) for label, strings in entities.items() if strings}


def parse_prediction_line(raw: str, path: str | os.PathLike, line: int) -> Prediction:
    def fail(problem: str) -> PredictionsFormatError:
        return PredictionsFormatError(path, line, problem)

    row = json_object(raw, fail)
    if "\\ud" in raw or "\\uD" in raw:  # maybe an unpaired surrogate escape: not writable as UTF-8
        row = _utf8_safe_value(row)
    if "predict" not in row and isinstance(row.get("label"), dict):  # a CLUENER-format prediction line
        text = row.get("text")
        if text is not None and not isinstance(text, str):
            raise fail(f"'text' is not a string: {type(text).__name__}")
        line_id = row.get("id")
        if line_id is not None and not _is_int(line_id):
            raise fail(f"'id' is not an integer: {quote_repr(line_id)}")
        spans = parse_spans(row["label"], fail)
        return Prediction(line=line, predict=render_spans(spans), prompt=text, spans=spans, id=line_id)
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
    no_content = row.get("no_content")
    if no_content is not None and no_content not in NO_CONTENT:
        raise fail(f"'no_content' must be one of {', '.join(NO_CONTENT)}, got {quote_repr(no_content)}")
    spans = None
    if row.get("spans") is not None:
        spans = parse_spans(row["spans"], fail)
        said = _string_sets(parse_target(fields["predict"]).entities)
        if said != _string_sets({label: [s.string for s in spans if s.label == label] for label in LABEL_SET}):
            raise fail("'predict' and 'spans' name different (type, string) pairs")
    return Prediction(
        line=line,
        predict=fields["predict"],
        prompt=fields["prompt"],
        label=fields["label"],
        spans=spans,
        no_content=no_content,
    )


def _utf8_safe_value(value):
    if isinstance(value, str):
        return utf8_safe(value)
    if isinstance(value, list):
        return [_utf8_safe_value(v) for v in value]
    if isinstance(value, dict):
        return {utf8_safe(k): _utf8_safe_value(v) for k, v in value.items()}
    return value


def read_predictions(path: str | os.PathLike) -> list[Prediction]:
    """Read and validate a whole predictions file (JSON lines; a final newline is optional)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: predictions file not found")
    lines = numbered_lines(path, PredictionsFormatError)
    return [parse_prediction_line(line, path, number) for number, line in lines]


_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
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

    Neither may be empty, and the count must match. Every predicted span must cover its string in the gold sentence
    (always checked: a span is a claim about that sentence). Then the order: each prediction's ``prompt`` must
    contain its gold sentence (compared after NFKC and without whitespace, which tokenizers may change), or a
    CLUENER-format line's ``id`` must be its gold line's ``id``. A line with neither cannot be checked, and that is
    an error too: only ``check_prompts=False`` (``--no-order-check``) scores such a file.
    """
    if not gold:
        raise PredictionsMismatchError(f"{gold_path}: no sentences (empty gold); nothing to score")
    if not predictions:
        raise PredictionsMismatchError(f"{predictions_path}: no predictions (the file is empty); nothing to score")
    if len(predictions) != len(gold):
        raise PredictionsMismatchError(
            f"{predictions_path}: {len(predictions)} predictions, but {gold_path} has {len(gold)} sentences; "
            "predictions must be one line per gold line, in the same order (wrong --split/--gold, or max_samples set "
            "in the predict recipe?)"
        )
    for p, ex in zip(predictions, gold, strict=True):
        for span in p.spans or ():
            if ex.text[span.start : span.end] != span.string:
                raise PredictionsMismatchError(
                    f"{predictions_path}:{p.line}: span [{span.start}, {span.end - 1}] of {span.label} "
                    f"{quote_repr(span.string)} covers {quote_repr(ex.text[span.start : span.end])} in the gold sentence of "
                    f"{gold_path} line {ex.line} ({quote_repr(ex.text)}); the predictions belong to another split or order"
                )
    if not check_prompts:
        return "disabled (--no-order-check)"
    unchecked = [p for p, ex in zip(predictions, gold, strict=True) if not p.prompt and (p.id is None or ex.id is None)]
    if unchecked:
        raise PredictionsMismatchError(
            f"{predictions_path}:{unchecked[0].line}: no prompt (nor a CLUENER id) to check the order against "
            f"{gold_path}; {len(unchecked)} of {len(gold)} lines have none. Write the prompts, or pass "
            "--no-order-check if the lines are known to be in the gold order"
        )
    bad = [
        (p, ex)
        for p, ex in zip(predictions, gold, strict=True)
        if (p.id != ex.id if not p.prompt else normalise(ex.text) not in normalise(p.prompt))
    ]
    if bad:
        p, ex = bad[0]
        what = "the prompt does not contain the gold sentence" if p.prompt else f"id {p.id} is not the gold id"
        raise PredictionsMismatchError(
            f"{predictions_path}:{p.line}: {what} of {gold_path} line {ex.line} ({quote_repr(ex.text)}); {len(bad)} of "
            f"{len(gold)} lines differ. The predictions are not in the gold order or belong to another split; "
            "pass --no-order-check only if the prompts are known not to hold the sentence"
        )
    return "passed (every prompt contains its gold sentence)"
