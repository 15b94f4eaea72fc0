"""YAML configuration files and ``key=value`` overrides: the one reader every recipe, sweep grid and encoder config
goes through, so that a broken file or override is always one line naming it.

Files and overrides are read by OmegaConf, as ``llamafactory-cli train recipe.yaml key=value ...`` reads them
(``OmegaConf.load`` of the file merged with ``OmegaConf.from_cli`` of the overrides, then ``to_container``): YAML,
with ``5e-5`` a float as in YAML 1.2 (PyYAML alone keeps it a string), ``true`` True, ``[a, b]`` a list, an empty
override value None, ``a.b=1`` the key ``b`` inside ``a``, and ``${...}`` kept as written (nothing is resolved).

>>> apply_overrides({"seed": 42}, ["seed=7", "learning_rate=5e-5", "lora_target=all", "eval_dataset="])
{'seed': 7, 'learning_rate': 5e-05, 'lora_target': 'all', 'eval_dataset': None}
>>> apply_overrides({}, ["learning_rate=[1"])
Traceback (most recent call last):
...
cluener.yaml_files.YamlFileError: override 'learning_rate=[1': not a YAML value (ParserError)
>>> apply_overrides({}, ["template=@x"], strict=False)  # kept as written: the trainer decides
{'template': '@x'}
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Sequence

import yaml  # installed with OmegaConf
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


class YamlFileError(ValueError):
    """A configuration file or override that cannot be read; the message names it."""


def load_yaml(text: str) -> dict:
    r"""``text`` (a YAML mapping) as LLaMA-Factory's recipe reader sees it: ``OmegaConf.load``, then a plain dict.

    >>> load_yaml("learning_rate: 5e-5\nseed: 42\nname: 1e")
    {'learning_rate': 5e-05, 'seed': 42, 'name': '1e'}

    Not YAML: ``yaml.YAMLError``; YAML but not a mapping: ``TypeError`` naming what it is.
    """
    try:
        config = OmegaConf.load(io.StringIO(text))  # OmegaConf's own safe loader: no Python objects
    except OSError:  # OmegaConf's word for a document that is a scalar: say what it is
        raise TypeError(type(yaml.safe_load(text)).__name__) from None
    if not isinstance(config, DictConfig):
        raise TypeError(type(OmegaConf.to_container(config)).__name__)
    return OmegaConf.to_container(config, resolve=False)


def read_mapping(path: str | os.PathLike, *, missing_ok: bool = False, error: type[Exception] = YamlFileError) -> dict:
    """The ``key: value`` mapping in ``path`` (an empty file is ``{}``).

    Missing (``{}`` with ``missing_ok``), not YAML, or not a mapping: ``error`` with one line naming the file.
    """
    path = Path(path)
    if not path.is_file():
        if missing_ok:
            return {}
        raise error(f"{path}: not found")
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read ({exc})") from None
    except TypeError as exc:
        raise error(f"{path}: expected a mapping of key: value, found {exc}") from None


def apply_overrides(
    config: dict[str, Any], overrides: Sequence[str], *, strict: bool = True, error: type[Exception] = YamlFileError
) -> dict[str, Any]:
    """A copy of ``config`` with each ``key=value`` of ``overrides`` merged in (``OmegaConf.from_cli``).

    A value that is not YAML is ``error`` when ``strict``, else kept as the string written.
    """
    merged = OmegaConf.create(config)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise error(f"override {item!r}: expected key=value")
        try:
            merged = OmegaConf.merge(merged, OmegaConf.from_cli([f"{key}={raw}"]))
        except (yaml.YAMLError, OmegaConfBaseException) as exc:
            if strict:
                raise error(f"override {item!r}: not a YAML value ({type(exc).__name__})") from None
            merged = OmegaConf.merge(merged, {key: raw})
    return OmegaConf.to_container(merged, resolve=False)
