"""The light test tier: the tests that need no torch, run on every supported Python (``make test-light``).

The one rule, read from the source (no import, so it works in both environments):

- a test module is **light** when it says ``pytestmark = pytest.mark.light`` at module level; its tests run in the
  light tier, except those marked ``full`` (they need the full environment: transformers, LLaMA-Factory, ...);
- every other test module is **heavy** and must be listed in :data:`HEAVY_MODULES` with the reason, so that no test
  module leaves the light tier without a word (tests/test_light_tier.py checks both lists);
- the doctests of :data:`LIGHT_PACKAGES` are light (test_light_tier.py imports every module of them and checks that
  none pulls in torch).

With ``CLUENER_LIGHT_TIER=1`` (set by ``make test-light``) the conftest collects only light modules and turns any
skip of a light test into a failure: the light tier runs all of its tests or fails.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

LIGHT_TIER = os.environ.get("CLUENER_LIGHT_TIER") == "1"
LIGHT_PACKAGES = ("cluener", "dataprep", "provenance", "infer", "eval")
# What the light environment (requirements-light.txt) does not have; a light module importing one is a bug.
HEAVY_IMPORTS = ("torch", "transformers", "llamafactory", "deepspeed", "peft", "trl", "vllm", "torchcrf")
HEAVY_MODULES = {
    "test_bad_input_preflight.py": "the GPU targets' pre-flight through make, with LLaMA-Factory's own parser",
    "test_doctor_model_source.py": "the tiny Qwen3 (transformers) and huggingface_hub's cache and hub client",
    "test_doctor_recipe_args.py": "recipes through LLaMA-Factory's own argument parser",
    "test_doctor_system.py": "torch's view of the machine (CUDA, GPU, bf16)",
    "test_doctor_trained.py": "a trained run of the tiny Qwen3 (transformers builds it)",
    "test_doctor_versions.py": "the installed LLaMA-Factory set against the pins",
    "test_board_predictions.py": "a LLaMA Board predict run through llamafactory-cli; vllm_infer.py's data path (LF)",
    "test_bench_gpu.py": "make bench-gpu's dry run through make train (torch, transformers, LLaMA-Factory)",
    "test_packing_lf.py": "LF's data pipeline, collator and model loader on a random Qwen3 (torch, LLaMA-Factory)",
    "test_bench_predict.py": "make bench-predict's dry run through LF predict and LF api (torch, LLaMA-Factory)",
    "test_chat.py": "LLaMA-Factory's CLI chat on the tiny Qwen3 (torch, transformers, peft)",
    "test_byoe.py": "a pretend GPU image: a Python with torch, set up from a wheelhouse (LLaMA-Factory, transformers)",
    "test_distributed.py": "DeepSpeed ZeRO-2/3 through make train (torch, LLaMA-Factory)",
    "test_encoder_config.py": "the encoder configs through transformers' HfArgumentParser (imports torch)",
    "test_encoder_tags.py": "imports torch (the CRF tagger's tags)",
    "test_encoder_train.py": "trains the BERT / BiLSTM-CRF taggers (torch, transformers)",
    "test_end_to_end.py": "the whole chain through llamafactory-cli",
    "test_infer_llamafactory.py": "LLaMA-Factory's API server on the tiny Qwen3",
    "test_recipes.py": "parses every recipe with LLaMA-Factory's own parser",
    "test_sweep.py": "trains the tiny Qwen3 through make sweep",
    "test_vllm_loaders.py": "vLLM's loaders beside the CPU venv",
    "test_webui.py": "LLaMA Board (LLaMA-Factory's webui, gradio) started for real",
}


def is_light_module(path: str | os.PathLike) -> bool:
    """Whether a test module says ``pytestmark = pytest.mark.light`` (alone or in a list) at module level."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            if any(ast.unparse(value) == "pytest.mark.light" for value in values):
                return True
    return False
