"""vLLM 0.11.0's own loaders accept the tiny Qwen3, its LoRA adapter and a merged export, and keep its RoPE base.

What `vllm serve` does before it touches a GPU is run here on CPU with vLLM's real code
(``scripts/install_vllm_loaders.sh``: the vllm wheel without its CUDA kernels, beside this CPU venv, whose
transformers / tokenizers / huggingface_hub are the GPU set's, requirements-common.txt):

- ``vllm.config.ModelConfig`` (what ``--max-model-len`` builds): the architecture is supported, the recipe's
  cutoff_len + max_new_tokens is accepted, and a length beyond the model's is refused;
- ``vllm.transformers_utils.tokenizer.get_tokenizer`` (the call that breaks under transformers 5:
  ``all_special_tokens_extended``);
- the RoPE base vLLM's Qwen3 takes (``getattr(config, "rope_theta", 1000000)`` in
  vllm/model_executor/models/qwen3.py) is the model's 5e6, for the base and for `llamafactory-cli export`'s merge,
  and the merge's config.json has it top-level, where transformers 4 readers look;
- ``vllm.lora.peft_helper.PEFTHelper`` (what ``--lora-modules`` loads) takes the rank-16 adapter under
  ``--max-lora-rank 16`` and refuses it under 8.

Left for a GPU (`make gpu-smoke`): kernels, weights on the device, generation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cluener.layout import RECIPE_DIR, read_recipe
from llm_assets import ROOT, cli_env, llamafactory_cli, make_lora_adapter

LOADERS = ROOT / ".cache" / "vllm-loaders"
RECIPE = "qwen3_4b_instruct2507_lora_sft"
ROPE_THETA = 5_000_000.0


@pytest.fixture(scope="module")
def vllm_path() -> Path:
    """vLLM's loaders, unpacked once by scripts/install_vllm_loaders.sh (`make test` runs it first)."""
    subprocess.run(
        ["bash", "scripts/install_vllm_loaders.sh", str(LOADERS), sys.prefix], cwd=ROOT, check=True, timeout=1800
    )
    return LOADERS


@pytest.fixture(scope="module")
def merged(tiny_qwen3, tmp_path_factory) -> tuple[Path, Path]:
    """(adapter, merge): a rank-16 LoRA adapter of the tiny Qwen3 and the recipe's `llamafactory-cli export` of it."""
    tmp = tmp_path_factory.mktemp("vllm")
    adapter = make_lora_adapter(tiny_qwen3, tmp / "adapter", rank=16)
    export = tmp / "merged"
    subprocess.run(
        llamafactory_cli(
            "export",
            f"yaml_configs/merge/{RECIPE}.yaml",
            f"model_name_or_path={tiny_qwen3}",
            f"adapter_name_or_path={adapter}",
            f"export_dir={export}",
        ),
        cwd=ROOT,
        env=cli_env(),
        check=True,
        capture_output=True,
        timeout=600,
    )
    return adapter, export


_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from vllm.config import ModelConfig
    from vllm.config.lora import LoRAConfig
    from vllm.lora.peft_helper import PEFTHelper
    from vllm.transformers_utils.config import get_config
    from vllm.transformers_utils.tokenizer import get_tokenizer

    models, adapter, max_model_len, rank = sys.argv[1:3] + [int(sys.argv[3]), int(sys.argv[4])]
    out = {}
    for path in json.loads(models):
        config = get_config(path, trust_remote_code=False)
        model = ModelConfig(model=path, max_model_len=max_model_len, trust_remote_code=False)
        try:
            ModelConfig(model=path, max_model_len=model.hf_text_config.max_position_embeddings + 1)
            too_long = "accepted"
        except Exception as exc:  # vLLM refuses a length beyond the model's
            too_long = type(exc).__name__
        tokenizer = get_tokenizer(path, trust_remote_code=False)
        out[path] = {
            "architectures": model.architectures,
            "max_model_len": model.max_model_len,
            "too_long": too_long,
            "rope_theta": getattr(config, "rope_theta", 1000000),  # vllm/model_executor/models/qwen3.py
            "has_rope_theta": hasattr(model.hf_text_config, "rope_theta"),
            "head_size": model.get_head_size(),
            "eos": tokenizer.eos_token,
            "special": [str(t) for t in tokenizer.all_special_tokens_extended],
            "ids": tokenizer.encode("张三在北京"),
            "chat_template": getattr(tokenizer, "chat_template", None),
        }
    peft = PEFTHelper.from_local_dir(adapter, max_position_embeddings=max_model_len)
    peft.validate_legal(LoRAConfig(max_lora_rank=rank))
    try:
        peft.validate_legal(LoRAConfig(max_lora_rank=rank // 2))
        smaller = "accepted"
    except ValueError as exc:
        smaller = str(exc)
    out["lora"] = {"r": peft.r, "smaller_rank": smaller}
    print("RESULT " + json.dumps(out, ensure_ascii=False))
    """
)


def run_loaders(vllm_path: Path, models: list[Path], adapter: Path, max_model_len: int, rank: int) -> dict:
    env = cli_env(PYTHONPATH=os.pathsep.join([str(vllm_path), str(ROOT)]), VLLM_LOGGING_LEVEL="ERROR")
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps([str(m) for m in models]), str(adapter), str(max_model_len),
         str(rank)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-6000:]
    return json.loads(proc.stdout.split("RESULT ", 1)[1])


def test_vllm_loads_the_base_and_the_merge_with_their_rope_base(vllm_path, tiny_qwen3, merged):
    from transformers import AutoConfig, AutoTokenizer

    adapter, export = merged
    train, predict = read_recipe("train", RECIPE, ROOT / RECIPE_DIR), read_recipe("predict", RECIPE, ROOT / RECIPE_DIR)
    max_model_len = train["cutoff_len"] + predict["max_new_tokens"]  # the documented --max-model-len
    result = run_loaders(vllm_path, [tiny_qwen3, export], adapter, max_model_len, train["lora_rank"])

    reference = AutoTokenizer.from_pretrained(tiny_qwen3)
    for path in (tiny_qwen3, export):
        got = result[str(path)]
        assert got["architectures"] == ["Qwen3ForCausalLM"]
        assert got["max_model_len"] == max_model_len and got["too_long"] != "accepted"
        assert got["has_rope_theta"] and got["rope_theta"] == ROPE_THETA, got["rope_theta"]
        assert got["head_size"] == 64
        assert got["eos"] == "<|im_end|>" and {"<|im_end|>", "<|endoftext|>"} <= set(got["special"])
        assert got["ids"] == reference.encode("张三在北京")
        # The readers of transformers 4 (and vLLM through them) look for a top-level rope_theta.
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        assert config["rope_theta"] == ROPE_THETA
        assert AutoConfig.from_pretrained(path).rope_theta == ROPE_THETA
    assert result["lora"]["r"] == train["lora_rank"]
    assert "greater than max_lora_rank" in result["lora"]["smaller_rank"]
