"""Names and paths: the one owner of every naming rule of the project.

- splits: ``train`` / ``val`` / ``dev`` / ``test``, in that order (:data:`SPLITS`); ``dev`` is the reporting split,
  ``val`` the selection split (configurations are chosen on it, never on dev);
- dataset names: ``cluener_<split>`` (default prompt) and ``cluener_<variant>_<split>`` (e.g. ``cluener_guided_dev``),
  each in ``data/<name>.json``, registered in ``dataset_info.json``; ``data/manifest.json`` records the build;
- the official raw files ``train.json`` / ``dev.json`` / ``test.json``;
- predictions: ``saves/<recipe>/predict_<split>[_<suffix>]/generated_predictions.jsonl``, scored as run
  ``<recipe>-<split>[_<suffix>]`` into ``reports/<run>/``; a run name is a folder name (:func:`check_run_name`);
- LLaMA Board's predictions: ``saves/<model>/<method>/<run>/generated_predictions.jsonl`` (the Board's
  ``get_save_dir``), scored as run ``<model>_<method>_<run>``; any other predictions file is named after its file
  (or its folder, for LF's default file name) and split (:func:`default_run_name`);
- reports: the files of ``reports/<run>/`` (:data:`REPORT_FILES`) and the index ``reports/README.md``;
- recipes: ``yaml_configs/<kind>/<recipe>.yaml`` (kind: train, predict, chat, merge, encoder).

The Makefile asks this module instead of repeating the rules::

    python -m cluener.layout dataset --recipe R --split S       # the recipe's prompt variant, on split S
    python -m cluener.layout predictions-dir --recipe R --split S  # saves/R/predict_S
    python -m cluener.layout predictions --recipe R --split S   # saves/R/predict_S/generated_predictions.jsonl
    python -m cluener.layout run-name --recipe R --split S      # R-S
    python -m cluener.layout check [--recipe R] [--split S]     # nothing, or one line: not a recipe / a split

>>> dataset_name("dev"), dataset_name("test", "guided")
('cluener_dev', 'cluener_guided_test')
>>> dataset_parts("cluener_guided_val"), split_of("data/cluener_test.json"), split_of("my_file.json")
(('guided', 'val'), 'test', None)
>>> dataset_for_split("test", "cluener_guided_dev"), dataset_for_split("val", None)
('cluener_guided_test', 'cluener_val')
>>> predictions_file(recipe_save_dir("r"), "dev", "api").as_posix(), run_name("r", "dev", "api")
('saves/r/predict_dev_api/generated_predictions.jsonl', 'r-dev_api')
>>> parse_predictions_path(Path("saves/r/predict_dev_api/generated_predictions.jsonl"), Path("saves"))
('dev', 'r-dev_api')
>>> board_run_of(Path("saves/Qwen3-4B-Instruct-2507/lora/eval_1/generated_predictions.jsonl"), Path("saves"))
'Qwen3-4B-Instruct-2507_lora_eval_1'
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

SPLITS: tuple[str, ...] = ("train", "val", "dev", "test")
REPORTING_SPLIT = "dev"  # the official dev set: never trained on, what reports compare
SELECTION_SPLIT = "val"  # what a configuration is chosen on (sweeps, reports/README.md): never the reporting split
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
TRAINER_LOG = "trainer_log.jsonl"  # LLaMA-Factory's progress lines in an output_dir (llamafactory.extras.constants)
TENSORBOARD_DIR = "runs"  # the HF Trainer's default logging_dir, <output_dir>/runs/<date>_<host>/: TensorBoard's events
API_SUFFIX = "api"  # predict_<split>_api: predictions made through a server (python -m infer)

# A run's report folder, reports/<run>/ (:func:`report_dir`): the files `python -m eval score` writes there, by kind.
REPORT_FILES: dict[str, str] = {
    "report": "report.md",
    "metrics": "metrics.json",
    "chart": "f1_per_class.png",
    "predictions": "cluener_predict.json",
    "details": "details.jsonl",
}
ENSEMBLE_PREDICTIONS_FILE = "ensemble_predictions.jsonl"  # an ensemble's voted predictions, in its report folder
INDEX_FILE = "README.md"  # reports/README.md: every run, each against the best run of its split

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


def recipe_save_dir(recipe: str, saves_dir: str | os.PathLike = SAVES_DIR) -> Path:
    """``saves/<recipe>``: the folder a recipe trains into, and under which its predictions go."""
    return Path(saves_dir) / recipe


def sweep_save_dir(recipe: str, combo: str, saves_dir: str | os.PathLike = SAVES_DIR) -> Path:
    """``saves/<recipe>-sweep-<combo>``: where one combination of a sweep trains (``scripts/sweep.py``), beside the
    recipe's own folder; its predictions follow the same rule (:func:`predictions_dir`)."""
    return Path(saves_dir) / f"{recipe}-sweep-{combo}"


def predictions_dir(save_dir: str | os.PathLike, split: str, suffix: str | None = None) -> Path:
    """``<save_dir>/predict_<split>[_<suffix>]``: the folder a prediction of ``split`` writes into, under a save folder
    (:func:`recipe_save_dir`, or a sweep's ``saves/<recipe>-sweep-<combo>``); `python -m eval report` finds those of
    :data:`SPLITS`."""
    return Path(save_dir) / (f"predict_{split}_{suffix}" if suffix else f"predict_{split}")


def predictions_file(save_dir: str | os.PathLike, split: str, suffix: str | None = None) -> Path:
    """``<save_dir>/predict_<split>[_<suffix>]/generated_predictions.jsonl``: the predictions file of ``split``."""
    return predictions_dir(save_dir, split, suffix) / PREDICTIONS_FILE


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

# LLaMA Board writes each run to saves/<model name>/<finetuning type>/<output dir>/ (llamafactory.webui.common's
# get_save_dir); its finetuning types are LLaMA-Factory's METHODS.
BOARD_METHODS = ("full", "freeze", "lora", "oft")
BOARD_PREDICTIONS_UNDER_SAVES = f"<model>/<{'|'.join(BOARD_METHODS)}>/<run>/{PREDICTIONS_FILE}"  # for messages


def board_run_name(model: str, method: str, run: str) -> str:
    """The run (reports/ folder) of a LLaMA Board run's predictions (the split is in its report, not its name)."""
    return f"{model}_{method}_{run}"


def board_run_of(path: Path, saves_dir: Path) -> str | None:
    """The run name of ``saves/<model>/<method>/<run>/generated_predictions.jsonl`` (LLaMA Board), else None."""
    rel = path_under(path, saves_dir)
    if rel is None or len(rel.parts) != 4 or rel.name != PREDICTIONS_FILE or rel.parts[1] not in BOARD_METHODS:
        return None
    return board_run_name(*rel.parts[:3])


def default_run_name(path: str | os.PathLike, split: str, saves_dir: str | os.PathLike = SAVES_DIR) -> str:
    """The run a predictions file is scored as when none is named: the project's run of its path
    (:func:`parse_predictions_path`) when the path names this split, the Board's run (:func:`board_run_of`), else
    ``<file stem>-<split>``, or ``<folder>-<split>`` for LF's default file name (not checked: :func:`check_run_name`).

    >>> default_run_name("saves/r/predict_dev/generated_predictions.jsonl", "dev")
    'r-dev'
    >>> default_run_name("out/qwen3_vllm.jsonl", "val"), default_run_name("/x/vllm_4b/generated_predictions.jsonl", "dev")
    ('qwen3_vllm-val', 'vllm_4b-dev')
    """
    path = Path(path)
    parsed = parse_predictions_path(path, Path(saves_dir))
    if parsed is not None and parsed[0] == split:
        return parsed[1]
    board = board_run_of(path, Path(saves_dir))
    if board is not None:
        return board
    stem = path.stem if path.name != PREDICTIONS_FILE else Path(os.path.abspath(path)).parent.name
    return f"{stem}-{split}"


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
    """``reports/<run>``: a run's report folder (the name checked: never a path)."""
    return Path(reports_dir) / check_run_name(name)


def report_file(name: str, kind: str, reports_dir: str | os.PathLike = REPORTS_DIR) -> Path:
    """``reports/<run>/<REPORT_FILES[kind]>``, e.g. ``report_file("r-dev", "metrics")``: reports/r-dev/metrics.json."""
    return report_dir(name, reports_dir) / REPORT_FILES[kind]


# ---------------------------------------------------------------- CLI (for the Makefile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluener.layout", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="query", required=True)
    queries = {
        "dataset": "the dataset of the recipe's prompt variant on SPLIT",
        "predictions-dir": "the recipe's predictions folder for SPLIT",
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
            "predictions-dir": lambda: predictions_dir(recipe_save_dir(args.recipe), args.split, args.suffix).as_posix(),
            "predictions": lambda: predictions_file(recipe_save_dir(args.recipe), args.split, args.suffix).as_posix(),
            "run-name": lambda: run_name(args.recipe, args.split, args.suffix),
        }[args.query]()
    except RecipeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
