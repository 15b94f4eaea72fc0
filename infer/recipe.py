"""What a recipe says about prediction (``yaml_configs/{predict,chat}/<name>.yaml``, read through
:mod:`cluener.layout`): the dataset variant, ``max_new_tokens`` and the thinking setting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cluener.layout import RECIPE_DIR, read_recipe


@dataclass
class RecipeDefaults:
    """What the recipe of ``--name`` says about prediction (yaml_configs/{predict,chat}/<name>.yaml)."""

    dataset: str | None = None  # the predict recipe's eval_dataset, e.g. cluener_dev / cluener_guided_dev
    max_tokens: int | None = None  # its max_new_tokens
    enable_thinking: bool | None = None  # the chat recipe's thinking setting


def recipe_defaults(name: str | None, recipe_dir: str | os.PathLike = RECIPE_DIR) -> RecipeDefaults:
    """A missing recipe file says nothing (all None); a file that is not YAML is a ``RecipeError``."""
    if not name:
        return RecipeDefaults()
    predict, chat = read_recipe("predict", name, recipe_dir), read_recipe("chat", name, recipe_dir)
    max_tokens = predict.get("max_new_tokens")
    thinking = chat.get("enable_thinking", predict.get("enable_thinking"))
    return RecipeDefaults(
        dataset=predict.get("eval_dataset") if isinstance(predict.get("eval_dataset"), str) else None,
        max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
        enable_thinking=thinking if isinstance(thinking, bool) else None,
    )
