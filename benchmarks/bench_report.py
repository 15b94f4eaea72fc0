"""Time ``make report`` (``python -m eval report``) as the number of runs on one split grows.

For each N of ``--runs``, N predictions files of the dev set (1343 lines; the seeded mix of failures of
``bench_score.py``, one seed per run) are laid out as ``saves/run<i>/predict_dev/generated_predictions.jsonl`` in a
temporary folder and scored by one fresh ``python -m eval report`` into an empty reports folder: the run pass (each
run's report from that run alone), then the index pass (every run against the best of the split, once).

Usage: ``python -m benchmarks.bench_report [--data-dir data] [--runs 4 8 16]``; prints N, the wall time and the
time per run.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_score import DEV_FILE, lf_line, noisy
from cluener.layout import DATA_DIR, REPORTING_SPLIT, predictions_file, recipe_save_dir

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT / DATA_DIR))
    parser.add_argument("--runs", type=int, nargs="+", default=[4, 8, 16])
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    if not (data_dir / DEV_FILE).is_file():
        print(f"error: {data_dir / DEV_FILE} not found; run `make data` first", file=sys.stderr)
        return 1
    records = json.loads((data_dir / DEV_FILE).read_text(encoding="utf-8"))
    for n in args.runs:
        with tempfile.TemporaryDirectory() as tmp:
            saves, reports = Path(tmp) / "saves", Path(tmp) / "reports"
            for i in range(n):
                rng = random.Random(1000 + i)
                path = predictions_file(recipe_save_dir(f"run{i:03d}", saves), REPORTING_SPLIT)
                path.parent.mkdir(parents=True)
                path.write_text("\n".join(lf_line(r, noisy(r, rng)) for r in records) + "\n", encoding="utf-8")
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "eval", "report", "--saves", str(saves), "--reports", str(reports),
                 "--data-dir", str(data_dir)],
                cwd=ROOT, capture_output=True, text=True, check=False,
            )  # fmt: skip
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
                return 1
            print(f"{n:3d} runs on {REPORTING_SPLIT}: make report {seconds:6.1f} s, {seconds / n:.2f} s per run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
