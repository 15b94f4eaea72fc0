"""The sections of a run's ``report.md``, each a pure function of the run's metrics dict (what ``metrics.json``
holds) and the published baselines (``eval/baselines.json``): never of another run (those are reports/README.md's).

A new section is a function here returning its lines, placed in :func:`render_report`.
"""

from __future__ import annotations

import json

from cluener.labels import LABELS
from cluener.layout import INDEX_FILE, REPORT_FILES
from eval.partial import is_partial, note
from eval.run_card import LOSS_CURVE_FILE, render_card
from eval.scoring import ERROR_CATEGORIES, ERROR_DESCRIPTIONS, NONE

from .markdown import code, md, table
from .tables import (
    family_tables, macro_note, per_class_table, published_table, span_baselines_table, summary_table,
)  # fmt: skip


def _summary(metrics: dict) -> list[str]:
    off, span = metrics["official"], metrics["span"]
    return [
        "## Summary",
        "",
        summary_table(metrics),
        "",
        f"- official micro/macro support: {off['support']} distinct (type, string) pairs per sentence; "
        f"span support: {span['support']} gold spans.",
        *(
            [
                "- 95% intervals: percentile bootstrap over the sentences (1000 resamples, fixed seed). They cover "
                "sentence sampling (another draw of sentences like these), not training randomness: another seed "
                "of the same recipe can land outside them."
            ]
            if off.get("macro_f1_ci95")
            else []
        ),
        "- Strings not in the sentence (hallucinated) are false positives on the official metric and absent from "
        "the span metric (they have no span).",
        "",
    ]


def _parse_section(metrics: dict) -> list[str]:
    parse = metrics["parse"]
    total = parse["total"] or 1
    lines = [
        "## Parse",
        "",
        table(
            ("status", "lines", "share"),
            [(s, parse[s], f"{parse[s] / total:.1%}") for s in ("ok", "repaired", "failed")],
        ),
        "",
        "- ok: the exact target format; repaired: read after a recovery listed below; failed: nothing could be "
        "read, no complete JSON object or list and no complete entity item (scored as no entities, and counted "
        "here).",
        *(
            [f"- no content from the server (null or missing; counted as failed): {parse['no_content']}."]
            if parse.get("no_content")
            else []
        ),
        *(
            [
                f"- unclosed think block (the output ended inside `<think>`; its text is not read as the answer): "
                f"{parse['unclosed_think']}."
            ]
            if parse.get("unclosed_think")
            else []
        ),
        f"- predicted strings: {parse['predicted_strings']}; aligned spans: {parse['predicted_spans']}.",
        *(
            [f"- lines with predicted spans, scored as they are (not re-aligned): {parse['span_lines']}."]
            if parse.get("span_lines")
            else []
        ),
        f"- hallucinated strings (not in the sentence): {parse['hallucinated']} in {parse['hallucinated_lines']} lines.",
        f"- overlapped strings (in the sentence, but only inside a longer predicted span; official metric only): "
        f"{parse['overlapped']}.",
        f"- unknown types dropped: {parse['unknown_labels']}"
        + (
            " (" + ", ".join(f"{md(k)}: {v}" for k, v in parse["unknown_label_counts"].items()) + ")"
            if parse["unknown_labels"]
            else ""
        )
        + ".",
        *(
            [
                "- malformed parts left out, the rest of their line kept (count by reason): "
                + ", ".join(f"{md(k)}: {v}" for k, v in parse["dropped"].items())
                + "."
            ]
            if parse.get("dropped")
            else []
        ),
        f"- prediction order check: {metrics.get('order_check', '—')}.",
        "",
    ]
    if parse["repairs"]:
        lines += [
            "Recoveries (lines; a repaired line can have several):",
            "",
            table(("repair", "lines"), [(md(k), v) for k, v in parse["repairs"].items()]),
            "",
        ]
    examples = parse.get("examples", {})
    for status in ("failed", "repaired"):
        if examples.get(status):
            lines += [f"{status.capitalize()} outputs (first {len(examples[status])}):", ""]
            lines += [
                f"- line {e['line']}: {code(json.dumps(e['predict'], ensure_ascii=False))}"
                + (f" ({md(', '.join(e['repairs']))})" if e["repairs"] else "")
                for e in examples[status]
            ]
            lines.append("")
    if examples.get("hallucinated"):
        shown = examples["hallucinated"]
        lines += [
            f"Hallucinated strings ({len(shown)} of {parse['hallucinated']} shown; all are in "
            f"`{REPORT_FILES['details']}`):",
            "",
            table(
                ("line", "type", "string", "sentence"),
                [(e["line"], e["label"], md(e["string"]), md(e["text"])) for e in shown],
            ),
            "",
        ]
    return lines


def _errors_section(metrics: dict) -> list[str]:
    errors = metrics["errors"]
    counts = errors["counts"]
    lines = [
        "## Error analysis",
        "",
        "Span level: aligned predictions against gold spans (each prediction in one category; missed counts gold "
        "entities).",
        "",
        table(("category", "count", "meaning"), [(c, counts[c], ERROR_DESCRIPTIONS[c]) for c in ERROR_CATEGORIES]),
        "",
        "### Confusion matrix (exact spans; rows gold, columns predicted; `none`: no entity at that span)",
        "",
    ]
    names = (*LABELS, NONE)
    lines += [
        table(
            ("gold \\ pred", *names),
            [(g, *(errors["confusion"][g][p] for p in names)) for g in names],
        ),
        "",
    ]
    for category in ERROR_CATEGORIES[1:]:
        examples = errors["examples"].get(category) or []
        if not examples:
            continue
        lines += [f"### {category} ({counts[category]}): {ERROR_DESCRIPTIONS[category]}", ""]
        for e in examples:
            lines.append(
                f"- line {e['line']}: {md(e['text'])}  \n  {md(e['detail'])}  \n"
                f"  gold: {md('; '.join(e['gold']) or '—')}  \n  pred: {md('; '.join(e['pred']) or '—')}"
            )
        lines.append("")
    return lines


def card_section(metrics: dict) -> list[str]:
    """How the run was made: the run card (:mod:`eval.run_card`), or the members of an ensemble."""
    ensemble = metrics.get("ensemble")
    if ensemble:
        return [
            "## Ensemble",
            "",
            f"Per-sentence vote of {len(ensemble['members'])} runs: {md(', '.join(ensemble['members']))}; an entity "
            f"({'exact span' if ensemble.get('unit') == 'spans' else '(type, string) pair'}) is kept with at least "
            f"{ensemble['min_votes']} votes. Each member's run card is in its own report.",
            "",
        ]
    return render_card(metrics.get("run_card"), metrics["files"].get("loss_curve") and LOSS_CURVE_FILE)


def comparison_section(metrics: dict, baselines: dict) -> list[str]:
    """This run against the published baselines, each on its own metric and split. The other runs, and this run
    against the best of its split, are the index's (reports/README.md): a report reads its own run only."""
    split = metrics["split"]
    lines = ["## Comparison", ""]
    ref = baselines["span_dev"]

    # 1. The BERT-family reference table: dev, span F1 per class.
    lines += [f"### Span F1 per class against the BERT-family baselines ({ref['split']})", ""]
    if split == ref["split"]:
        lines += [
            span_baselines_table(metrics, ref),
            "",
            f"Source: {md(ref['source'])}. Baseline figures have two decimals as published.",
            "",
        ]
    else:
        lines += [f"Not compared: the baselines are {ref['split']} figures and this run is on {split}.", ""]

    # 2. Other published figures, each against this run's score on the same metric and split.
    lines += [
        "### Other published figures (each on its own metric; a row on another split is not compared)",
        "",
        published_table(metrics, baselines),
        "",
        f"Source: `eval/baselines.json`, from {md(baselines['source'])}. CLUENER test labels are not public: test "
        "figures come from the leaderboard (submit `cluener_predict.json` of a test run).",
        "",
        f"### Other runs on {split}",
        "",
        f"Every run, and this one against the best run of its split (paired bootstrap), is in the index "
        f"[reports/{INDEX_FILE}](../{INDEX_FILE}) (`make report`, or `python -m eval index`).",
        "",
    ]
    return lines


def render_report(metrics: dict, baselines: dict) -> str:
    """report.md of one run: a function of its metrics dict and the published baselines only."""
    lines = [
        f"# {md(metrics['name'])}: CLUENER2020 NER evaluation ({metrics['split']})",
        "",
        f"- predictions: {code(metrics['predictions'])} ({metrics['lines']} lines, sha256 "
        f"{metrics['predictions_sha256'][:12]}…)",
        f"- gold: {md(metrics['gold'])}",
        "- files: " + ", ".join(f"[{n}]({n})" for n in metrics["files"].values() if n != REPORT_FILES["report"]),
        "",
    ]
    if is_partial(metrics):
        lines += [
            f"**Partial run ({note(metrics)}).** The predictions file has fewer lines than the split: every score "
            "below is of its first sentences only, not of the split. It is not comparable with a complete run and is "
            "never ranked as the best run of the split; predict the whole split to compare.",
            "",
        ]
    if metrics["official"] is None:
        lines += [
            "This split has no gold labels: only parse statistics and the CLUENER-format predictions "
            f"(`{REPORT_FILES['predictions']}`, the leaderboard submission file) are produced.",
            "",
        ]
        lines += _parse_section(metrics)
        return "\n".join(lines).rstrip() + "\n"
    lines += _summary(metrics)
    for title, section in (("official CLUENER (sets of entity strings)", "official"), ("span (type, start, end)", "span")):
        macro = macro_note(metrics[section])
        lines += [f"## Per class: {title}", "", per_class_table(metrics[section]), "", *([macro, ""] if macro else [])]
    lines += [f"![per-class F1]({REPORT_FILES['chart']})", ""]
    for title, text, legend in family_tables(metrics):  # the tables of the other metric families (eval.metrics)
        lines += [f"## {title}", "", text, "", *([legend, ""] if legend else [])]
    lines += _parse_section(metrics)
    lines += _errors_section(metrics)
    lines += card_section(metrics)
    lines += comparison_section(metrics, baselines)
    return "\n".join(lines).rstrip() + "\n"
