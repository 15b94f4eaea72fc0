"""Render and write a run's report: ``reports/RUN/{report.md, metrics.json, f1_per_class.png, cluener_predict.json,
details.jsonl}``, and the summary ``reports/README.md`` of all runs.

Rendering is a pure function of the metrics dict (what ``metrics.json`` holds), the published baselines
(``eval/baselines.json``) and the other runs' metrics; only :func:`write_run` and :func:`write_index` touch files,
always atomically. ``metrics.json`` is written last, so a report that exists is complete.

>>> frame_to_markdown(__import__("pandas").DataFrame({"f1": ["0.50"]}, index=pd_index(["name"], "class")))
'| class | f1 |\\n|---|---|\\n| name | 0.50 |'
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from .files import atomic_write_bytes, atomic_write_json, atomic_write_jsonl, atomic_write_text
from .labels import LABELS
from .scoring import ERROR_CATEGORIES, ERROR_DESCRIPTIONS, NONE, Run

BASELINES_PATH = Path(__file__).with_name("baselines.json")
REPORT_FILES = {
    "report": "report.md",
    "metrics": "metrics.json",
    "chart": "f1_per_class.png",
    "predictions": "cluener_predict.json",
    "details": "details.jsonl",
}
METRIC_NAMES = {
    "official_macro": "official macro F1",
    "string_micro": "official micro F1",
    "span_micro": "span micro F1",
}
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=-]*$")


# ---------------------------------------------------------------- data


def load_baselines(path: str | Path = BASELINES_PATH) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def metric_value(metrics: dict, key: str) -> float | None:
    """``official_macro`` / ``string_micro`` / ``span_micro`` of a run, None where it has no such score."""
    section, field = {
        "official_macro": ("official", "macro_f1"),
        "string_micro": ("official", "micro_f1"),
        "span_micro": ("span", "micro_f1"),
        "span_macro": ("span", "macro_f1"),
    }[key]
    scores = metrics.get(section)
    return None if scores is None else scores[field]


def build_metrics(run: Run, info: dict) -> dict:
    """The content of ``metrics.json``: ``info`` (name, split, paths, sha256, order check) plus the scores."""
    parse = run.parse_stats()
    parse["examples"] = run.parse_examples()
    return {
        **info,
        "lines": len(run.lines),
        "official": run.official.as_dict() if run.official else None,
        "span": run.span.as_dict() if run.span else None,
        "parse": parse,
        "errors": run.errors.as_dict() if run.errors else None,
        "files": {key: name for key, name in REPORT_FILES.items() if key != "chart" or run.labelled},
    }


def load_runs(reports_dir: str | Path) -> tuple[list[dict], list[str]]:
    """Every ``reports/*/metrics.json`` (sorted by name), and a line for each one that cannot be read."""
    runs, problems = [], []
    for path in sorted(Path(reports_dir).glob(f"*/{REPORT_FILES['metrics']}")):
        try:
            metrics = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(metrics, dict) or "name" not in metrics or "parse" not in metrics:
                raise ValueError("not a metrics.json written by `python -m eval score`")
        except (OSError, ValueError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        runs.append(metrics)
    return runs, problems


# ---------------------------------------------------------------- markdown helpers

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(text: Any) -> str:
    """Escape text for a Markdown table cell or list item (one line)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ")


def code(text: str) -> str:
    """Inline code for arbitrary text (no escapes are processed inside code spans, so none are added)."""
    text = str(text).replace("\r", " ").replace("\n", " ")
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def pd_index(values: Sequence, name: str):
    import pandas as pd

    return pd.Index(list(values), name=name)


def frame_to_markdown(frame) -> str:
    """A pandas DataFrame (cells already formatted) as a GitHub Markdown table, index as the first column."""
    header = [str(frame.index.name or ""), *map(str, frame.columns)]
    rows = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for index, values in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = [str(index), *("" if v is None else str(v) for v in values)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def per_class_table(scores: dict) -> str:
    """BASELINES.md layout: class | precision | recall | f1-score | support, then micro and macro averages."""
    rows = [
        (label, fmt(c["precision"]), fmt(c["recall"]), fmt(c["f1"]), c["support"])
        for label, c in ((label, scores["per_class"][label]) for label in LABELS)
    ]
    support = scores["support"]
    rows.append(
        ("micro avg", fmt(scores["micro_precision"]), fmt(scores["micro_recall"]), fmt(scores["micro_f1"]), support)
    )
    rows.append(
        ("macro avg", fmt(scores["macro_precision"]), fmt(scores["macro_recall"]), fmt(scores["macro_f1"]), support)
    )
    return table(("class", "precision", "recall", "f1-score", "support"), rows)


# ---------------------------------------------------------------- chart


def render_chart(metrics: dict, baselines: dict | None = None) -> bytes:
    """PNG bar chart of per-class F1 on both metrics (and the best BERT-family dev baseline on a dev run)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    official = [metrics["official"]["per_class"][label]["f1"] for label in LABELS]
    span = [metrics["span"]["per_class"][label]["f1"] for label in LABELS]
    fig = Figure(figsize=(11, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = np.arange(len(LABELS))
    width = 0.38
    for offset, values, name in (
        (-width / 2, official, "official (string sets)"),
        (width / 2, span, "span (type, start, end)"),
    ):
        bars = ax.bar(x + offset, values, width, label=name)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=1)
    if baselines and metrics.get("split") == baselines["span_dev"]["split"]:
        best = max(baselines["span_dev"]["models"], key=lambda m: m["micro_f1"])
        ref = [best["per_class"][label]["f1"] for label in LABELS]
        ax.scatter(x + width / 2, ref, marker="_", s=400, color="black", zorder=3, label=f"{best['model']} span (dev)")
    ax.set_xticks(x, LABELS, rotation=25, ha="right")
    ax.set_ylim(0, 1.22)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("F1")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(
        f"{metrics['name']} ({metrics['split']}): per-class F1 - official macro "
        f"{metrics['official']['macro_f1']:.4f}, span micro {metrics['span']['micro_f1']:.4f}"
    )
    ax.legend(loc="upper center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# ---------------------------------------------------------------- report sections


def _summary(metrics: dict) -> list[str]:
    off, span = metrics["official"], metrics["span"]
    rows = [
        (
            "official macro F1",
            fmt(off["macro_f1"]),
            fmt(off["macro_precision"]),
            fmt(off["macro_recall"]),
            "CLUENER score.py: per sentence and type, sets of entity strings; F1 per type, mean over the 10 types "
            "(leaderboard Overall@Macro)",
        ),
        (
            "official micro F1",
            fmt(off["micro_f1"]),
            fmt(off["micro_precision"]),
            fmt(off["micro_recall"]),
            "the same string sets, counts pooled over types (what LLM papers quote as F1)",
        ),
        (
            "span micro F1",
            fmt(span["micro_f1"]),
            fmt(span["micro_precision"]),
            fmt(span["micro_recall"]),
            "(type, start, end) exact match, pooled (BERT-family tables, seqeval strict IOB2)",
        ),
        (
            "span macro F1",
            fmt(span["macro_f1"]),
            fmt(span["macro_precision"]),
            fmt(span["macro_recall"]),
            "(type, start, end) exact match, F1 per type, mean over the 10 types",
        ),
    ]
    return [
        "## Summary",
        "",
        table(("metric", "F1", "precision", "recall", "definition"), rows),
        "",
        f"- official micro/macro support: {off['support']} distinct (type, string) pairs per sentence; "
        f"span support: {span['support']} gold spans.",
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
        "- ok: the exact target format; repaired: read after a recovery listed below; failed: no entity structure "
        "found (scored as no entities, and counted here).",
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


def comparison_section(metrics: dict, baselines: dict, other_runs: Sequence[dict]) -> list[str]:
    """This run against the published baselines (each on its own metric and split) and against the other runs."""
    import pandas as pd

    name, split = metrics["name"], metrics["split"]
    lines = ["## Comparison", ""]
    ref = baselines["span_dev"]
    same_split = [r for r in other_runs if r.get("split") == split and r.get("span") and r["name"] != name]

    # 1. The BERT-family reference table: dev, span F1 per class.
    lines += [f"### Span F1 per class against the BERT-family baselines ({ref['split']})", ""]
    if split == ref["split"]:
        rows: dict[str, list[str]] = {}
        for model in ref["models"]:
            rows[model["model"]] = [fmt(model["per_class"][lb]["f1"], 2) for lb in LABELS] + [fmt(model["micro_f1"], 2)]
        for run in [metrics, *same_split]:
            label = f"**{md(run['name'])}** (this run)" if run is metrics else md(run["name"])
            rows[label] = [fmt(run["span"]["per_class"][lb]["f1"]) for lb in LABELS] + [fmt(run["span"]["micro_f1"])]
        best = max(ref["models"], key=lambda m: m["micro_f1"])
        delta = [metrics["span"]["per_class"][lb]["f1"] - best["per_class"][lb]["f1"] for lb in LABELS]
        delta.append(metrics["span"]["micro_f1"] - best["micro_f1"])
        rows[f"this run − {best['model']}"] = [f"{d:+.4f}" for d in delta]
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=[*LABELS, "micro avg"])
        frame.index.name = "model (span F1)"
        lines += [
            frame_to_markdown(frame),
            "",
            f"Source: {md(ref['source'])}. Baseline figures have two decimals as published.",
            "",
        ]
    else:
        lines += [f"Not compared: the baselines are {ref['split']} figures and this run is on {split}.", ""]

    # 2. Other published figures, each against this run's score on the same metric and split.
    rows2 = []
    for pub in baselines["published"]:
        ours = metric_value(metrics, pub["metric"]) if pub["split"] == split else None
        why = "" if pub["split"] == split else f"published on {pub['split']}"
        rows2.append(
            {
                "system": md(pub["system"]),
                "model": md(pub["model"]),
                "split": pub["split"],
                "metric": METRIC_NAMES[pub["metric"]],
                "published F1": fmt(pub["f1"]),
                "this run": fmt(ours) if ours is not None else f"— ({why})",
                "Δ": f"{ours - pub['f1']:+.4f}" if ours is not None else "—",
            }
        )
    frame2 = pd.DataFrame(rows2)
    frame2.index = pd_index(range(1, len(rows2) + 1), "#")
    lines += [
        "### Other published figures (each on its own metric; a row on another split is not compared)",
        "",
        frame_to_markdown(frame2),
        "",
        f"Source: `eval/baselines.json`, from {md(baselines['source'])}. CLUENER test labels are not public: test "
        "figures come from the leaderboard (submit `cluener_predict.json` of a test run).",
        "",
    ]

    # 3. Other runs on the same split.
    lines += [f"### Runs under reports/ on {split}", ""]
    runs = [metrics, *sorted(same_split, key=lambda r: -r["official"]["macro_f1"])]
    frame3 = pd.DataFrame(
        [
            {
                "official macro F1": fmt(r["official"]["macro_f1"]),
                "official micro F1": fmt(r["official"]["micro_f1"]),
                "span micro F1": fmt(r["span"]["micro_f1"]),
                "span macro F1": fmt(r["span"]["macro_f1"]),
                "failed": r["parse"]["failed"],
                "hallucinated": r["parse"]["hallucinated"],
            }
            for r in runs
        ],
        index=pd_index([f"**{md(r['name'])}** (this run)" if r is metrics else md(r["name"]) for r in runs], "run"),
    )
    lines += [frame_to_markdown(frame3), ""]
    others = sorted(r["name"] for r in other_runs if r.get("split") != split)
    if others:
        lines += [f"Runs on other splits, not compared: {md(', '.join(others))}.", ""]
    return lines


def render_report(metrics: dict, baselines: dict, other_runs: Sequence[dict] = (), problems: Sequence[str] = ()) -> str:
    lines = [
        f"# {md(metrics['name'])}: CLUENER2020 NER evaluation ({metrics['split']})",
        "",
        f"- predictions: {code(metrics['predictions'])} ({metrics['lines']} lines, sha256 "
        f"{metrics['predictions_sha256'][:12]}…)",
        f"- gold: {md(metrics['gold'])}",
        "- files: " + ", ".join(f"[{n}]({n})" for n in metrics["files"].values() if n != REPORT_FILES["report"]),
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
    lines += ["## Per class: official CLUENER (sets of entity strings)", "", per_class_table(metrics["official"]), ""]
    lines += ["## Per class: span (type, start, end)", "", per_class_table(metrics["span"]), ""]
    lines += [f"![per-class F1]({REPORT_FILES['chart']})", ""]
    lines += _parse_section(metrics)
    lines += _errors_section(metrics)
    lines += comparison_section(metrics, baselines, other_runs)
    if problems:
        lines += ["Reports that could not be read:", "", *(f"- {md(p)}" for p in problems), ""]
    return "\n".join(lines).rstrip() + "\n"


def render_index(runs: Sequence[dict], problems: Sequence[str] = ()) -> str:
    """``reports/README.md``: every run, grouped by split, best official macro F1 first."""
    order = {"dev": 0, "val": 1, "train": 2, "test": 3}
    ranked = sorted(
        runs,
        key=lambda r: (order.get(r["split"], 9), r["split"], -(metric_value(r, "official_macro") or -1), r["name"]),
    )
    rows = [
        (
            f"[{md(r['name'])}]({r['name']}/{REPORT_FILES['report']})",
            r["split"],
            r["lines"],
            fmt(metric_value(r, "official_macro")),
            fmt(metric_value(r, "string_micro")),
            fmt(metric_value(r, "span_micro")),
            fmt(metric_value(r, "span_macro")),
            r["parse"]["ok"],
            r["parse"]["repaired"],
            r["parse"]["failed"],
            r["parse"]["hallucinated"],
        )
        for r in ranked
    ]
    lines = [
        "# Runs",
        "",
        "Generated by `python -m eval report` (`make report`); do not edit by hand.",
        "",
        "- official macro F1: CLUENER score.py (string sets per sentence and type, mean F1 over the 10 types; "
        "leaderboard Overall@Macro). official micro F1: the same counts pooled (LLM papers).",
        "- span micro / macro F1: (type, start, end) exact match (BERT-family tables and seqeval report micro).",
        "- Test runs have no gold labels: parse statistics and the submission file only.",
        "",
        table(
            (
                "run",
                "split",
                "lines",
                "official macro F1",
                "official micro F1",
                "span micro F1",
                "span macro F1",
                "ok",
                "repaired",
                "failed",
                "hallucinated",
            ),
            rows,
        )
        if rows
        else "No runs yet.",
        "",
    ]
    if problems:
        lines += ["Reports that could not be read:", "", *(f"- {md(p)}" for p in problems), ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- writing


class RunNameError(ValueError):
    """A run name that cannot be a folder name under reports/."""


def check_run_name(name: str) -> str:
    if not RUN_NAME.match(name) or name in (".", ".."):
        raise RunNameError(f"run name {name!r}: use letters, digits and . _ + = - (it becomes a folder under reports/)")
    return name


def write_run(run: Run, info: dict, reports_dir: str | Path, baselines: dict | None = None) -> dict:
    """Write ``reports_dir/<info['name']>/``; returns the metrics dict. metrics.json goes last."""
    name = check_run_name(info["name"])
    folder = Path(reports_dir) / name
    baselines = baselines if baselines is not None else load_baselines()
    metrics = build_metrics(run, info)
    others, problems = load_runs(reports_dir)
    others = [r for r in others if r["name"] != name]
    atomic_write_jsonl(folder / REPORT_FILES["predictions"], run.cluener_rows())
    atomic_write_jsonl(folder / REPORT_FILES["details"], (line.detail_row() for line in run.lines))
    if run.labelled:
        atomic_write_bytes(folder / REPORT_FILES["chart"], render_chart(metrics, baselines))
    else:
        (folder / REPORT_FILES["chart"]).unlink(missing_ok=True)
    atomic_write_text(folder / REPORT_FILES["report"], render_report(metrics, baselines, others, problems))
    atomic_write_json(folder / REPORT_FILES["metrics"], metrics)
    return metrics


def write_index(reports_dir: str | Path) -> Path:
    runs, problems = load_runs(reports_dir)
    return atomic_write_text(Path(reports_dir) / "README.md", render_index(runs, problems))
