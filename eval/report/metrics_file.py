"""What a run's ``metrics.json`` holds, the report's file names, and reading every run and the published baselines.

A score is named by its field in ``metrics.json``: ``official.macro_f1``, ``official.micro_f1`` (CLUENER's string
sets), ``span.micro_f1``, ``span.macro_f1`` ((type, start, end) spans). ``eval/baselines.json`` names the metric of
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

from eval.scoring import Run

BASELINES_PATH = Path(__file__).resolve().parents[1] / "baselines.json"
REPORT_FILES = {
    "report": "report.md",
    "metrics": "metrics.json",
    "chart": "f1_per_class.png",
    "predictions": "cluener_predict.json",
    "details": "details.jsonl",
}
INDEX_FILE = "README.md"  # reports/README.md: every run


def load_baselines(path: str | Path = BASELINES_PATH) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def metric_value(metrics: dict, field: str) -> float | None:
    """A score of a run by its field (``section.name``); None where the run has no such score (no gold labels)."""
    section, name = field.split(".")
    scores = metrics.get(section)
    return None if scores is None else scores[name]


def metric_label(field: str) -> str:
    """``official.micro_f1`` -> ``official micro F1``."""
    section, name = field.split(".")
    return f"{section} {name.replace('_f1', '')} F1"


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
