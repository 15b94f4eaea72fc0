"""`make demo`: the whole chain on CPU with a tiny Qwen3, through the real front doors.

1. data: CLUENER -> data/*.json + dataset_info.json (``python -m dataprep.build``)
2. model: a tiny random Qwen3 with a small BPE trained on the data (``scripts/tiny_qwen.py``)
3. train: ``llamafactory-cli train yaml_configs/train/demo_tiny_qwen3_full_sft.yaml`` (memorise 16 sentences), with
   its run record first (``python -m provenance.run_record``, as ``make train`` does) for the report's run card
4. predict: ``llamafactory-cli train yaml_configs/predict/demo_tiny_qwen3_full_sft.yaml`` (greedy)
5. report: ``python -m eval score ... --gold <those 16 sentences> --split-name train16`` -> reports/<run>/report.md,
   then ``python -m eval index`` -> reports/README.md (the two passes of ``make report``)

Usage: ``python -m scripts.demo [--cluener-dir DIR] [--tracker T]`` (without --cluener-dir, the official archive is
downloaded). Train and predict write their output to saves/demo/logs/; the terminal shows one progress line for each
(cluener/progress.py). The recipe reports to TensorBoard (saves/demo_tiny_qwen3_full_sft/runs/, `make tensorboard`);
--tracker (make demo TRACKER=...) switches it, checked before anything runs (doctor/trackers.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cluener import progress
from cluener.files import atomic_write_jsonl
from cluener.layout import (
    DATA_DIR,
    PREDICTIONS_FILE,
    REPORTS_DIR,
    SAVES_DIR,
    TENSORBOARD_DIR,
    TRAINER_LOG,
    data_file,
    dataset_name,
    predictions_dir,
    recipe_path,
    recipe_save_dir,
    run_name,
)
from cluener.splits import load_split
from cluener.yaml_files import read_mapping
from doctor.trackers import CHOICES as TRACKERS
from doctor.trackers import tracker_problems
from cluener.layout import REPORT_FILES

ROOT = Path(__file__).resolve().parents[1]

RECIPE = "demo_tiny_qwen3_full_sft"
MODEL_DIR = ROOT / SAVES_DIR / "demo" / "tiny-qwen3"
# The first 16 train sentences (the recipes' max_samples): a split of its own, named for what it is.
SPLIT_NAME = "train16"
PREDICT_DIR = predictions_dir(recipe_save_dir(RECIPE), SPLIT_NAME)  # the predict recipe's output_dir, under ROOT (the steps' cwd)
RUN = run_name(RECIPE, SPLIT_NAME)
BIN = Path(sys.executable).parent


def step(title: str, cmd: list[str], log: Path | None = None, follow: Path | None = None) -> float:
    """Run one step; with ``log``, its output goes there and ``follow`` (the step's trainer_log.jsonl) is shown as
    one progress line meanwhile."""
    print(f"==> {title}: {' '.join(cmd)}" + (f" (log: {log.relative_to(ROOT)})" if log else ""), flush=True)
    start = time.monotonic()
    env = dict(os.environ, DISABLE_VERSION_CHECK="1", TOKENIZERS_PARALLELISM="false")
    if log is None:
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    else:
        returncode = progress.run(cmd, log, follow, title, cwd=ROOT, env=env)
        if returncode != 0:
            sys.stdout.write(log.read_text(encoding="utf-8")[-4000:])
            raise SystemExit(f"error: {title} failed (exit {returncode}); full log: {log}")
    seconds = time.monotonic() - start
    print(f"    {seconds:.1f} s", flush=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluener-dir", default=os.environ.get("CLUENER_DIR") or None)
    parser.add_argument("--tracker", choices=TRACKERS, default=None, help="report_to of the training (default: the "
                        "recipe's, tensorboard)")  # fmt: skip
    args = parser.parse_args(argv)
    started = time.monotonic()
    logs = ROOT / SAVES_DIR / "demo" / "logs"
    train_recipe = read_mapping(ROOT / recipe_path("train", RECIPE))
    tracking = [f"report_to={args.tracker}"] if args.tracker else []
    for problem in tracker_problems(args.tracker or train_recipe.get("report_to")):  # before anything runs
        print(f"error: {problem}", file=sys.stderr)
        return 1

    data_cmd = [sys.executable, "-m", "dataprep.build"]
    if args.cluener_dir:
        data_cmd += ["--cluener-dir", os.path.abspath(args.cluener_dir)]  # the steps run in ROOT, not here
    step("data", data_cmd)
    step("tiny model", [sys.executable, "-m", "scripts.tiny_qwen", str(MODEL_DIR), "--small-bpe-corpus",
                        str(data_file(dataset_name("train")))])  # fmt: skip
    # as `make train` does: run_command.json (recipe, config, commit, versions, hardware) for the report's run card
    step("record", [sys.executable, "-m", "provenance.run_record", str(recipe_path("train", RECIPE)), *tracking])
    step("train", [str(BIN / "llamafactory-cli"), "train", str(recipe_path("train", RECIPE)), *tracking],
         logs / "train.log", ROOT / train_recipe["output_dir"] / TRAINER_LOG)  # fmt: skip
    step("predict", [str(BIN / "llamafactory-cli"), "train", str(recipe_path("predict", RECIPE))],
         logs / "predict.log", ROOT / PREDICT_DIR / TRAINER_LOG)  # fmt: skip

    # The gold of the 16 sentences the recipe trained and predicted on (max_samples takes the first 16).
    gold = PREDICT_DIR / "gold.json"
    atomic_write_jsonl(ROOT / gold, [ex.to_cluener() for ex in load_split("train", ROOT / DATA_DIR)[:16]])
    predictions = PREDICT_DIR / PREDICTIONS_FILE
    step("report", [sys.executable, "-m", "eval", "score", str(predictions), "--gold", str(gold),
                    "--split-name", SPLIT_NAME, "--name", RUN])  # fmt: skip
    step("index", [sys.executable, "-m", "eval", "index"])

    metrics = json.loads((ROOT / REPORTS_DIR / RUN / REPORT_FILES["metrics"]).read_text(encoding="utf-8"))
    print(
        f"\ndemo done in {time.monotonic() - started:.0f} s: official micro F1 {metrics['official']['micro_f1']:.3f}, "
        f"span micro F1 {metrics['span']['micro_f1']:.3f} on the 16 memorised sentences"
    )
    print(f"report: {REPORTS_DIR}/{RUN}/{REPORT_FILES['report']}")
    if (args.tracker or train_recipe.get("report_to")) == "tensorboard":
        print(f"tensorboard: {train_recipe['output_dir']}/{TENSORBOARD_DIR}/ (make tensorboard)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
