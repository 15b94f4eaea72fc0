"""Names and paths: the one owner of every naming rule of the project.

- splits: ``train`` / ``val`` / ``dev`` / ``test``, in that order (:data:`SPLITS`); ``dev`` is the reporting split;
- dataset names: ``cluener_<split>`` (default prompt) and ``cluener_<variant>_<split>`` (e.g. ``cluener_guided_dev``),
  each in ``data/<name>.json``, registered in ``dataset_info.json``; ``data/manifest.json`` records the build;
- the official raw files ``train.json`` / ``dev.json`` / ``test.json``;
- predictions: ``saves/<recipe>/predict_<split>[_<suffix>]/generated_predictions.jsonl``, scored as run
  ``<recipe>-<split>[_<suffix>]`` into ``reports/<run>/``; a run name is a folder name (:func:`check_run_name`);
- recipes: ``yaml_configs/<kind>/<recipe>.yaml`` (kind: train, predict, chat, merge, encoder).

The Makefile asks this module instead of repeating the rules::

    python -m cluener.layout dataset --recipe R --split S       # the recipe's prompt variant, on split S
    python -m cluener.layout predict-dir --recipe R --split S   # saves/R/predict_S
    python -m cluener.layout predictions --recipe R --split S   # saves/R/predict_S/generated_predictions.jsonl
    python -m cluener.layout run-name --recipe R --split S      # R-S
    python -m cluener.layout check [--recipe R] [--split S]     # nothing, or one line: not a recipe / a split

>>> dataset_name("dev"), dataset_name("test", "guided")
('cluener_dev', 'cluener_guided_test')
>>> dataset_parts("cluener_guided_val"), split_of("data/cluener_test.json"), split_of("my_file.json")
(('guided', 'val'), 'test', None)
>>> dataset_for_split("test", "cluener_guided_dev"), dataset_for_split("val", None)
('cluener_guided_test', 'cluener_val')
>>> predictions_path("r", "dev", "api").as_posix(), run_name("r", "dev", "api")
('saves/r/predict_dev_api/generated_predictions.jsonl', 'r-dev_api')
>>> parse_predictions_path(Path("saves/r/predict_dev_api/generated_predictions.jsonl"), Path("saves"))
('dev', 'r-dev_api')
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

SPLITS: tuple[str, ...] = ("train", "val", "dev", "test")
REPORTING_SPLIT = "dev"  # the official dev set: never trained on, what reports compare
LABELLED_SPLITS = frozenset({"train", "val", "dev"})  # the official test labels are not public
CUSTOM_SPLIT = "custom"  # the split name of a gold file that is none of the official ones (``--gold``)

# The official release: one file per official split; train.json also holds the project's val split.
RAW_FILES: dict[str, str] = {"train": "train.json", "dev": "dev.json", "test": "test.json"}

DATASET_PREFIX = "cluener"
DEFAULT_VARIANT = "default"  # the prompt variant whose dataset names carry no variant
DATA_DIR = "data"
RAW_DIR = "raw"  # under DATA_DIR: where the official archive is downloaded
MANIFEST = "manifest.json"
# Under DATA_DIR: each build's complete files in sets/<set>/, and the pointer current -> sets/<set> that
# data/<name>.json and data/manifest.json link through (switched atomically: dataprep/publish.py).
DATA_SETS = "sets"
CURRENT_SET = "current"
DATASET_INFO = "dataset_info.json"  # LLaMA-Factory's registry, in the project root
# The alpaca columns every registered dataset uses (LLaMA-Factory's names -> the record's keys).
ALPACA_COLUMNS: dict[str, str] = {"prompt": "instruction", "query": "input", "response": "output"}

SAVES_DIR = "saves"
REPORTS_DIR = "reports"
RECIPE_DIR = "yaml_configs"
PREDICTIONS_FILE = "generated_predictions.jsonl"
API_SUFFIX = "api"  # predict_<split>_api: predictions made through a server (python -m infer)

_SPLIT_ALTERNATIVES = "|".join(SPLITS)
_DATASET = re.compile(rf"^{DATASET_PREFIX}(?:_(?P<variant>[a-z0-9]+))?_(?P<split>{_SPLIT_ALTERNATIVES})$")
_PREDICT_DIR = re.compile(rf"^predict_(?P<split>{_SPLIT_ALTERNATIVES})(?:_(?P<suffix>.+))?$")
# Any predict folder, also of a split named for what it is (the demo's predict_train16): the run card's lookup.
_ANY_PREDICT_DIR = re.compile(r"^predict_[A-Za-z0-9]+(?:_.+)?$")
RUN_NAME_MAX = 100
# A run name is a safe folder name: a letter or digit, then letters, digits and . _ + = -, at most RUN_NAME_MAX.
_RUN_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._+=-]{{0,{RUN_NAME_MAX - 1}}}")


class RunNameError(ValueError):
    """A run name that cannot be a folder name under reports/."""


class RecipeError(ValueError):
    """A recipe file that cannot be read (names the file)."""


# ---------------------------------------------------------------- datasets


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    return split


def dataset_name(split: str, variant: str = DEFAULT_VARIANT) -> str:
    check_split(split)
    return f"{DATASET_PREFIX}_{split}" if variant == DEFAULT_VARIANT else f"{DATASET_PREFIX}_{variant}_{split}"


def dataset_names(variants, splits=SPLITS) -> list[str]:
    """Every dataset name of the given prompt variants, variant by variant, splits in :data:`SPLITS` order."""
    return [dataset_name(split, variant) for variant in variants for split in splits]


def data_file(name: str, data_dir: str | os.PathLike = DATA_DIR) -> Path:
    """The alpaca file of a dataset name."""
    return Path(data_dir) / f"{name}.json"


def _dataset_match(dataset: str) -> re.Match | None:
    name = Path(dataset).stem if dataset.endswith((".json", ".jsonl")) else dataset
    return _DATASET.match(name)


def dataset_parts(dataset: str) -> tuple[str, str] | None:
    """(prompt variant, split) of a project dataset name or file, None for anything else."""
    match = _dataset_match(dataset)
    return (match["variant"] or DEFAULT_VARIANT, match["split"]) if match else None


def split_of(dataset: str) -> str | None:
    """The split of a project dataset name or file, None for anything else."""
    parts = dataset_parts(dataset)
    return parts[1] if parts else None


def dataset_for_split(split: str, recipe_dataset: str | None) -> str:
    """The dataset of ``split`` in the prompt variant of ``recipe_dataset`` (a recipe's ``eval_dataset``)."""
    parts = dataset_parts(recipe_dataset) if recipe_dataset else None
    return dataset_name(split, parts[0] if parts else DEFAULT_VARIANT)


# ---------------------------------------------------------------- recipes


# A recipe name is a file's basename: letters, digits and . _ + -, no folder part (it becomes saves/<recipe>).
_RECIPE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
TRAINABLE_KINDS = ("train", "encoder")  # the folders whose recipes train something into saves/<recipe>


def check_recipe(name: str, recipe_dir: str | os.PathLike = RECIPE_DIR) -> str:
    """``name`` when it is the basename of a recipe in ``yaml_configs/train`` or ``yaml_configs/encoder``, else
    :class:`RecipeError` (a name with a folder part would put saves/ or reports/ outside the repository).

    >>> check_recipe("../../x")
    Traceback (most recent call last):
    ...
    cluener.layout.RecipeError: RECIPE='../../x': not a recipe name (the basename of a file in yaml_configs/train/ or yaml_configs/encoder/, without .yaml)
    """
    if not isinstance(name, str) or not _RECIPE_NAME.fullmatch(name):
        raise RecipeError(
            f"RECIPE={name!r}: not a recipe name (the basename of a file in "
            f"{'/ or '.join(f'{RECIPE_DIR}/{kind}' for kind in TRAINABLE_KINDS)}/, without .yaml)"
        )
    if not any(recipe_path(kind, name, recipe_dir).is_file() for kind in TRAINABLE_KINDS):
        raise RecipeError(f"RECIPE={name}: no recipe {RECIPE_DIR}/train/{name}.yaml (set RECIPE= or SIZE=)")
    return name


def recipe_path(kind: str, recipe: str, recipe_dir: str | os.PathLike = RECIPE_DIR) -> Path:
    return Path(recipe_dir) / kind / f"{recipe}.yaml"


def read_recipe(kind: str, recipe: str, recipe_dir: str | os.PathLike = RECIPE_DIR) -> dict:
    """A recipe's YAML as a dict; ``{}`` when the recipe has no file of that kind."""
    from .yaml_files import read_mapping  # yaml is installed with LLaMA-Factory; layout's CLI does not need it

    return read_mapping(recipe_path(kind, recipe, recipe_dir), missing_ok=True, error=RecipeError)


def recipe_dataset(recipe: str, split: str, recipe_dir: str | os.PathLike = RECIPE_DIR) -> str:
    """The dataset a recipe predicts on ``split``: its predict recipe's ``eval_dataset`` variant, switched to split."""
    dataset = read_recipe("predict", recipe, recipe_dir).get("eval_dataset")
    return dataset_for_split(split, dataset if isinstance(dataset, str) else None)


# ---------------------------------------------------------------- predictions and runs


def predict_folder(save_dir: str | os.PathLike, split: str, suffix: str | None = None) -> Path:
    """``<save_dir>/predict_<split>[_<suffix>]``, where ``save_dir`` is what a recipe trains into (``saves/<recipe>``)."""
    return Path(save_dir) / (f"predict_{split}_{suffix}" if suffix else f"predict_{split}")


def predict_dir(recipe: str, split: str, suffix: str | None = None, saves_dir: str | os.PathLike = SAVES_DIR) -> Path:
    """``saves/<recipe>/predict_<split>[_<suffix>]``; `python -m eval report` finds those of :data:`SPLITS`."""
    return predict_folder(Path(saves_dir) / recipe, split, suffix)


def predictions_path(
    recipe: str, split: str, suffix: str | None = None, saves_dir: str | os.PathLike = SAVES_DIR
) -> Path:
    return predictions_in(Path(saves_dir) / recipe, split, suffix)


def predictions_in(save_dir: str | os.PathLike, split: str, suffix: str | None = None) -> Path:
    """The predictions file of ``split`` under a recipe's save folder (``saves/<recipe>``)."""
    return predict_folder(save_dir, split, suffix) / PREDICTIONS_FILE


def run_name(recipe: str, split: str, suffix: str | None = None) -> str:
    """The run (reports/ folder) of a recipe's predictions on a split."""
    return f"{recipe}-{split}_{suffix}" if suffix else f"{recipe}-{split}"


def path_under(path: str | os.PathLike, folder: str | os.PathLike) -> Path | None:
    """``path`` relative to ``folder`` when it lies inside it, else None, whichever of the two is relative, absolute
    or reached through a symlink: as written (normalized), then both made absolute, then both resolved.

    >>> path_under("saves/r/x.jsonl", "./saves").as_posix(), path_under("reports/x", "saves")
    ('r/x.jsonl', None)
    """
    forms = (lambda p: Path(os.path.normpath(p)), lambda p: Path(os.path.abspath(p)), lambda p: Path(p).resolve())
    for form in forms:
        try:
            return form(path).relative_to(form(folder))
        except ValueError:
            continue
    return None


def parse_predictions_path(path: Path, saves_dir: Path) -> tuple[str, str] | None:
    """(split, run name) of ``saves/<recipe>/predict_<split>[_<suffix>]/generated_predictions.jsonl``, else None."""
    rel = path_under(path, saves_dir)
    if rel is None:
        return None
    match = _PREDICT_DIR.match(rel.parent.name)
    if len(rel.parts) != 3 or rel.name != PREDICTIONS_FILE or not match:
        return None
    return match["split"], run_name(rel.parts[0], match["split"], match["suffix"])


def training_dir_of(predictions: str | os.PathLike) -> Path | None:
    """The training output folder a predictions file was predicted from: ``<run_dir>`` of
    ``<run_dir>/predict_<split>[_<suffix>]/<file>``, else None.

    >>> training_dir_of("saves/r/predict_train16/generated_predictions.jsonl").as_posix()
    'saves/r'
    >>> training_dir_of("preds/generated_predictions.jsonl") is None
    True
    """
    predictions = Path(predictions)
    if len(predictions.parts) < 3 or ".." in predictions.parts:  # the folders' names are in the absolute path
        predictions = Path(os.path.abspath(predictions))
    return predictions.parent.parent if _ANY_PREDICT_DIR.match(predictions.parent.name) else None


PREDICTIONS_UNDER_SAVES = f"<RECIPE>/predict_<SPLIT>[_<suffix>]/{PREDICTIONS_FILE}"  # for messages


def check_run_name(name: str) -> str:
    """``name`` when it is a safe folder name (see ``_RUN_NAME``), else :class:`RunNameError`.

    >>> check_run_name("qwen3_4b_lora_sft-dev_api")
    'qwen3_4b_lora_sft-dev_api'
    """
    if not isinstance(name, str) or not _RUN_NAME.fullmatch(name):
        raise RunNameError(
            f"run name {name!r}: use 1 to {RUN_NAME_MAX} letters, digits and . _ + = -, starting with a letter or "
            "digit (it becomes a folder under reports/)"
        )
    return name


def recipe_label(path: str | os.PathLike) -> str:
    """One name for a recipe file however its path was written: ``yaml_configs/<kind>/<recipe>.yaml`` for a
    project recipe (given relative, absolute or with ``./``), else the path normalized.

    >>> recipe_label("/home/u/proj/yaml_configs/train/r.yaml"), recipe_label("./yaml_configs/train/r.yaml")
    ('yaml_configs/train/r.yaml', 'yaml_configs/train/r.yaml')
    >>> recipe_label("my/../r.yaml")
    'r.yaml'
    """
    path = Path(os.path.normpath(path))
    return "/".join(path.parts[-3:]) if len(path.parts) >= 3 and path.parts[-3] == RECIPE_DIR else path.as_posix()


def report_dir(name: str, reports_dir: str | os.PathLike = REPORTS_DIR) -> Path:
    return Path(reports_dir) / check_run_name(name)


# ---------------------------------------------------------------- CLI (for the Makefile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluener.layout", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="query", required=True)
    queries = {
        "dataset": "the dataset of the recipe's prompt variant on SPLIT",
        "predict-dir": "the recipe's predictions folder for SPLIT",
        "predictions": "the recipe's predictions file for SPLIT",
        "run-name": "the run (reports/ folder) of the recipe's predictions on SPLIT",
    }
    for query, help_text in queries.items():
        p = sub.add_parser(query, help=help_text)
        p.add_argument("--recipe", required=True)
        p.add_argument("--split", required=True, choices=SPLITS)
        p.add_argument("--suffix", default=None, help="predict_<split>_<suffix> (e.g. api)")
        p.add_argument("--recipe-dir", default=RECIPE_DIR, help=argparse.SUPPRESS)
    check = sub.add_parser("check", help="exit 0 when RECIPE is a recipe's basename and SPLIT a split, else one line")
    check.add_argument("--recipe", default=None)
    check.add_argument("--split", default=None)
    check.add_argument("--recipe-dir", default=RECIPE_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.query == "check":
        try:
            if args.recipe is not None:
                check_recipe(args.recipe, args.recipe_dir)
            if args.split is not None:
                check_split(args.split)
        except ValueError as exc:
            message = str(exc) if isinstance(exc, RecipeError) else f"SPLIT={args.split!r}: {exc}"
            print(f"error: {message}", file=sys.stderr)
            return 2
        return 0
    try:
        answer = {
            "dataset": lambda: recipe_dataset(args.recipe, args.split, args.recipe_dir),
            "predict-dir": lambda: predict_dir(args.recipe, args.split, args.suffix).as_posix(),
            "predictions": lambda: predictions_path(args.recipe, args.split, args.suffix).as_posix(),
            "run-name": lambda: run_name(args.recipe, args.split, args.suffix),
        }[args.query]()
    except RecipeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
