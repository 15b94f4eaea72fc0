"""Time ``python -m eval score`` on the dev set (1343 lines): parse, align, score, write the whole report.

Two predictions files are made from ``data/cluener_dev.json`` (run ``make data`` first) in a temporary folder:
``gold`` (each ``output`` as the prediction) and ``noisy`` (a seeded mix of the failures the parser recovers from,
boundary and type errors, hallucinations and unparseable lines). Each is scored twice: in this process (the first
call includes importing matplotlib) and as a fresh ``python -m eval score`` process (interpreter start
included). The budget is 2 s per run.

Usage: ``python -m benchmarks.bench_score [--data-dir data] [--budget 2.0] [--keep DIR]``. It measures: a timing
over budget is printed as such, and the exit status is 1 only when scoring itself fails.
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

from cluener.layout import DATA_DIR, REPORTING_SPLIT, data_file, dataset_name
from eval.__main__ import main as eval_main

ROOT = Path(__file__).resolve().parents[1]

DEV_FILE = data_file(dataset_name(REPORTING_SPLIT), "")  # relative to --data-dir


def lf_line(record: dict, predict: str) -> str:
    prompt = f"<|im_start|>user\n{record['instruction']}{record['input']}<|im_end|>\n<|im_start|>assistant\n"
    return json.dumps({"prompt": prompt, "predict": predict, "label": record["output"]}, ensure_ascii=False)


def noisy(record: dict, rng: random.Random) -> str:
    """One plausible model output: mostly right, with the usual failures mixed in."""
    target = json.loads(record["output"])
    text = record["input"]
    roll = rng.random()
    if target and roll < 0.10:  # boundary error: drop the last character of one entity
        label = rng.choice(list(target))
        target[label] = [s[:-1] or s for s in target[label]]
    elif target and roll < 0.16:  # type error
        label = rng.choice(list(target))
        target.setdefault("scene" if label != "scene" else "address", []).extend(target.pop(label))
    elif roll < 0.20:  # spurious / hallucinated
        target.setdefault("name", []).append(rng.choice([text[:2], "张三丰", "不存在的实体"]))
    elif target and roll < 0.25:  # missed
        target.pop(rng.choice(list(target)))
    out = json.dumps(target, ensure_ascii=False, separators=(",", ":"))
    wrap = rng.random()
    if wrap < 0.05:
        out = f"<think>\n\n</think>\n\n{out}"
    elif wrap < 0.08:
        out = f"```json\n{out}\n```"
    elif wrap < 0.10:
        out = out[: max(1, len(out) * 2 // 3)]  # truncated
    elif wrap < 0.11:
        out = "抱歉，我无法完成。"  # failed
    elif wrap < 0.13:
        out = out.replace(",", "，").replace(":", "：")  # full-width punctuation
    return out


def make_predictions(data_dir: Path, folder: Path) -> dict[str, Path]:
    records = json.loads((data_dir / DEV_FILE).read_text(encoding="utf-8"))
    rng = random.Random(20200101)
    files = {
        "gold": [lf_line(r, r["output"]) for r in records],
        "noisy": [lf_line(r, noisy(r, rng)) for r in records],
    }
    paths = {}
    for name, lines in files.items():
        paths[name] = folder / f"{name}.jsonl"
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT / DATA_DIR))
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per scored run")
    parser.add_argument("--keep", help="write the predictions and reports here instead of a temporary folder")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    if not (data_dir / DEV_FILE).is_file():
        print(f"error: {data_dir / DEV_FILE} not found; run `make data` first", file=sys.stderr)
        return 1
    over = False
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = make_predictions(data_dir, folder)
        reports = folder / "reports"
        for name, path in paths.items():
            argv = [
                "score",
                str(path),
                "--split",
                REPORTING_SPLIT,
                "--name",
                f"bench-{name}",
                "--reports",
                str(reports),
                "--data-dir",
                str(data_dir),
            ]
            start = time.perf_counter()
            status = eval_main(argv)
            in_process = time.perf_counter() - start
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "eval", *argv], cwd=ROOT, capture_output=True, text=True, check=False
            )
            fresh = time.perf_counter() - start
            if status != 0 or proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            lines = sum(1 for _ in path.open(encoding="utf-8"))
            print(
                f"{name:5s} {lines} lines: score + report {in_process:.3f} s in process, "
                f"{fresh:.3f} s as a fresh `python -m eval score` (budget {args.budget:.1f} s)"
            )
            over |= max(in_process, fresh) > args.budget
    print(f"over the {args.budget:.1f} s budget" if over else f"within the {args.budget:.1f} s budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
