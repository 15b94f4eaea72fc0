"""``python -m eval``: score LLaMA-Factory predictions on CLUENER2020 and write reports.

  score PRED (--split SPLIT | --gold FILE [--split-name NAME]) --name RUN
                                                        one run -> reports/RUN/ (report.md, metrics.json,
                                                        f1_per_class.png, cluener_predict.json, details.jsonl)
  report [--saves saves] [--reports reports]            score every saves/<RECIPE>/predict_<SPLIT>[_<suffix>]/
                                                        generated_predictions.jsonl without an up-to-date report
                                                        (run <RECIPE>-<SPLIT>[_<suffix>]), then reports/README.md
  compare RUN_A RUN_B [--reports DIR] [--json]           paired bootstrap of two runs on the same sentences:
                                                        delta = A - B, its 95% interval and p-value (eval/compare.py)
  ensemble RUN... --name NAME [--min-votes K]           per-sentence entity vote -> reports/NAME/ (eval/ensemble.py)
  submit PRED --out FILE [--split test | --gold FILE]   the CLUENER-format submission file only

PRED is ``generated_predictions.jsonl`` (one JSON object per line with ``predict``, in dataset order; a line may
add its exact ``spans``), or a CLUENER-format predictions file (``label`` holds the spans; see eval/predictions.py,
for span taggers such as encoder_ner). The gold
comes from ``--split`` (train / val / dev / test, through data/manifest.json as written by ``make data``) or from a
CLUENER file (``--gold``; its split is ``--split-name``, else the official split whose file it is, else ``custom``).
This module parses arguments only: the work is in :mod:`eval.runs` and :mod:`cluener.splits`. Exit status: 0 done,
1 an input error (one line: file:line: problem; ``report``: some runs failed, each named), 2 bad arguments.
Predictions must be in the gold order, checked through their prompts; ``--no-order-check`` scores a file whose lines
carry no prompt (only when you know they are in the gold order).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cluener.layout import (
    DATA_DIR,
    PREDICTIONS_FILE,
    PREDICTIONS_UNDER_SAVES,
    REPORTS_DIR,
    SAVES_DIR,
    SPLITS,
    RunNameError,
    check_run_name,
    report_dir,
)
from cluener.reader import CluenerFormatError, SourceError
from cluener.splits import Gold, ManifestError, gold_of_file, gold_of_split

from .predictions import PredictionsFormatError, PredictionsMismatchError
from .report import load_baselines, run_files, write_index
from .compare import CompareError, compare_runs, render_comparison
from .ensemble import EnsembleError, write_ensemble
from .runs import discover, is_up_to_date, refresh_report, score_file, summary_line, write_submission

INPUT_ERRORS = (
    PredictionsFormatError,
    PredictionsMismatchError,
    CluenerFormatError,
    SourceError,
    FileNotFoundError,
    RunNameError,
    ManifestError,
    CompareError,
    EnsembleError,
)


class UsageError(ValueError):
    """An argument that cannot work (names the argument)."""


def gold_of_args(args) -> Gold:
    return gold_of_file(args.gold, args.split_name) if args.gold else gold_of_split(args.split, args.data_dir)


def cmd_score(args) -> int:
    try:
        check_run_name(args.name)
    except RunNameError as exc:
        raise UsageError(f"--name: {exc}") from None
    gold = gold_of_args(args)
    metrics = score_file(Path(args.predictions), gold, args.name, Path(args.reports), not args.no_order_check)
    write_index(args.reports)
    print(summary_line(metrics, Path(args.reports)))
    return 0


def cmd_report(args) -> int:
    saves, reports = Path(args.saves), Path(args.reports)
    found, skipped = discover(saves)
    for line in skipped:
        print(f"skipped: {line}", file=sys.stderr)
    failed, golds, baselines = [], {}, load_baselines()
    tried = len(found)
    for pred_path, split, name in found:  # every run it can: one run's failure never stops the others
        try:
            if is_up_to_date(pred_path, report_dir(name, reports)):
                print(f"{reports / name}/: up to date ({pred_path})")
                continue
            if split not in golds:
                golds[split] = gold_of_split(split, args.data_dir)
            metrics = score_file(pred_path, golds[split], name, reports, not args.no_order_check, baselines)
        except INPUT_ERRORS as exc:
            failed.append(name)
            print(f"error: {name}: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # a bug in our code: say so, keep scoring the other runs
            failed.append(name)
            print(f"error: {name}: internal error, please report it: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        print(summary_line(metrics, reports))
    if not found:
        print(f"no predictions under {saves}/{PREDICTIONS_UNDER_SAVES}")
    if args.refresh:
        scored = {name for _, _, name in found}
        for path in run_files(reports, "details"):
            if path.parent.name in scored:
                continue
            tried += 1
            try:
                refresh_report(path.parent.name, reports, baselines)
                print(f"{path.parent}/: re-rendered")
            except INPUT_ERRORS as exc:
                failed.append(path.parent.name)
                print(f"error: {path.parent.name}: {exc}", file=sys.stderr)
    index = write_index(reports)
    print(f"wrote {index}")
    if failed:
        print(f"error: {len(failed)} of {tried} runs failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def cmd_compare(args) -> int:
    result = compare_runs(args.run_a, args.run_b, args.reports)
    print(json.dumps(result) if args.json else render_comparison(args.run_a, args.run_b, result), end="\n")
    return 0


def cmd_ensemble(args) -> int:
    check_run_name(args.name)
    metrics = write_ensemble(args.runs, args.name, args.reports, args.min_votes, args.data_dir)
    write_index(args.reports)
    print(summary_line(metrics, Path(args.reports)))
    return 0


def cmd_submit(args) -> int:
    if Path(args.out).is_dir():
        raise UsageError(f"--out {args.out}: is a directory; give the path of the file to write")
    stats = write_submission(Path(args.predictions), gold_of_args(args), args.out, not args.no_order_check)
    print(
        f"wrote {args.out}: {stats['total']} lines; parse ok {stats['ok']} repaired {stats['repaired']} "
        f"failed {stats['failed']}, hallucinated strings {stats['hallucinated']} (not in the file: no span)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir", default=DATA_DIR, help=f"where `make data` wrote manifest.json (default: {DATA_DIR})"
        )
        p.add_argument(
            "--no-order-check",
            "--no-prompt-check",
            dest="no_order_check",
            action="store_true",
            help="score even if the order cannot be checked: by default every prediction's prompt must contain its "
            "gold sentence, and a line without a prompt is an error",
        )

    def gold_options(p: argparse.ArgumentParser, required: bool, default_split: str | None) -> None:
        gold = p.add_mutually_exclusive_group(required=required)
        gold.add_argument("--split", choices=SPLITS, default=default_split)
        gold.add_argument("--gold", help="a CLUENER-format gold file")
        p.add_argument(
            "--split-name",
            help="with --gold: the split the report names (default: the official split whose file it is, else custom)",
        )

    score = sub.add_parser("score", help="score one predictions file into reports/RUN/")
    score.add_argument("predictions", help=PREDICTIONS_FILE)
    gold_options(score, required=True, default_split=None)
    score.add_argument("--name", required=True, help="run name: the folder under --reports")
    score.add_argument("--reports", default=REPORTS_DIR)
    common(score)
    score.set_defaults(func=cmd_score)

    report = sub.add_parser("report", help="score every recipe's predictions that has no up-to-date report")
    report.add_argument("--saves", default=SAVES_DIR)
    report.add_argument("--reports", default=REPORTS_DIR)
    report.add_argument(
        "--refresh",
        action="store_true",
        help="also re-render the other reports from their metrics.json and details.jsonl (scores unchanged; "
        "95%% intervals and run cards added where missing)",
    )
    common(report)
    report.set_defaults(func=cmd_report)

    compare = sub.add_parser("compare", help="paired bootstrap of two runs on the same sentences (A - B)")
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.add_argument("--reports", default=REPORTS_DIR)
    compare.add_argument("--json", action="store_true", help='{"official.macro_f1": {"a", "b", "delta", "ci95", "p"}, ...}')
    compare.set_defaults(func=cmd_compare)

    ensemble = sub.add_parser("ensemble", help="per-sentence entity vote of runs on one split -> reports/NAME/")
    ensemble.add_argument("runs", nargs="+", metavar="RUN")
    ensemble.add_argument("--name", required=True, help="the ensemble's run name")
    ensemble.add_argument("--min-votes", type=int, default=None, help="votes an entity needs (default: a majority)")
    ensemble.add_argument("--reports", default=REPORTS_DIR)
    ensemble.add_argument("--data-dir", default=DATA_DIR, help=f"where `make data` wrote manifest.json (default: {DATA_DIR})")
    ensemble.set_defaults(func=cmd_ensemble)

    submit = sub.add_parser("submit", help="write the CLUENER-format (leaderboard) predictions file")
    submit.add_argument("predictions", help=PREDICTIONS_FILE)
    gold_options(submit, required=False, default_split="test")
    submit.add_argument("--out", required=True)
    common(submit)
    submit.set_defaults(func=cmd_submit)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "split_name", None) and not args.gold:
        parser.error("--split-name goes with --gold (a --split names itself)")
    try:
        return args.func(args)
    except (*INPUT_ERRORS, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the user gave that cannot be read or written (permissions, a full disk, ...)
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
