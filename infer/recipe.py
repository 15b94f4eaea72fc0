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

    def request_max_tokens(self, given: int | None) -> int:
        """``--max-tokens`` when given, else the predict recipe's ``max_new_tokens``, else :data:`MAX_TOKENS`."""
        return given or self.max_tokens or MAX_TOKENS

    def request_extra_body(self, given: dict | None) -> dict | None:
        """``--extra-body`` when given; else, for a recipe with ``enable_thinking: false``, the body that switches
        thinking off (``vllm serve`` needs it for hybrid Qwen3; LLaMA-Factory's api ignores it); else None."""
        if given is None and self.enable_thinking is False:
            return {"chat_template_kwargs": {"enable_thinking": False}}
        return given


MAX_TOKENS = 128  # without --max-tokens and a recipe's max_new_tokens


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
