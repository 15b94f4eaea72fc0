"""YAML configuration files and ``key=value`` overrides: the one reader every recipe, sweep grid and encoder config
goes through, so that a broken file or override is always one line naming it.

Files and overrides are read as ``llamafactory-cli train recipe.yaml key=value ...`` reads them (OmegaConf): YAML,
with ``5e-5`` a float as in YAML 1.2 (PyYAML alone keeps it a string), ``true`` True, ``[a, b]`` a list; an empty
override value is None.

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

import os
import re
from pathlib import Path
from typing import Any, Sequence

import yaml  # installed with LLaMA-Factory


class YamlFileError(ValueError):
    """A configuration file or override that cannot be read; the message names it."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, with floats in exponent form without a dot (``5e-5``) read as floats."""


_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Loader.yaml_implicit_resolvers = {key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "-+0123456789.":
    _Loader.yaml_implicit_resolvers[_first] = [
        (tag, regexp) for tag, regexp in _Loader.yaml_implicit_resolvers.get(_first, []) if tag != "tag:yaml.org,2002:float"
    ]
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def load_yaml(text: str):
    r"""``text`` as YAML the way LLaMA-Factory's recipe reader sees it.

    >>> load_yaml("learning_rate: 5e-5\nseed: 42\nname: 1e")
    {'learning_rate': 5e-05, 'seed': 42, 'name': '1e'}
    """
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no Python objects


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
        value = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read ({exc})") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise error(f"{path}: expected a mapping of key: value, found {type(value).__name__}")
    return value


def apply_overrides(
    config: dict[str, Any], overrides: Sequence[str], *, strict: bool = True, error: type[Exception] = YamlFileError
) -> dict[str, Any]:
    """A copy of ``config`` with each ``key=value`` of ``overrides`` set (values read as YAML).

    A value that is not YAML is ``error`` when ``strict``, else kept as the string written.
    """
    out = dict(config)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise error(f"override {item!r}: expected key=value")
        try:
            out[key] = load_yaml(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            if strict:
                raise error(f"override {item!r}: not a YAML value ({type(exc).__name__})") from None
            out[key] = raw
    return out
