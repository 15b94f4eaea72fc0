"""Write a run's report, ``reports/RUN/{report.md, metrics.json, f1_per_class.png, cluener_predict.json,
details.jsonl}``, and, in a separate pass, the index ``reports/README.md`` of all runs.

Two passes, each reading only what it shows:

- the run pass (:func:`write_run`, :func:`refresh_run`): one run's folder, from that run alone (its scores, its run
  card, the published baselines): no other run is opened, so a report never depends on the rest of reports/;
- the index pass (:func:`write_index`): every run's metrics.json, and each run against the best run of its split
  (the paired bootstrap of :mod:`eval.compare`) into reports/README.md. ``python -m eval index`` runs it alone,
  ``python -m eval report`` (``make report``) runs it after the run pass.

Modules, one job each: ``markdown`` (escaping and the one table writer), ``metrics_file`` (what metrics.json holds,
reading runs and baselines), ``tables`` (the tables), ``sections`` (report.md, section by section), ``chart`` (the
per-class F1 PNG), ``readme`` (reports/README.md). Rendering is pure; only :func:`write_run`, :func:`refresh_run` and
:func:`write_index` touch files, always atomically: a run's folder is replaced whole, so a report that exists is
complete. File names are :mod:`cluener.layout`'s (``REPORT_FILES``, ``INDEX_FILE``).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from cluener.files import atomic_folder, atomic_write_bytes, atomic_write_json, atomic_write_jsonl, atomic_write_text
from cluener.layout import INDEX_FILE, REPORT_FILES, report_dir
from eval.compare import significance_vs_best
from eval.run_card import LOSS_CURVE_FILE, write_loss_curve
from eval.scoring import Run

from .chart import render_chart
from .metrics_file import build_metrics, load_baselines, load_runs, run_files
from .readme import render_index
from .sections import render_report

__all__ = [
    "REPORT_FILES", "load_baselines", "refresh_run", "render_index", "render_report", "run_files", "write_index",
    "write_run",
]  # fmt: skip


def write_run(
    run: Run, info: dict, reports_dir: str | Path, baselines: dict | None = None, extra_files: dict | None = None
) -> dict:
    """Write ``reports_dir/<info['name']>/`` all-or-nothing (a fresh folder that replaces the old one in one
    step: :func:`cluener.files.atomic_folder`) from this run alone; returns the metrics dict."""
    folder = report_dir(info["name"], reports_dir)
    baselines = baselines if baselines is not None else load_baselines()
    metrics = build_metrics(run, info)
    with atomic_folder(folder) as tmp:
        for file_name, data in (extra_files or {}).items():  # e.g. an ensemble's predictions file
            atomic_write_bytes(tmp / file_name, data)
        atomic_write_jsonl(tmp / REPORT_FILES["predictions"], run.cluener_rows())
        atomic_write_jsonl(tmp / REPORT_FILES["details"], (line.detail_row() for line in run.lines))
        _write_rendered(tmp, metrics, baselines, chart=run.labelled)
    return metrics


def refresh_run(metrics: dict, reports_dir: str | Path, baselines: dict | None = None) -> dict:
    """Re-render report.md, the per-class chart and the loss curve of an existing run from ``metrics`` (each a pure
    function of it); metrics.json goes last."""
    import shutil

    folder = report_dir(metrics["name"], reports_dir)
    baselines = baselines if baselines is not None else load_baselines()
    rewritten = {REPORT_FILES["report"], REPORT_FILES["metrics"], REPORT_FILES["chart"], LOSS_CURVE_FILE}
    with atomic_folder(folder) as tmp:
        for path in folder.iterdir():  # everything else stays as it is (details, charts, notes kept beside)
            if path.is_file() and path.name not in rewritten:
                try:  # a hard link: no copy, no space needed (files here are replaced, never written in place)
                    os.link(path, tmp / path.name)
                except OSError:
                    shutil.copy2(path, tmp / path.name)
        _write_rendered(tmp, metrics, baselines, chart=bool(metrics.get("official")))
    return metrics


def _write_rendered(tmp: Path, metrics: dict, baselines: dict, chart: bool) -> None:
    """The files rendered from ``metrics`` into a run's temp folder: chart (labelled runs), loss curve, report.md,
    and metrics.json last."""
    if chart:
        atomic_write_bytes(tmp / REPORT_FILES["chart"], render_chart(metrics, baselines))
    write_loss_curve(metrics, tmp)
    atomic_write_text(tmp / REPORT_FILES["report"], render_report(metrics, baselines))
    atomic_write_json(tmp / REPORT_FILES["metrics"], metrics)


INDEX_LOCK = ".README.md.lock"  # reports/.README.md.lock: held while reports/README.md is rescanned and written


def write_index(reports_dir: str | Path) -> Path:
    """The index pass: rescan every run, test each against the best run of its split, and write
    ``reports_dir/README.md``, under an exclusive lock: two commands writing at once take turns, and the later one's
    scan sees the earlier one's run (each run's folder is in place before its command writes the index), so no run
    is ever missing from the index. A run that cannot be read is listed as such, never a failure of the pass."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    lock_path = reports_dir / INDEX_LOCK
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes (or the process dies)
        runs, problems = load_runs(reports_dir)
        significance = significance_vs_best(runs, reports_dir)
        return atomic_write_text(reports_dir / INDEX_FILE, render_index(runs, problems, significance))
