"""What a run's ``metrics.json`` holds, and reading every run and the published baselines (the report's file names
are :mod:`cluener.layout`'s: ``REPORT_FILES``).

A score is named by its field in ``metrics.json`` (``section.name``), declared once with its label in
:data:`eval.metrics.SCORES`; each metric family writes its own section (:data:`eval.metrics.FAMILIES`: ``official``,
``span``, ``semeval``). ``eval/baselines.json`` names the metric of
each published figure (``official_macro``, ``string_micro``, ``span_micro``, as BASELINES.md does) and gives the
field each of those names holds; reports show the field (:func:`metric_label`), so a figure is always labelled
with what it is compared on.

>>> metric_label("official.micro_f1"), metric_value({"official": {"micro_f1": 0.5}}, "official.micro_f1")
('official micro F1', 0.5)
>>> metric_value({"official": None}, "official.macro_f1") is None
True
"""

from __future__ import annotations

import json
from pathlib import Path

from cluener.layout import REPORT_FILES
from eval.bootstrap import DESCRIPTION as BOOTSTRAP, run_intervals
from eval.metrics import FAMILIES, SCORE, SCORES
from eval.run_card import LOSS_CURVE_FILE, has_loss_curve
from eval.scoring import Run

BASELINES_PATH = Path(__file__).resolve().parents[1] / "baselines.json"


def load_baselines(path: str | Path = BASELINES_PATH) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def metric_value(metrics: dict, field: str) -> float | None:
    """A score of a run by its field (``section.name``); None where the run has no such score (no gold labels)."""
    section, name = field.split(".")
    scores = metrics.get(section)
    return None if scores is None else scores[name]


def metric_label(field: str) -> str:
    """``official.micro_f1`` -> ``official micro F1`` (the label :data:`eval.metrics.SCORES` declares)."""
    return SCORE[field].label


def family_sections(counts: dict | None) -> dict:
    """``{section: its metrics.json dict}`` of every family (:data:`eval.metrics.FAMILIES`) from per-sentence
    counts; every section None without them (no gold labels)."""
    return {f.section: None if counts is None else f.as_dict(counts[f.section].sum(axis=0)) for f in FAMILIES}


def add_sections(metrics: dict, sections: dict) -> dict:
    """``metrics`` with family ``sections`` added after the last family section it has (metrics.json's order)."""
    names = {family.section for family in FAMILIES}
    last = max((i for i, key in enumerate(metrics) if key in names), default=len(metrics) - 1)
    items = list(metrics.items())
    return {**dict(items[: last + 1]), **sections, **dict(items[last + 1 :])}


def build_metrics(run: Run, info: dict) -> dict:
    """The content of ``metrics.json``: ``info`` (name, split, paths, sha256, order check) plus the scores."""
    parse = run.parse_stats()
    parse["examples"] = run.parse_examples()
    sections = family_sections(run.counts if run.labelled else None)
    intervals = run_intervals(run)  # 95% sentence-bootstrap intervals: official.*_f1_ci95, span.micro_f1_ci95
    for section, keys in intervals.items():
        sections[section].update(keys)
    files = {key: name for key, name in REPORT_FILES.items() if key != "chart" or run.labelled}
    if has_loss_curve(info.get("run_card")):
        files["loss_curve"] = LOSS_CURVE_FILE
    return {
        **info,
        "lines": len(run.lines),
        **sections,
        **({"bootstrap": BOOTSTRAP} if intervals else {}),
        "parse": parse,
        "errors": run.errors.as_dict() if run.errors else None,
        "files": files,
    }


def run_files(reports_dir: str | Path, kind: str) -> list[Path]:
    """``reports/<run>/<REPORT_FILES[kind]>`` of every run folder, sorted. A folder whose name starts with a dot is
    not a run: it is being written, or was left by a killed write (:func:`cluener.files.atomic_folder`)."""
    found = Path(reports_dir).glob(f"*/{REPORT_FILES[kind]}")
    return sorted(path for path in found if not path.parent.name.startswith("."))


def load_runs(reports_dir: str | Path) -> tuple[list[dict], list[str]]:
    """Every ``reports/*/metrics.json`` (sorted by name), and a line for each one that cannot be read."""
    runs, problems = [], []
    for path in run_files(reports_dir, "metrics"):
        try:
            metrics = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # ValueError: not JSON, not UTF-8
            problems.append(f"{path}: {exc}")
            continue
        problem = metrics_problem(metrics, path.parent.name)
        if problem:
            problems.append(f"{path}: {problem}; not a metrics.json written by `python -m eval score`")
            continue
        runs.append(metrics)
    return runs, problems


def metrics_problem(metrics, folder: str) -> str | None:
    """Why ``metrics`` (a decoded metrics.json in ``reports/<folder>/``) cannot be listed or compared, or None.

    Checks what the index and the comparisons read: name (the folder's), split, lines, the parse counts, and
    ``official`` / ``span`` both null (no gold labels) or both scores.

    >>> metrics_problem({"name": "x", "parse": {}}, "x")
    "'split' is missing or not a str"
    """
    if not isinstance(metrics, dict):
        return f"not a JSON object ({type(metrics).__name__})"
    for key, kind in (("name", str), ("split", str), ("lines", int)):
        if not isinstance(metrics.get(key), kind):
            return f"'{key}' is missing or not a {kind.__name__}"
    if metrics["name"] != folder:
        return f"its name {metrics['name']!r} is not its folder's"
    parse = metrics.get("parse")
    if not isinstance(parse, dict) or not all(
        isinstance(parse.get(k), int) for k in ("total", "ok", "repaired", "failed", "hallucinated")
    ):
        return "'parse' lacks the total / ok / repaired / failed / hallucinated counts"
    names = list(dict.fromkeys(score.section for score in SCORES))  # official, span
    sections = [metrics.get(name) for name in names]
    scored = all(isinstance(s, dict) for s in sections) and all(
        isinstance(metrics[score.section].get(score.name), (int, float)) for score in SCORES
    )
    if not scored and sections != [None] * len(names):
        return f"{' and '.join(map(repr, names))} are neither both scores nor both null"
    return None
