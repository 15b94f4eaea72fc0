"""``python -m eval``: score LLaMA-Factory predictions on CLUENER2020 and write reports.

  score PRED (--split SPLIT | --gold FILE) --name RUN   one run -> reports/RUN/ (report.md, metrics.json,
                                                        f1_per_class.png, cluener_predict.json, details.jsonl)
  report [--saves saves] [--reports reports]            score every saves/<RECIPE>/predict_<SPLIT>[_<suffix>]/
                                                        generated_predictions.jsonl without an up-to-date report
                                                        (run <RECIPE>-<SPLIT>[_<suffix>]), then reports/README.md
  submit PRED --out FILE [--split test | --gold FILE]   the CLUENER-format submission file only

PRED is ``generated_predictions.jsonl`` (one JSON object per line with ``predict``, in dataset order; a line may
add its exact ``spans``), or a CLUENER-format predictions file (``label`` holds the spans; see eval/predictions.py,
for span taggers such as encoder_ner). The gold
comes from ``--split`` (train / val / dev / test, through data/manifest.json as written by ``make data``) or from a
CLUENER file (``--gold``). Exit status: 0 done, 1 an input error (named file:line: problem), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .cluener import SHA256, CluenerFormatError, Example, SourceError, read_cluener
from .files import atomic_write_jsonl, sha256_file
from .predictions import PredictionsFormatError, PredictionsMismatchError, check_alignment, read_predictions
from .report import REPORT_FILES, RunNameError, check_run_name, load_baselines, write_index, write_run
from .scoring import Run, score_run
from .splits import MANIFEST, SPLITS, load_split, read_manifest

INPUT_ERRORS = (
    PredictionsFormatError,
    PredictionsMismatchError,
    CluenerFormatError,
    SourceError,
    FileNotFoundError,
    RunNameError,
)
PREDICTIONS_FILE = "generated_predictions.jsonl"
PREDICT_DIR = re.compile(r"^predict_(?P<split>train|val|dev|test)(?:_(?P<suffix>.+))?$")


@dataclass
class Gold:
    examples: list[Example]
    split: str
    path: str  # the file the sentences come from (named in errors)
    description: str


def gold_from_split(split: str, data_dir: str | Path, cache: dict | None = None) -> Gold:
    if cache is not None and split in cache:
        return cache[split]
    examples = load_split(split, data_dir)
    source = read_manifest(data_dir)["source_dir"]
    where = {
        "dev": f"{source}/dev.json",
        "test": f"{source}/test.json",
        "train": f"{source}/train.json minus the val lines in {Path(data_dir) / MANIFEST}",
        "val": f"{source}/train.json, the val lines in {Path(data_dir) / MANIFEST}",
    }[split]
    path = f"{source}/{'train' if split in ('train', 'val') else split}.json"
    gold = Gold(examples, split, path, f"{where} (--split {split})")
    if cache is not None:
        cache[split] = gold
    return gold


def gold_from_file(path: str | Path) -> Gold:
    """A CLUENER file: labelled unless its first line has no ``label`` (the test layout). The split is named by
    content when the file is an official one (sha256), else by file name."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: gold file not found")
    with path.open("rb") as handle:
        first = handle.readline()
    try:
        labelled = "label" in json.loads(first)
    except (ValueError, TypeError):
        labelled = True  # let the reader report the problem with its line number
    examples = read_cluener(path, labelled=labelled)
    digest = sha256_file(path)
    official = {sha: name.removesuffix(".json") for name, sha in SHA256.items()}
    split = official.get(digest, path.stem)
    return Gold(examples, split, str(path), f"{path}" + (f" (official {split}.json)" if digest in official else ""))


def score_file(
    pred_path: Path, gold: Gold, name: str, reports_dir: Path, check_prompts: bool = True, baselines=None
) -> dict:
    predictions = read_predictions(pred_path)
    order = check_alignment(predictions, gold.examples, pred_path, gold.path, check_prompts)
    run = score_run(predictions, gold.examples)
    info = {
        "name": name,
        "split": gold.split,
        "predictions": str(pred_path),
        "predictions_sha256": sha256_file(pred_path),
        "gold": gold.description,
        "order_check": order,
    }
    return write_run(run, info, reports_dir, baselines)


def summary_line(metrics: dict, reports_dir: Path) -> str:
    parse = metrics["parse"]
    where = Path(reports_dir) / metrics["name"]
    parsed = (
        f"parse ok {parse['ok']} repaired {parse['repaired']} failed {parse['failed']}, "
        f"hallucinated {parse['hallucinated']}"
    )
    if metrics["official"] is None:
        return f"{where}/ ({metrics['split']}, no gold labels): {parsed}"
    return (
        f"{where}/ ({metrics['split']}): official macro {metrics['official']['macro_f1']:.4f} "
        f"micro {metrics['official']['micro_f1']:.4f} | span micro {metrics['span']['micro_f1']:.4f} "
        f"macro {metrics['span']['macro_f1']:.4f} | {parsed}"
    )


def cmd_score(args) -> int:
    check_run_name(args.name)
    gold = gold_from_file(args.gold) if args.gold else gold_from_split(args.split, args.data_dir)
    metrics = score_file(Path(args.predictions), gold, args.name, Path(args.reports), not args.no_prompt_check)
    write_index(args.reports)
    print(summary_line(metrics, Path(args.reports)))
    return 0


def discover(saves: Path) -> tuple[list[tuple[Path, str, str]], list[str]]:
    """(predictions path, split, run name) for each file following the convention; a line for each that does not."""
    found, skipped = [], []
    if not saves.is_dir():
        return found, skipped
    for path in sorted(saves.rglob(PREDICTIONS_FILE)):
        rel = path.relative_to(saves)
        match = PREDICT_DIR.match(rel.parent.name)
        if len(rel.parts) != 3 or not match:
            skipped.append(
                f"{path}: not saves/<RECIPE>/predict_<SPLIT>[_<suffix>]/{PREDICTIONS_FILE} "
                f"(SPLIT one of {', '.join(SPLITS)}); score it with `python -m eval score`"
            )
            continue
        found.append((path, match["split"], f"{rel.parts[0]}-{rel.parent.name.removeprefix('predict_')}"))
    return found, skipped


def is_up_to_date(pred_path: Path, report_dir: Path) -> bool:
    metrics_path = report_dir / REPORT_FILES["metrics"]
    if not metrics_path.is_file():
        return False
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return isinstance(metrics, dict) and metrics.get("predictions_sha256") == sha256_file(pred_path)


def cmd_report(args) -> int:
    saves, reports = Path(args.saves), Path(args.reports)
    found, skipped = discover(saves)
    for line in skipped:
        print(f"skipped: {line}", file=sys.stderr)
    failures, cache, baselines = 0, {}, load_baselines()
    for pred_path, split, name in found:
        if is_up_to_date(pred_path, reports / name):
            print(f"{reports / name}/: up to date ({pred_path})")
            continue
        try:
            check_run_name(name)
            gold = gold_from_split(split, args.data_dir, cache)
            metrics = score_file(pred_path, gold, name, reports, not args.no_prompt_check, baselines)
        except INPUT_ERRORS as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        print(summary_line(metrics, reports))
    if not found:
        print(f"no predictions under {saves}/<RECIPE>/predict_<SPLIT>[_<suffix>]/{PREDICTIONS_FILE}")
    index = write_index(reports)
    print(f"wrote {index}")
    return 1 if failures else 0


def cmd_submit(args) -> int:
    gold = gold_from_file(args.gold) if args.gold else gold_from_split(args.split, args.data_dir)
    pred_path = Path(args.predictions)
    predictions = read_predictions(pred_path)
    check_alignment(predictions, gold.examples, pred_path, gold.path, not args.no_prompt_check)
    run: Run = score_run(predictions, gold.examples)
    atomic_write_jsonl(args.out, run.cluener_rows())
    stats = run.parse_stats()
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
        p.add_argument("--data-dir", default="data", help="where `make data` wrote manifest.json (default: data)")
        p.add_argument(
            "--no-prompt-check",
            action="store_true",
            help="do not require each prediction's prompt to contain its gold sentence",
        )

    score = sub.add_parser("score", help="score one predictions file into reports/RUN/")
    score.add_argument("predictions", help="generated_predictions.jsonl")
    gold = score.add_mutually_exclusive_group(required=True)
    gold.add_argument("--split", choices=SPLITS)
    gold.add_argument("--gold", help="a CLUENER-format gold file")
    score.add_argument("--name", required=True, help="run name: the folder under --reports")
    score.add_argument("--reports", default="reports")
    common(score)
    score.set_defaults(func=cmd_score)

    report = sub.add_parser("report", help="score every recipe's predictions that has no up-to-date report")
    report.add_argument("--saves", default="saves")
    report.add_argument("--reports", default="reports")
    common(report)
    report.set_defaults(func=cmd_report)

    submit = sub.add_parser("submit", help="write the CLUENER-format (leaderboard) predictions file")
    submit.add_argument("predictions", help="generated_predictions.jsonl")
    gold = submit.add_mutually_exclusive_group()
    gold.add_argument("--split", choices=SPLITS, default="test")
    gold.add_argument("--gold", help="a CLUENER-format file with the sentences")
    submit.add_argument("--out", required=True)
    common(submit)
    submit.set_defaults(func=cmd_submit)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except INPUT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
