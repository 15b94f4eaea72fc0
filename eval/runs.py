"""Runs: score one predictions file against its gold into ``reports/<run>/``, find the runs under ``saves/`` and
score those without an up-to-date report (:func:`report_all`, the run pass of ``make report``), write a submission
file. What ``python -m eval`` calls; names and paths are :mod:`cluener.layout`'s.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Callable

from cluener.files import atomic_write_jsonl, os_error_text, sha256_file
from cluener.layout import (
    BOARD_PREDICTIONS_UNDER_SAVES, PREDICTIONS_FILE, PREDICTIONS_UNDER_SAVES, REPORT_FILES, SAVES_DIR, SPLITS,
    RunNameError, board_run_of, parse_predictions_path, report_dir,
)  # fmt: skip
from cluener.reader import CluenerFormatError, SourceError
from cluener.splits import Gold, ManifestError, gold_of_split, inside_relative, official_source, shown_path

from . import partial as partial_run
from .compare import CompareError
from .metrics import FAMILIES
from .predictions import PredictionsFormatError, PredictionsMismatchError, check_alignment, read_predictions
from .report import load_baselines, run_files, write_run
from .split_match import SplitUnknown
from .run_card import build_card
from .scoring import Run, score_run
from .split_match import match_split


# The problems of a run's input (a predictions or gold file, the manifest, a report folder), each one line naming
# the file: reported as they are; anything else that goes wrong with a run is a bug (said so, never hidden).
INPUT_ERRORS = (
    PredictionsFormatError, PredictionsMismatchError, CluenerFormatError, SourceError, FileNotFoundError,
    ManifestError, CompareError, RunNameError, SplitUnknown,
)  # fmt: skip


def score_predictions(
    pred_path: Path, gold: Gold, check_prompts: bool = True, allow_partial: bool = False
) -> tuple[Run, str, dict | None]:
    """Read a predictions file, check that it lines up with ``gold``, score it: (run, order check, partial).

    With ``allow_partial``, a file with fewer lines than the gold (a smoke test, ``--limit 16``, a run stopped
    early) is scored on the first sentences of the gold it covers, and ``partial`` says how many of how many
    (else None: the file covers the whole split). Only where the order is checked: each line's prompt is what says
    that line N is gold sentence N; without that check a short file is the count mismatch it always was.
    """
    predictions = read_predictions(pred_path)
    examples, partial = gold.examples, None
    if allow_partial and check_prompts and 0 < len(predictions) < len(examples):
        partial = partial_run.info(len(predictions), len(examples))
        examples = examples[: len(predictions)]
    order = check_alignment(predictions, examples, pred_path, gold.path, check_prompts)
    return score_run(predictions, examples), order, partial


def score_file(
    pred_path: Path,
    gold: Gold,
    name: str,
    reports_dir: Path,
    check_prompts: bool = True,
    baselines=None,
) -> dict:
    """Score ``pred_path`` as run ``name`` into ``reports_dir/name/``; returns its metrics dict."""
    run, order, partial = score_predictions(pred_path, gold, check_prompts, allow_partial=True)
    pred_path = inside_relative(pred_path)  # the report shows paths of the repository, never of this machine
    info = {
        "name": name,
        "split": gold.split,
        "predictions": shown_path(pred_path),
        "predictions_sha256": sha256_file(pred_path),
        "gold": gold.description,
        "order_check": order,
        "partial": partial,  # None: the whole split; else how many of its sentences (the first ones) were scored
        "run_card": build_card(pred_path),  # how the run was made
    }
    return write_run(run, info, reports_dir, baselines)


def refresh_report(name: str, reports_dir: Path, baselines=None) -> dict:
    """Re-render ``reports_dir/name/`` from its metrics.json and details.jsonl, without re-scoring: the scores stay
    as they are; what a newer report has is added where missing (the 95% intervals, from the per-sentence details;
    the run card, from the training folder or a ``train_summary.json`` kept beside the report; the section of a
    metric family the report predates, from the per-sentence details)."""
    from .bootstrap import DESCRIPTION, intervals, metrics_ci_keys
    from .compare import load_run, sentences_of_rows
    from .counting import count_all
    from .report.metrics_file import add_sections
    from .report import refresh_run
    from .run_card import LOSS_CURVE_FILE, build_card, card_of_summary, has_loss_curve

    folder = Path(reports_dir) / name
    run = load_run(name, reports_dir)  # a CompareError names what is missing or unreadable
    metrics = dict(run.metrics)
    if isinstance(metrics.get("gold"), str):
        metrics["gold"] = described_gold(metrics["gold"])
    if run.labelled and not metrics["official"].get("macro_f1_ci95"):
        for section, keys in metrics_ci_keys(intervals(run.counts())).items():
            metrics[section] = {**metrics[section], **keys}
        metrics["bootstrap"] = DESCRIPTION
    missing = [family for family in FAMILIES if family.section not in metrics]  # a family newer than the report
    if missing:  # null without gold labels, as scoring writes it
        counts = count_all(missing, sentences_of_rows(run.rows)) if run.labelled else None
        sections = {f.section: None if counts is None else f.as_dict(counts[f.section].sum(axis=0)) for f in missing}
        metrics = add_sections(metrics, sections)
    if metrics.get("run_card") is None and "ensemble" not in metrics:
        card = build_card(metrics["predictions"]) if Path(metrics["predictions"]).is_file() else None
        if card is None and (folder / "train_summary.json").is_file():
            card = card_of_summary(folder / "train_summary.json")
        metrics["run_card"] = card
    if has_loss_curve(metrics.get("run_card")):
        metrics["files"] = {**metrics["files"], "loss_curve": LOSS_CURVE_FILE}
    return refresh_run(metrics, reports_dir, baselines)


_ABSOLUTE = re.compile(r"(?<![\w.~-])/(?:[^\s/()]+/)+([^\s/()]+)")  # /a/b/file -> file
_SPLIT_OF = re.compile(r"\(--split (dev|test)\)$")


def described_gold(gold: str) -> str:
    """An older report's gold (``/…/cluener2020/dev.json (--split dev)``) named by what it is, as new reports name
    it (:func:`cluener.splits.gold_of_split`): no path of the machine that made it.

    >>> described_gold("/x/cluener2020/dev.json (--split dev)")[:16], described_gold("/x/y/g.json (official dev.json)")
    ('CLUENER2020 dev ', 'g.json (official dev.json)')
    """
    match = _SPLIT_OF.search(gold)
    if match and gold.startswith("/"):
        return f"{official_source(match[1])} (--split {match[1]})"
    return _ABSOLUTE.sub(lambda m: m[1], gold)


def write_submission(pred_path: Path, gold: Gold, out: str | Path, check_prompts: bool = True) -> dict:
    """The CLUENER-format (leaderboard) predictions file only; returns the parse statistics."""
    run, _order, _partial = score_predictions(pred_path, gold, check_prompts)  # a submission covers the whole split
    atomic_write_jsonl(out, run.cluener_rows())
    return run.parse_stats()


_COUNTED = {"no_content": "no content from the server", "unclosed_think": "unclosed <think>"}  # shown when > 0


def summary_line(metrics: dict, reports_dir: Path) -> str:
    parse = metrics["parse"]
    where = Path(reports_dir) / metrics["name"]
    parsed = (
        f"parse ok {parse['ok']} repaired {parse['repaired']} failed {parse['failed']}"
        + "".join(f", {what} {parse[key]}" for key, what in _COUNTED.items() if parse.get(key))
        + f", hallucinated {parse['hallucinated']}"
    )
    split = metrics["split"] + (f", {partial_run.note(metrics).upper()}" if partial_run.note(metrics) else "")
    if metrics["official"] is None:
        return f"{where}/ ({split}, no gold labels): {parsed}"
    return (
        f"{where}/ ({split}): official macro {metrics['official']['macro_f1']:.4f} "
        f"micro {metrics['official']['micro_f1']:.4f} | span micro {metrics['span']['micro_f1']:.4f} "
        f"macro {metrics['span']['macro_f1']:.4f} | {parsed}"
    )


def discover(saves: Path) -> tuple[list[tuple[Path, str | None, str]], list[str]]:
    """(predictions path, split, run name) for each file following the project's layout or LLaMA Board's (whose
    split is None: :func:`split_of_file` reads it from the file); a line for each that follows neither."""
    found, skipped = [], []
    if not saves.is_dir():
        return found, skipped
    paths, unreadable = _files_named(saves, PREDICTIONS_FILE)
    skipped += [f"{folder}: cannot be read ({problem}); runs in it are not scored" for folder, problem in unreadable]
    for path in sorted(paths):
        parsed = parse_predictions_path(path, saves)
        board = board_run_of(path, saves) if parsed is None else None
        if parsed is None and board is None:
            skipped.append(
                f"{path}: not {SAVES_DIR}/{PREDICTIONS_UNDER_SAVES} (SPLIT one of {', '.join(SPLITS)}) nor LLaMA "
                f"Board's {SAVES_DIR}/{BOARD_PREDICTIONS_UNDER_SAVES}; score it with `make report PRED={path}`"
            )
            continue
        found.append((path, *parsed) if parsed else (path, None, board))
    return found, skipped


def gold_loader(data_dir) -> Callable[[str], Gold]:
    """``load(split)``: the gold of a project split (:func:`cluener.splits.gold_of_split`), each read once."""
    golds: dict[str, Gold] = {}

    def load(split: str) -> Gold:
        if split not in golds:
            golds[split] = gold_of_split(split, data_dir)
        return golds[split]

    return load


def split_of_file(pred_path: Path, load_gold, saves: Path = Path(SAVES_DIR)) -> str:
    """The split of a predictions file that was given none: the one its path names (the project's layout), else
    the one whose sentences its prompts hold (:func:`eval.split_match.match_split`; SplitUnknown if none or several)."""
    parsed = parse_predictions_path(pred_path, saves)
    if parsed is not None:
        return parsed[0]
    return match_split(read_predictions(pred_path), load_gold, pred_path)


def _files_named(top: Path, name: str) -> tuple[list[Path], list[tuple[str, str]]]:
    """Every file called ``name`` under ``top``, following symlinked folders (``saves/r -> /big/disk/r``; 3.11's
    ``Path.rglob`` does not), each real folder once: a link back up (a loop) is not followed again. Also
    (folder, problem) for each folder that could not be read (never skipped silently)."""
    found, seen, unreadable = [], set(), []

    def note(exc: OSError) -> None:
        unreadable.append((exc.filename, exc.strerror or str(exc)))

    for folder, subfolders, files in os.walk(top, onerror=note, followlinks=True):
        stat = os.stat(folder)
        if (stat.st_dev, stat.st_ino) in seen:
            subfolders[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        subfolders.sort()
        for entry in files:
            path = os.path.join(folder, entry)
            if os.path.islink(path) and not os.path.exists(path):
                unreadable.append((path, "a symlink to nothing"))
        if name in files:
            found.append(Path(folder) / name)
    return found, unreadable


def up_to_date_metrics(pred_path: Path, report_dir: Path) -> dict | None:
    """The metrics of ``report_dir`` when it holds a complete report of exactly this predictions file (its sha256)
    and a section for every metric family (a report older than a family is scored again), else None: the one
    up-to-date check (``python -m eval report`` and ``scripts/sweep.py`` skip such a run)."""
    metrics_path = report_dir / REPORT_FILES["metrics"]
    if not metrics_path.is_file():
        return None
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    complete = isinstance(metrics, dict) and all(family.section in metrics for family in FAMILIES)
    if complete and metrics.get("predictions_sha256") == sha256_file(pred_path):
        return metrics
    return None


def report_all(saves: Path, reports: Path, data_dir: str | Path, check_prompts: bool = True,
               refresh: bool = False) -> tuple[int, list[str]]:  # fmt: skip
    """The run pass of ``make report``: score every predictions file under ``saves`` (:func:`discover`) without an
    up-to-date report, each into its own folder, and with ``refresh`` re-render the other reports. One run's
    failure never stops the others: each is one line on stderr. Returns (runs tried, names of the failed ones)."""
    found, skipped = discover(saves)
    for line in skipped:
        print(f"skipped: {line}", file=sys.stderr)
    failed, load_gold, baselines = [], gold_loader(data_dir), load_baselines()
    tried = len(found)

    def failure(name: str, exc: Exception) -> None:
        failed.append(name)
        if isinstance(exc, INPUT_ERRORS):
            print(f"error: {name}: {exc}", file=sys.stderr)
        elif isinstance(exc, OSError):  # a file that cannot be read or written (permissions, a full disk, ...)
            print(f"error: {name}: {os_error_text(exc, reports / name)}", file=sys.stderr)
        else:  # a bug in our code: say so, keep scoring the other runs
            print(f"error: {name}: internal error, please report it: {type(exc).__name__}: {exc}", file=sys.stderr)

    for pred_path, split, name in found:
        try:
            if up_to_date_metrics(pred_path, report_dir(name, reports)) is not None:
                print(f"{reports / name}/: up to date ({pred_path})")
                continue
            if split is None:  # a LLaMA Board run: the split its prompts hold
                split = split_of_file(pred_path, load_gold, saves)
            metrics = score_file(pred_path, load_gold(split), name, reports, check_prompts, baselines)
        except Exception as exc:  # each run on its own: see failure()
            failure(name, exc)
            continue
        print(summary_line(metrics, reports))
    if not found:
        print(f"no predictions under {saves}/{PREDICTIONS_UNDER_SAVES} nor {saves}/{BOARD_PREDICTIONS_UNDER_SAVES}")
    if refresh:
        scored = {name for _, _, name in found}
        for path in run_files(reports, "details"):
            if path.parent.name in scored:
                continue
            tried += 1
            try:
                refresh_report(path.parent.name, reports, baselines)
            except Exception as exc:
                failure(path.parent.name, exc)
            else:
                print(f"{path.parent}/: re-rendered")
    return tried, failed
