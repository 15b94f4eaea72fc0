"""Seeds and hyperparameter sweeps: ``make sweep RECIPE=R SEEDS="42 43 44" [GRID="learning_rate=1e-4,2e-4 ..."]``.

Every combination of the grid's values and the seeds is trained into its own output folder,
``saves/<recipe>-sweep-<combo>/`` (``<combo>`` = ``key=value+...+seed=S``), then predicts ``val`` and ``dev`` into
its ``predict_<split>/`` folders and is scored as runs ``<recipe>-sweep-<combo>-<split>`` -- the same layout as
``saves/<recipe>/predict_<split>/``, so ``make report`` keeps finding them. Training and prediction go through the
Makefile (``make train`` / ``make predict`` with ``ARGS``), so each run gets its run card (``run_command.json``).

- **Selection on val only**: the configuration with the best mean val official macro F1 over its seeds is
  selected; dev is reported beside it, never used to choose (``reports/README.md`` shows mean ± sd over seeds).
- **Resumable**: a combination whose training finished (``train_results.json``) is not trained again, an interrupted
  one resumes from its last checkpoint (LLaMA-Factory's ``overwrite_output_dir: false``); predictions with one line
  per sentence are kept; a report whose predictions are unchanged is kept. Rerun the same command after an
  interruption.

GRID: space-separated ``key=v1,v2,...`` items (LLaMA-Factory keys; values without commas). ARGS: overrides added to
every run, train and predict (e.g. the model path); TRAIN_ARGS to training only (e.g. ``max_samples=1000``, which
must not reach prediction: predictions need one line per sentence), PREDICT_ARGS to prediction only. Exit status:
0 done, 1 a run failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cluener.layout import (
    DATA_DIR,
    MANIFEST,
    REPORTING_SPLIT,
    REPORTS_DIR,
    SELECTION_SPLIT,
    RECIPE_DIR,
    predictions_dir,
    recipe_path,
    predictions_file,
    report_dir,
    report_file,
    run_name,
    sweep_save_dir,
)
from cluener.yaml_files import read_mapping
from eval.metrics import HEADLINE
from eval.run_groups import select_on_val

ROOT = Path(__file__).resolve().parents[1]

WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin", "model.safetensors", "pytorch_model.bin",
                "model.safetensors.index.json", "pytorch_model.bin.index.json")  # fmt: skip
MODEL_KEYS = ("adapter_name_or_path", "model_name_or_path")


class SweepError(ValueError):
    """Bad arguments or a recipe the sweep cannot drive. ``str()`` is one line."""


@dataclass(frozen=True)
class Combo:
    params: tuple[tuple[str, str], ...]  # grid (key, value) pairs, in GRID order
    seed: int

    @property
    def config(self) -> str:
        """The configuration without the seed: what seeds are averaged over."""
        return "+".join(f"{k}={v}" for k, v in self.params) or "recipe"

    @property
    def name(self) -> str:
        return "+".join([*(f"{k}={v}" for k, v in self.params), f"seed={self.seed}"])

    def overrides(self) -> list[str]:
        return [*(f"{k}={v}" for k, v in self.params), f"seed={self.seed}"]


def parse_grid(text: str) -> list[tuple[str, list[str]]]:
    grid = []
    for item in text.split():
        key, sep, values = item.partition("=")
        vals = [v for v in values.split(",") if v]
        if not sep or not key or not vals or len(vals) != len(values.split(",")):
            raise SweepError(f"GRID item {item!r}: expected key=value1,value2,...")
        if key in ("seed", "output_dir"):
            raise SweepError(f"GRID item {item!r}: {key} is set by the sweep (use SEEDS for seeds)")
        if any(k == key for k, _ in grid):
            raise SweepError(f"GRID: {key} is given twice")
        if any(not ch.isalnum() and ch not in "._-" for v in vals for ch in v):
            raise SweepError(f"GRID item {item!r}: values may hold letters, digits and . _ - only")
        grid.append((key, vals))
    return grid


def parse_seeds(text: str) -> list[int]:
    words = text.split()
    if not words or not all(w.isdigit() for w in words):
        raise SweepError(f"SEEDS {text!r}: expected integers separated by spaces, e.g. SEEDS=\"42 43 44\"")
    return list(dict.fromkeys(int(w) for w in words))


def combos(grid: list[tuple[str, list[str]]], seeds: list[int]) -> list[Combo]:
    keys = [k for k, _ in grid]
    out = []
    for values in itertools.product(*(vals for _, vals in grid)):
        for seed in seeds:
            out.append(Combo(tuple(zip(keys, values, strict=True)), seed))
    return out


def read_yaml(path: Path) -> dict:
    return read_mapping(path, error=SweepError)


def model_key(recipe: str, root: Path) -> str:
    """The predict recipe's key that loads the trained output (adapter or full model)."""
    train = read_yaml(recipe_path("train", recipe, root / RECIPE_DIR))
    predict = read_yaml(recipe_path("predict", recipe, root / RECIPE_DIR))
    out = str(train.get("output_dir", "")).rstrip("/")
    for key in MODEL_KEYS:
        if str(predict.get(key, "")).rstrip("/") == out and out:
            return key
    raise SweepError(
        f"yaml_configs/predict/{recipe}.yaml: neither {' nor '.join(MODEL_KEYS)} is the train output_dir {out!r}"
    )


def sentence_count(split: str, data_dir: Path) -> int:
    """The split's sentence count, as ``make data`` recorded it in the manifest."""
    manifest = json.loads((data_dir / MANIFEST).read_text(encoding="utf-8"))
    return int(manifest["counts"][split])


def lines_in(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


class Sweep:
    def __init__(self, recipe: str, grid, seeds, args: dict[str, list[str]], root: Path, reports: Path, make: str,
                 log):  # fmt: skip
        self.recipe, self.root, self.reports, self.make, self.log = recipe, root, reports, make, log
        self.args, self.train_args, self.predict_args = args["both"], args["train"], args["predict"]
        self.combos = combos(grid, seeds)
        self.model_key = model_key(recipe, root)
        self.data_dir = root / DATA_DIR

    def folder(self, combo: Combo) -> Path:
        """Where the combination trains: a save folder of its own, beside the recipe's."""
        return sweep_save_dir(self.recipe, combo.name)

    def run_name(self, combo: Combo, split: str) -> str:
        return run_name(self.folder(combo).name, split)

    def _make(self, *args: str) -> None:
        cmd = [self.make, f"VENV={sys.prefix}", *args]
        self.log(f"$ {' '.join(cmd)}")
        result = subprocess.run(cmd, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed with exit status {result.returncode}")

    def train(self, combo: Combo) -> bool:
        folder = self.root / self.folder(combo)
        if (folder / "train_results.json").is_file():
            self.log(f"{folder.name}: trained already")
            return False
        extra = [f"output_dir={self.folder(combo)}", *combo.overrides()]
        weights = any((folder / name).is_file() for name in WEIGHT_FILES)
        if weights and not any(folder.glob("checkpoint-*")):
            extra.append("overwrite_output_dir=true")  # killed after saving, before train_results.json: start over
        self._make("train", f"RECIPE={self.recipe}", "ARGS=" + " ".join([*self.args, *self.train_args, *extra]))
        return True

    def predict(self, combo: Combo, split: str) -> Path:
        out = predictions_dir(self.folder(combo), split)
        pred = self.root / predictions_file(self.folder(combo), split)
        if pred.is_file() and lines_in(pred) == sentence_count(split, self.data_dir):
            self.log(f"{out}: predicted already")
            return pred
        extra = [f"{self.model_key}={self.folder(combo)}", f"output_dir={out}"]
        args = " ".join([*self.args, *self.predict_args, *extra])
        self._make("predict", f"RECIPE={self.recipe}", f"SPLIT={split}", f"ARGS={args}")
        return pred

    def score(self, combo: Combo, split: str, pred: Path) -> dict:
        from eval.runs import up_to_date_metrics  # the one up-to-date check, as `make report` makes it

        name = self.run_name(combo, split)
        metrics = up_to_date_metrics(pred, report_dir(name, self.reports))
        if metrics is not None:
            self.log(f"{self.reports / name}/: up to date")
            return metrics
        rel = predictions_file(self.folder(combo), split)  # the path as the project names it, under root (cwd)
        cmd = [sys.executable, "-m", "eval", "score", str(rel), "--split", split,
               "--name", name, "--reports", str(self.reports)]  # fmt: skip
        self.log(f"$ {' '.join(cmd)}")
        if subprocess.run(cmd, cwd=self.root).returncode != 0:
            raise RuntimeError(f"scoring {pred} failed")
        return json.loads(report_file(name, "metrics", self.reports).read_text(encoding="utf-8"))

    def run(self) -> dict[str, dict[str, list[dict]]]:
        """``{config: {split: [metrics of each seed]}}``."""
        results: dict[str, dict[str, list[dict]]] = {}
        for number, combo in enumerate(self.combos, 1):
            self.log(f"run {number}/{len(self.combos)}: {combo.name}")  # LF's own progress bars follow, unredirected
            self.train(combo)
            for split in (SELECTION_SPLIT, REPORTING_SPLIT):
                pred = self.predict(combo, split)
                results.setdefault(combo.config, {}).setdefault(split, []).append(self.score(combo, split, pred))
        return results


def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def select(results: dict[str, dict[str, list[dict]]]) -> str | None:
    """The configuration selected on val (:func:`eval.run_groups.select_on_val`, as reports/README.md selects)."""
    return select_on_val({config: [m for runs in by_split.values() for m in runs] for config, by_split in results.items()})


def summary(recipe: str, results: dict[str, dict[str, list[dict]]]) -> str:
    chosen = select(results)
    lines = [f"sweep {recipe}: mean ± sd over seeds; selected on val official macro F1 (dev not used to choose)"]
    for config, by_split in results.items():
        cells = []
        for split in (SELECTION_SPLIT, REPORTING_SPLIT):
            for section, field in (score.key.split(".") for score in HEADLINE):  # declared in eval.metrics
                values = [r[section][field] for r in by_split[split]]
                m, s = mean_sd(values)
                spread = f"± {s:.4f}" if len(values) > 1 else "(n = 1)"  # one seed: no sd was measured
                cells.append(f"{split} {section} {field.split('_')[0]} {m:.4f} {spread}")
        mark = "  <- selected" if config == chosen else ""
        lines.append(f"  {config} ({len(by_split[SELECTION_SPLIT])} seeds): " + "; ".join(cells) + mark)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--recipe", required=True, help="a basename of yaml_configs/train/")
    parser.add_argument("--seeds", default="42", help='e.g. "42 43 44"')
    parser.add_argument("--grid", default="", help='e.g. "learning_rate=1e-4,2e-4 lora_rank=16,64"')
    parser.add_argument("--args", default="", help="LLaMA-Factory overrides for every run (train and predict)")
    parser.add_argument("--train-args", default="", help="overrides for training only (e.g. max_steps=100)")
    parser.add_argument("--predict-args", default="", help="overrides for prediction only (e.g. max_new_tokens=64)")
    parser.add_argument("--reports", default=REPORTS_DIR)
    parser.add_argument("--dry-run", action="store_true", help="list the combinations and their folders only")
    ns = parser.parse_args(argv)
    root = Path.cwd()
    try:
        grid, seeds = parse_grid(ns.grid), parse_seeds(ns.seeds)
        if not recipe_path("train", ns.recipe, root / RECIPE_DIR).is_file():
            raise SweepError(f"{recipe_path('train', ns.recipe)}: no such recipe")
        if not (root / DATA_DIR / MANIFEST).is_file():
            raise SweepError(f"{DATA_DIR}/{MANIFEST}: no prepared data; run 'make data' first")
        args = {"both": ns.args.split(), "train": ns.train_args.split(), "predict": ns.predict_args.split()}
        sweep = Sweep(ns.recipe, grid, seeds, args, root, Path(ns.reports), os.environ.get("MAKE", "make"),
                      lambda msg: print(f"sweep: {msg}", flush=True))  # fmt: skip
    except SweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if ns.dry_run:
        for combo in sweep.combos:
            print(f"{combo.name}: {sweep.folder(combo)}")
        return 0
    try:
        results = sweep.run()
    except RuntimeError as exc:
        print(f"error: {exc}; rerun the same command to resume", file=sys.stderr)
        return 1
    from eval.report import write_index

    write_index(ns.reports)  # reports/README.md: the sweep's runs grouped, mean ± sd over seeds
    print(summary(ns.recipe, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
