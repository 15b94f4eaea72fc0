"""infer.recipe: what a recipe says about prediction (dataset variant, max tokens, thinking)."""

from __future__ import annotations

import pytest
from llm_assets import ROOT

from cluener.layout import dataset_for_split
from infer.recipe import RecipeDefaults, recipe_defaults

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def test_recipe_defaults_come_from_the_recipe_files():
    guided = recipe_defaults("qwen3_1.7b_lora_sft_guided", ROOT / "yaml_configs")
    assert (guided.dataset, guided.max_tokens, guided.enable_thinking) == ("cluener_guided_dev", 128, False)
    assert dataset_for_split("test", guided.dataset) == "cluener_guided_test"
    plain = recipe_defaults("qwen2.5_7b_lora_sft", ROOT / "yaml_configs")
    assert (plain.dataset, plain.max_tokens, plain.enable_thinking) == ("cluener_dev", 128, None)
    assert recipe_defaults("no_such_recipe", ROOT / "yaml_configs") == RecipeDefaults()


def test_the_request_settings_a_recipe_gives():
    from infer.recipe import MAX_TOKENS

    thinking_off = RecipeDefaults(max_tokens=96, enable_thinking=False)
    assert thinking_off.request_max_tokens(None) == 96 and thinking_off.request_max_tokens(10) == 10
    assert RecipeDefaults().request_max_tokens(None) == MAX_TOKENS
    assert thinking_off.request_extra_body(None) == {"chat_template_kwargs": {"enable_thinking": False}}
    assert thinking_off.request_extra_body({"top_k": 1}) == {"top_k": 1}  # --extra-body replaces it
    assert RecipeDefaults(enable_thinking=True).request_extra_body(None) is None
