"""The report's tables, each a pure function of metrics dicts (and the published baselines) -> Markdown.

A new table is a function here that returns :func:`eval.report.markdown.table`; a section in
:mod:`eval.report.sections` places it.
"""

from __future__ import annotations


from cluener.labels import LABELS

from eval.bootstrap import CI_SUFFIX, with_interval
from eval.metrics import FAMILIES, SCORES
from eval.partial import is_partial, note

from .markdown import fmt, md, table
from .metrics_file import metric_label, metric_value

def summary_table(metrics: dict) -> str:
    """metric | F1 | precision | recall | definition, one row per score (:data:`eval.metrics.SCORES`)."""
    rows = []
    for score in SCORES:
        scores, average = metrics[score.section], score.name.removesuffix("_f1")
        rows.append(
            (
                score.label,
                with_interval(scores[f"{average}_f1"], scores.get(f"{average}_f1{CI_SUFFIX}")),
                fmt(scores[f"{average}_precision"]),
                fmt(scores[f"{average}_recall"]),
                score.definition,
            )
        )
    return table(("metric", "F1 (95% interval)", "precision", "recall", "definition"), rows)


NO_GOLD = "n/a"  # a class without a gold entity in the scored sentences: its recall and F1 are undefined


def no_gold_classes(scores: dict) -> list[str]:
    """The classes with no gold entity in the scored sentences (support 0), in LABELS order."""
    return [label for label in LABELS if scores["per_class"][label].get("support") == 0]


def class_f1(scores: dict, label: str, digits: int = 4) -> str:
    """A class's F1 cell: ``n/a`` where it has no gold entity (never a 0 that reads as a failure)."""
    c = scores["per_class"][label]
    return NO_GOLD if c.get("support") == 0 else fmt(c["f1"], digits)


def macro_note(scores: dict) -> str:
    """Says how the official macro treats the classes without gold (CLUENER score.py: mean over all 10 types, such a
    type counting 0); empty when every class has gold."""
    missing = no_gold_classes(scores)
    if not missing:
        return ""
    with_gold = [scores["per_class"][label]["f1"] for label in LABELS if label not in missing]
    over_gold = f"{sum(with_gold) / len(with_gold):.4f}" if with_gold else "undefined"
    return (
        f"n/a: no gold entity of {', '.join(missing)} in the scored sentences (recall and F1 undefined; precision "
        "shown where it predicted some). The macro average is the official one, the mean over all 10 types, in "
        f"which {'these count' if len(missing) > 1 else 'it counts'} 0; the mean F1 over the "
        f"{len(with_gold)} classes with gold is {over_gold} (not a CLUENER figure)."
    )


def per_class_table(scores: dict) -> str:
    """BASELINES.md layout: class | precision | recall | f1-score | support, then micro and macro averages. A class
    without gold shows n/a (:func:`macro_note` says how the macro counts it)."""
    rows = []
    for label in LABELS:
        c = scores["per_class"][label]
        predicted = c.get("tp", 0) + c.get("fp", 0)
        if c["support"] == 0:
            rows.append((label, fmt(c["precision"]) if predicted else NO_GOLD, NO_GOLD, NO_GOLD, 0))
        else:
            rows.append((label, fmt(c["precision"]), fmt(c["recall"]), fmt(c["f1"]), c["support"]))
    for average in ("micro", "macro"):
        rows.append(
            (
                f"{average} avg" + (" (10 types, n/a = 0)" if average == "macro" and no_gold_classes(scores) else ""),
                fmt(scores[f"{average}_precision"]),
                fmt(scores[f"{average}_recall"]),
                fmt(scores[f"{average}_f1"]),
                scores["support"],
            )
        )
    return table(("class", "precision", "recall", "f1-score", "support"), rows)


def run_label(run: dict, this: dict | None) -> str:
    name = f"**{md(run['name'])}** (this run)" if run is this else md(run["name"])
    return f"{name} ({note(run)})" if is_partial(run) else name


def span_baselines_table(metrics: dict, reference: dict) -> str:
    """Span F1 per class of the BERT-family baselines, this run, and this run minus the best baseline (the other runs
    are the index's: a run's report reads that run alone)."""
    rows: dict[str, list[str]] = {}
    for model in reference["models"]:
        rows[model["model"]] = [fmt(model["per_class"][lb]["f1"], 2) for lb in LABELS] + [fmt(model["micro_f1"], 2)]
    rows[run_label(metrics, metrics)] = [class_f1(metrics["span"], lb) for lb in LABELS] + [fmt(metrics["span"]["micro_f1"])]
    best = max(reference["models"], key=lambda m: m["micro_f1"])
    delta = [
        None if metrics["span"]["per_class"][lb].get("support") == 0 else metrics["span"]["per_class"][lb]["f1"]
        - best["per_class"][lb]["f1"]
        for lb in LABELS
    ]
    delta.append(metrics["span"]["micro_f1"] - best["micro_f1"])
    rows[f"this run − {best['model']}"] = [NO_GOLD if d is None else f"{d:+.4f}" for d in delta]
    return table(("model (span F1)", *LABELS, "micro avg"), [(label, *cells) for label, cells in rows.items()])


def published_table(metrics: dict, baselines: dict) -> str:
    """Each published figure against this run's score on the same metric, where the split is the same."""
    rows = []
    for number, pub in enumerate(baselines["published"], start=1):
        field = baselines["metrics"][pub["metric"]]["field"]
        ours = metric_value(metrics, field) if pub["split"] == metrics["split"] else None
        why = "" if pub["split"] == metrics["split"] else f"published on {pub['split']}"
        rows.append(
            (
                number,
                md(pub["system"]),
                md(pub["model"]),
                pub["split"],
                metric_label(field),
                fmt(pub["f1"]),
                fmt(ours) if ours is not None else f"— ({why})",
                f"{ours - pub['f1']:+.4f}" if ours is not None else "—",
            )
        )
    return table(("#", "system", "model", "split", "metric", "published F1", "this run", "Δ"), rows)


def family_tables(metrics: dict) -> list[tuple[str, str, str]]:
    """(title, Markdown table, note) of each table a metric family adds to report.md
    (:attr:`eval.counting.Family.tables`), for the families the run has a section of (an older metrics.json may lack
    a newer family)."""
    out = []
    for family in FAMILIES:
        if metrics.get(family.section):
            out += [(t.title, table(t.header, t.rows), t.note) for t in family.tables(metrics[family.section])]
    return out
