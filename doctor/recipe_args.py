"""A recipe plus its overrides through LLaMA-Factory's own argument parser, before anything loads.

``llamafactory-cli train|chat|api|export recipe.yaml key=value ...`` reads the file and the overrides with
``read_args`` (OmegaConf), then ``HfArgumentParser.parse_dict`` (``allow_extra_keys`` only with ALLOW_EXTRA_ARGS):
an unknown key stops it there, but a value of the wrong type (``learning_rate: fast``) passes and fails later, after
the model has loaded, and an undefined dataset fails only when the data loads. So :func:`validate`:

1. reads the recipe and the overrides with LF's ``read_args``;
2. gives every scalar or list value to the same ``HfArgumentParser`` as its command line (``--key value``), which
   checks types and choices the way ``llamafactory-cli train --learning_rate fast`` would;
3. parses the dict as LF does (``_parse_train_args`` / ``_parse_infer_args``: unknown keys, TrainingArguments' checks);
4. looks the datasets up with LF's ``get_dataset_list`` in the recipe's ``dataset_dir`` and checks their files exist.

The first problem comes back as one line, LF's own message; no model, tokenizer or dataset is loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

# Which of LF's parsers a recipe kind goes through: predict runs with `llamafactory-cli train` (do_predict).
PARSER_OF_KIND = {"train": "train", "predict": "train", "chat": "infer", "merge": "infer"}


class RecipeArgsError(ValueError):
    """The one line LF's parser (or its dataset registry) has against a recipe and its overrides."""


def one_line(text: str) -> str:
    return " ".join(str(text).split())


@contextlib.contextmanager
def _argv(argv: list[str]):
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved


def read_config(recipe_file: str | os.PathLike, overrides: list[str]) -> dict[str, Any]:
    """The recipe and overrides merged exactly as ``llamafactory-cli`` merges them (LF's ``read_args``)."""
    from llamafactory.hparams.parser import read_args

    with _argv(["llamafactory-cli", str(recipe_file), *overrides]):
        try:
            return read_args()
        except Exception as exc:  # OmegaConf: an override that is not key=value, a file that is not YAML
            raise RecipeArgsError(f"{type(exc).__name__}: {one_line(exc)}") from None


def _command_line(config: dict[str, Any]) -> list[str]:
    """``--key value`` for every scalar or list value (None and mappings are left to parse_dict)."""
    argv: list[str] = []
    for key, value in config.items():
        if value is None or isinstance(value, dict):
            continue
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, (dict, list)) for v in values):
            continue
        argv += [f"--{key}", *(str(v) for v in values)]
    return argv


def _check_types(parser, config: dict[str, Any]) -> None:
    """The HfArgumentParser's own types and choices, applied to the values as its command line would."""
    known = {action.dest for action in parser._actions}
    argv = _command_line({k: v for k, v in config.items() if k in known})

    def fail(message: str):
        raise RecipeArgsError(one_line(message))

    parser.error = fail  # argparse calls error() (then exits) on a bad value; here it raises the message instead
    try:
        parser.parse_known_args(argv)
    except argparse.ArgumentError as exc:
        fail(str(exc))


def _check_datasets(data_args) -> None:
    from llamafactory.data.parser import get_dataset_list

    names = [*(data_args.dataset or []), *(data_args.eval_dataset or [])]
    if not names:
        return
    try:
        attrs = get_dataset_list(names, data_args.dataset_dir)
    except Exception as exc:  # LF: "Undefined dataset x in dataset_info.json."
        raise RecipeArgsError(one_line(exc)) from None
    for name, attr in zip(names, attrs):
        if attr.load_from == "file":
            path = Path(data_args.dataset_dir) / attr.dataset_name
            if not path.exists():
                raise RecipeArgsError(f"dataset {name}: {path} not found (run `make data` first)")


def validate(kind: str, recipe_file: str | os.PathLike, overrides: list[str]) -> None:
    """Raise :class:`RecipeArgsError` with LF's one-line message when ``llamafactory-cli`` would refuse the recipe
    of ``kind`` (train, predict, chat, merge) with ``overrides``."""
    os.environ.setdefault("LLAMAFACTORY_VERBOSITY", "WARN")
    try:
        from llamafactory.extras.misc import is_env_enabled
        from llamafactory.hparams import parser as lf_parser
        from transformers import HfArgumentParser
    except Exception as exc:  # LF's own dependency check (check_dependencies) or a broken install
        raise RecipeArgsError(f"LLaMA-Factory cannot be imported: {type(exc).__name__}: {one_line(exc)}") from None
    config = read_config(recipe_file, overrides)
    if not isinstance(config, dict):
        raise RecipeArgsError(f"{recipe_file}: not a mapping of key: value")
    which = PARSER_OF_KIND[kind]
    classes = lf_parser._TRAIN_ARGS if which == "train" else lf_parser._INFER_ARGS
    _check_types(HfArgumentParser(classes), config)
    parse = lf_parser._parse_train_args if which == "train" else lf_parser._parse_infer_args
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # LF prints the whole help first
            parsed = parse(config)
    except (ValueError, TypeError, ImportError) as exc:
        raise RecipeArgsError(one_line(exc)) from None
    if which == "train" or is_env_enabled("ALWAYS_CHECK_DATASETS"):
        _check_datasets(parsed[1])
