"""Score one run: parse each model output, align strings to spans, score both metrics, collect error analysis.

Per line: :func:`cluener.target.parse_target` (ok / repaired / failed; unknown types dropped and counted), then
:func:`eval.align.align_strings`. Strings that do not occur in the sentence are *hallucinated*: they stay in the
official metric (string sets, so they are false positives there) and cannot enter the span metric (no span).
Strings that occur but only inside a longer predicted span are *overlapped*: official metric only, listed too.
A line that carries its predicted spans (``Prediction.spans``: a span tagger's output or a CLUENER-format file, see
:mod:`eval.predictions`) is scored on those spans as they are, not re-aligned; its strings are the spans' strings.

>>> from cluener.reader import Entity, Example
>>> from eval.predictions import Prediction
>>> gold = [Example("张三在北京", (Entity("name", 0, 2), Entity("address", 3, 5)))]
>>> run = score_run([Prediction(1, '{"name":["张三"],"scene":["北京"],"address":["上海"]}')], gold)
>>> round(run.official.micro_f1, 4), round(run.span.micro_f1, 4)
(0.4, 0.5)
>>> run.parse_stats()["hallucinated"], run.error_counts()["type"]
(1, 1)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from cluener.labels import LABELS
from cluener.reader import Entity, Example, entities_to_label_dict
from cluener.target import FAILED, OK, REPAIRED, UNCLOSED_THINK, ParseResult, parse_target, render_target

from .align import align, align_strings
from .counting import Sentence, count_all
from .metrics import FAMILIES, Scores, score_official, score_spans
from .predictions import Prediction
from .quoting import SENTENCE_MAX, quote, top_counts

NONE = "none"  # the row / column of the confusion matrix for "no entity at this span"
ERROR_CATEGORIES = ("correct", "type", "boundary", "boundary_type", "spurious", "missed", "hallucinated")
ERROR_DESCRIPTIONS = {
    "correct": "exact (type, start, end) match",
    "type": "same span as a gold entity, other type",
    "boundary": "overlaps a gold entity of the same type, other boundaries",
    "boundary_type": "overlaps gold entities, other boundaries and other type",
    "spurious": "overlaps no gold entity",
    "missed": "gold entity that no prediction overlaps",
    "hallucinated": "string that does not occur in the sentence (official metric: false positive; no span)",
}
EXAMPLES_PER_CATEGORY = 5


@dataclass
class LineResult:
    """Everything known about one line of a run."""

    index: int  # 0-based position in the split
    prediction: Prediction
    example: Example
    parse: ParseResult
    entities: list[Entity]  # what the span metric scores: aligned strings (non-overlapping) or predicted spans
    hallucinated: list[tuple[str, str]]
    overlapped: list[Entity]

    @property
    def text(self) -> str:
        return self.example.text

    def sentence(self) -> Sentence:
        """What the metrics read of this line (:mod:`eval.counting`)."""
        return Sentence(self.example.strings_by_label(), self.parse.entities, self.example.entities, self.entities)

    def cluener_row(self) -> dict:
        """CLUENER layout with inclusive spans: ``id`` + ``label`` where the source has an id, else text + label."""
        label = entities_to_label_dict(self.text, [*self.entities, *self.overlapped])
        if self.example.id is not None:
            return {"id": self.example.id, "label": label}
        return {"text": self.text, "label": label}

    def detail_row(self) -> dict:
        """One line of ``details.jsonl``: the raw output and what became of it."""
        row = {
            "line": self.prediction.line,
            "gold_line": self.example.line,
            "text": self.text,
            "predict": self.prediction.predict,
            "status": self.parse.status,
            "repairs": self.parse.repairs,
            "unknown_labels": self.parse.unknown_labels,
            "strings": self.parse.entities,
            "spans": [list(e) for e in self.entities],
            "hallucinated": [list(h) for h in self.hallucinated],
            "overlapped": [list(e) for e in self.overlapped],
        }
        if self.example.id is not None:
            row["id"] = self.example.id
        if self.example.labelled:
            row["gold"] = [list(e) for e in self.example.entities]
        return row


@dataclass
class ErrorAnalysis:
    """Span-level error categories (see ``ERROR_DESCRIPTIONS``), the exact-span confusion matrix, and examples."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ERROR_CATEGORIES, 0))
    confusion: dict[str, dict[str, int]] = field(
        default_factory=lambda: {g: dict.fromkeys((*LABELS, NONE), 0) for g in (*LABELS, NONE)}
    )
    examples: dict[str, list[dict]] = field(default_factory=lambda: {c: [] for c in ERROR_CATEGORIES[1:]})

    def as_dict(self) -> dict:
        return {"counts": dict(self.counts), "confusion": self.confusion, "examples": self.examples}


def _overlaps(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def _describe(text: str, ent: Entity) -> str:
    return f"{ent.label} {text[ent.start : ent.end]} [{ent.start},{ent.end})"


def _example(line: LineResult, detail: str) -> dict:
    """An example of an error category, as report.md and metrics.json quote it (cut: :mod:`eval.quoting`)."""
    return {
        "line": line.prediction.line,
        "text": quote(line.text, SENTENCE_MAX),
        "gold": [_describe(line.text, e) for e in line.example.entities],
        "pred": [_describe(line.text, e) for e in line.entities]
        + [f"{label} {quote(string)} (not in sentence)" for label, string in line.hallucinated],
        "detail": quote(detail, SENTENCE_MAX),
    }


def analyse_line(line: LineResult, errors: ErrorAnalysis) -> None:
    text, gold, pred = line.text, line.example.entities, line.entities
    gold_set = set(gold)
    found: dict[str, list[str]] = {}

    def note(category: str, detail: str) -> None:
        errors.counts[category] += 1
        found.setdefault(category, []).append(detail)

    for p in pred:
        if p in gold_set:
            errors.counts["correct"] += 1
            continue
        same_span = [g for g in gold if (g.start, g.end) == (p.start, p.end)]
        overlapping = [g for g in gold if _overlaps(g, p)]
        if same_span:
            note("type", f"{_describe(text, p)}, gold {same_span[0].label}")
        elif any(g.label == p.label for g in overlapping):
            g = next(g for g in overlapping if g.label == p.label)
            note("boundary", f"{_describe(text, p)}, gold {_describe(text, g)}")
        elif overlapping:
            note("boundary_type", f"{_describe(text, p)}, gold {_describe(text, overlapping[0])}")
        else:
            note("spurious", _describe(text, p))
    for g in gold:
        if g not in set(pred) and not any(_overlaps(g, p) for p in pred):
            note("missed", _describe(text, g))
    for label, string in line.hallucinated:
        note("hallucinated", f"{label} {quote(string)}")

    for g in gold:
        matches = [p for p in pred if (p.start, p.end) == (g.start, g.end)]
        for p in matches:
            errors.confusion[g.label][p.label] += 1
        if not matches:
            errors.confusion[g.label][NONE] += 1
    gold_spans = {(g.start, g.end) for g in gold}
    for p in pred:
        if (p.start, p.end) not in gold_spans:
            errors.confusion[NONE][p.label] += 1

    for category, details in found.items():
        if len(errors.examples[category]) < EXAMPLES_PER_CATEGORY:
            errors.examples[category].append(_example(line, "; ".join(details)))


@dataclass
class Run:
    """A scored (or, without gold labels, parsed-only) predictions file."""

    lines: list[LineResult]
    official: Scores | None
    span: Scores | None
    errors: ErrorAnalysis | None
    counts: dict | None = None  # {section: per-sentence counts} of every metric family (eval.counting)

    @property
    def labelled(self) -> bool:
        return self.official is not None

    def parse_stats(self) -> dict:
        status = Counter(line.parse.status for line in self.lines)
        repairs: Counter = Counter()
        unknown: Counter = Counter()
        failures: Counter = Counter()
        dropped: Counter = Counter()
        for line in self.lines:
            (failures if line.parse.status == FAILED else repairs).update(line.parse.repairs)
            unknown.update(line.parse.unknown_labels)
            dropped.update(line.parse.dropped)
        return {
            "total": len(self.lines),
            OK: status[OK],
            REPAIRED: status[REPAIRED],
            FAILED: status[FAILED],
            "no_content": sum(1 for line in self.lines if line.prediction.no_content),
            "unclosed_think": sum(1 for line in self.lines if UNCLOSED_THINK in line.parse.repairs),
            "hallucinated": sum(len(line.hallucinated) for line in self.lines),
            "hallucinated_lines": sum(1 for line in self.lines if line.hallucinated),
            "overlapped": sum(
                len({(e.label, line.text[e.start : e.end]) for e in line.overlapped}) for line in self.lines
            ),
            "unknown_labels": sum(unknown.values()),
            "unknown_label_counts": top_counts(unknown),
            "predicted_strings": sum(len(v) for line in self.lines for v in line.parse.entities.values()),
            "predicted_spans": sum(len(line.entities) for line in self.lines),
            "span_lines": sum(1 for line in self.lines if line.prediction.spans is not None),
            "repairs": dict(sorted(repairs.items(), key=lambda kv: (-kv[1], kv[0]))),
            "failure_reasons": dict(sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))),
            "dropped": dict(sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))),  # malformed parts, by reason
        }

    def error_counts(self) -> dict[str, int]:
        return dict(self.errors.counts) if self.errors else {}

    def parse_examples(self, limit: int = 10) -> dict:
        """A few failed / repaired raw outputs, and the hallucinated strings (up to ``3 * limit``)."""
        out: dict[str, list] = {FAILED: [], REPAIRED: [], "hallucinated": []}
        for line in self.lines:
            if line.parse.status in (FAILED, REPAIRED) and len(out[line.parse.status]) < limit:
                out[line.parse.status].append(
                    {
                        "line": line.prediction.line,
                        "predict": quote(line.prediction.predict, 300),
                        "repairs": line.parse.repairs,
                    }
                )
            for label, string in line.hallucinated:
                if len(out["hallucinated"]) < 3 * limit:
                    out["hallucinated"].append(
                        {"line": line.prediction.line, "label": label, "string": quote(string),
                         "text": quote(line.text, SENTENCE_MAX)}  # fmt: skip
                    )
        return out

    def cluener_rows(self) -> list[dict]:
        return [line.cluener_row() for line in self.lines]


def score_run(predictions: Sequence[Prediction], gold: Sequence[Example]) -> Run:
    """Parse, align and (when the gold is labelled) score; predictions and gold pair up by position."""
    if len(predictions) != len(gold):
        raise ValueError(f"{len(predictions)} predictions for {len(gold)} gold sentences")
    lines = []
    for index, (prediction, example) in enumerate(zip(predictions, gold, strict=True)):
        if prediction.no_content:  # the server sent no content: nothing to read, counted as failed
            parsed = ParseResult(status=FAILED, repairs=[f"no content from the server ({prediction.no_content})"])
        else:
            parsed = parse_target(prediction.predict)
        if prediction.spans is not None:  # exact spans (their strings are those of `predict`: checked on reading)
            spans = [Entity(s.label, s.start, s.end) for s in prediction.spans]
            lines.append(LineResult(index, prediction, example, parsed, spans, [], []))
            continue
        aligned = align_strings(example.text, parsed.entities)
        lines.append(
            LineResult(index, prediction, example, parsed, aligned.entities, aligned.missing, aligned.overlapped)
        )
    labelled = bool(gold) and all(ex.labelled for ex in gold)
    if not labelled:
        return Run(lines, None, None, None)
    counts = count_all(FAMILIES, [line.sentence() for line in lines])
    errors = ErrorAnalysis()
    for line in lines:
        analyse_line(line, errors)
    official, span = (Scores(section, counts[section].sum(axis=0)) for section in ("official", "span"))
    return Run(lines, official, span, errors, counts)


def round_trip(examples: Sequence[Example]) -> tuple[Scores, Scores]:
    """Score gold -> target -> parse -> align against gold: (official, span), the ceiling of string-only output."""
    gold_strings, pred_strings, gold_spans, pred_spans = [], [], [], []
    for ex in examples:
        parsed = parse_target(render_target(ex.text, ex.entities))
        spans, _missing = align(ex.text, parsed.entities)
        gold_strings.append(ex.strings_by_label())
        pred_strings.append(parsed.entities)
        gold_spans.append(ex.entities)
        pred_spans.append(spans)
    return score_official(gold_strings, pred_strings), score_spans(gold_spans, pred_spans)
