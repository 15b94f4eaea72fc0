"""doctor.estimates is the one copy in code of the memory figures: it must agree with yaml_configs/README.md's
recipe table and with every recipe file's header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from doctor.estimates import RECIPE_NEEDS, gpu_memory_gb

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "yaml_configs"
GPU_RECIPES = sorted(p.stem for p in (RECIPES / "train").glob("*.yaml") if not p.stem.startswith("demo_"))


def header_gb(kind: str, recipe: str) -> float:
    text = (RECIPES / kind / f"{recipe}.yaml").read_text(encoding="utf-8")
    return float(re.search(r"about (\d+(?:\.\d+)?) GB", text)[1])


def readme_rows() -> dict[str, tuple[float, int]]:
    rows = {}
    for line in (RECIPES / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `([^`]+)` \|.*\| (\d+) GB( per GPU, (\d+) GPUs)? \|", line)
        if match:
            rows[match[1]] = (float(match[2]), int(match[4] or 1))
    return rows


def test_every_gpu_recipe_has_estimates():
    assert sorted(RECIPE_NEEDS) == GPU_RECIPES


@pytest.mark.parametrize("recipe", GPU_RECIPES)
def test_code_readme_and_headers_agree(recipe):
    need = RECIPE_NEEDS[recipe]
    assert readme_rows()[recipe] == (need.train, need.train_gpus)
    assert header_gb("train", recipe) == need.train
    assert header_gb("predict", recipe) == need.predict
    assert header_gb("chat", recipe) == need.chat
    assert header_gb("merge", recipe) == need.merge_ram
    assert gpu_memory_gb(recipe, "train") == (need.train, need.train_gpus)
    assert gpu_memory_gb(recipe, "api") == (need.chat, 1)


def test_full_fine_tuning_needs_more_disk_than_lora():
    full, lora = RECIPE_NEEDS["qwen3_0.6b_full_sft"], RECIPE_NEEDS["qwen3_0.6b_lora_sft"]
    assert full.train_output_gb() > 10 * lora.train_output_gb()
    assert lora.download_gb() == full.download_gb() == 1.2
