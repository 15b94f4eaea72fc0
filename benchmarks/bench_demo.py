"""Time `make demo` (the whole CPU chain: data -> tiny model -> train -> predict -> report) as a user runs it.

Usage: ``python -m benchmarks.bench_demo [--cluener-dir DIR] [--repeat N]``; prints the wall time of each run and
the machine's core count. The goal is under 5 minutes on 2 cores. The demo's own lines (its steps and their progress,
cluener/progress.py) are passed through as they come, indented, so the minutes of training are not silent.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluener-dir", default=os.environ.get("CLUENER_DIR", ""))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    venv = Path(sys.prefix)
    for run in range(1, args.repeat + 1):
        start = time.monotonic()
        cmd = ["make", "demo", f"VENV={venv}"] + ([f"CLUENER_DIR={args.cluener_dir}"] if args.cluener_dir else [])
        process = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in process.stdout:
            print(f"  {line}", end="", flush=True)
            lines.append(line)
        returncode = process.wait()
        seconds = time.monotonic() - start
        if returncode != 0:
            print(f"error: make demo failed (exit {returncode}); its output is above", file=sys.stderr)
            return 1
        summary = next(line.strip() for line in lines if line.startswith("demo done"))
        print(f"run {run}: make demo {seconds:.1f} s wall on {os.cpu_count()} cores -- {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
