"""The real architecture of every checkpoint a training recipe names: the one place these shapes live.

Each entry holds the published ``config.json`` values that decide speed and memory (hidden size, layers, heads, KV
heads, head dim, intermediate size, vocabulary, tied embeddings, RoPE base) and the published parameter count
(what ``model.num_parameters()`` reports for the checkpoint: a tied embedding counted once). No hub access here: the
values were read from stored public copies of the configs and model cards, cited per entry. ``build_meta`` builds the
shape on the meta device (no memory), ``count_params`` counts it; the dry run asserts count == published.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Shape:
    family: str  # "qwen3" (Qwen3ForCausalLM, q/k norms, no qkv bias) or "qwen2" (Qwen2ForCausalLM, qkv bias)
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tie_word_embeddings: bool
    rope_theta: float
    published_params: int
    source: str  # where the values were read


SHAPES: dict[str, Shape] = {
    # config: the "Qwen/Qwen3-0.6B" config.json copy quoted in stored public code ("Constants for Qwen/Qwen3-0.6B
    # (https://huggingface.co/Qwen/Qwen3-0.6B/raw/main/config.json)"); count: 596,049,920 as model.num_parameters()
    # of the published checkpoint (stored public tests: `assert model.num_parameters() == 596049920`).
    "Qwen/Qwen3-0.6B": Shape("qwen3", 1024, 28, 16, 8, 128, 3072, 151936, True, 1_000_000.0, 596_049_920,
                             "huggingface.co/Qwen/Qwen3-0.6B/raw/main/config.json (stored copy)"),
    # config: zyzshishui/slime scripts/models/qwen3-1.7B.sh (28 layers, hidden 2048, ffn 6144, 16 heads, 8 query
    # groups, kv-channels 128, rotary base 1e6, vocab 151936); tied embeddings and the count 1,720,574,976 from the
    # stored Qwen3 dense-family table (config.json <-> parameter count, "tied: yes" for 0.6B/1.7B/4B).
    "Qwen/Qwen3-1.7B": Shape("qwen3", 2048, 28, 16, 8, 128, 6144, 151936, True, 1_000_000.0, 1_720_574_976,
                             "zyzshishui/slime scripts/models/qwen3-1.7B.sh; Qwen3 dense-family table"),
    # config: akougkas/warpio-cli warpio-docs/ai-docs/model_cards/qwen3:4b.md ("config.json" of Instruct-2507:
    # rope_theta 5000000, max_position_embeddings 262144, hidden 2560, 36 layers, 32/8 heads, ffn 9728, tied);
    # count: 4,022,468,096 (huggingface.co/api/models/Qwen/Qwen3-4B-Instruct-2507, as quoted in stored public notes).
    "Qwen/Qwen3-4B-Instruct-2507": Shape("qwen3", 2560, 36, 32, 8, 128, 9728, 151936, True, 5_000_000.0,
                                         4_022_468_096, "akougkas/warpio-cli model_cards/qwen3:4b.md config.json"),
    # config: citsjtu2020/LLM-Prof sglang/Model_Config.md "Qwen3-8B" (hidden 4096, 36 layers, 32/8 heads, head_dim
    # 128, ffn 12288, untied, rope_theta 1000000); count: 8,190,735,360 (399 BF16 tensors of the published shards).
    "Qwen/Qwen3-8B": Shape("qwen3", 4096, 36, 32, 8, 128, 12288, 151936, False, 1_000_000.0, 8_190_735_360,
                           "citsjtu2020/LLM-Prof sglang/Model_Config.md (Qwen3-8B)"),
    # config: the "Qwen/Qwen2.5-0.5B" config.json copy in stored public docs (hidden 896, 24 layers, 14/2 heads,
    # ffn 4864, tied, rope 1e6, vocab 151936; the Instruct model card: same 24 layers, 14/2 heads, tied); count:
    # 494,032,768 (model.num_parameters() of Qwen2.5-0.5B-Instruct in stored public notes; card: 0.49B).
    "Qwen/Qwen2.5-0.5B-Instruct": Shape("qwen2", 896, 24, 14, 2, 64, 4864, 151936, True, 1_000_000.0, 494_032_768,
                                        "Qwen2.5-0.5B config.json copy; Abandon-ht/LLM-tutorial model page"),
    # config: Qwen2.5-1.5B shape (hidden 1536, 28 layers, 12/2 heads, ffn 8960, vocab 151936, rope 1e6, tied word
    # embeddings per the model card); count: 1,543,714,304 listed for "Qwen/Qwen2.5-1.5B-Instruct" in stored public
    # tables (card: 1.54B, 1.31B non-embedding).
    "Qwen/Qwen2.5-1.5B-Instruct": Shape("qwen2", 1536, 28, 12, 2, 128, 8960, 151936, True, 1_000_000.0,
                                        1_543_714_304, "Qwen2.5-1.5B config copies; ZHUI/paddlenlp_model_readme card"),
    # config: citsjtu2020/LLM-Prof sglang/Model_Config.md "Qwen2.5-7B" (hidden 3584, 28 layers, 28/4 heads, ffn 18944,
    # vocab 152064, untied, rope 1e6; the Instruct card ZHUI/paddlenlp_model_readme Qwen/Qwen2.5-7B-Instruct: 28 layers,
    # 28 Q / 4 KV heads, 7.61B); count: 7,615,616,512 ("Qwen/Qwen2.5-7B-Instruct ... Parameter count" in stored notes).
    "Qwen/Qwen2.5-7B-Instruct": Shape("qwen2", 3584, 28, 28, 4, 128, 18944, 152064, False, 1_000_000.0,
                                      7_615_616_512, "citsjtu2020/LLM-Prof sglang/Model_Config.md (Qwen2.5-7B)"),
}


def recipe_model(recipe_path: str | Path) -> str:
    """The checkpoint a training recipe names (its ``model_name_or_path``)."""
    config = yaml.safe_load(Path(recipe_path).read_text(encoding="utf-8"))
    return str(config.get("model_name_or_path", ""))


def shape_of(model_name: str) -> Shape:
    if model_name not in SHAPES:
        raise KeyError(f"{model_name}: no published shape in benchmarks/qwen_shapes.py (add its config.json values)")
    return SHAPES[model_name]


def hf_config(shape: Shape, **overrides):
    """A transformers config of ``shape`` (Qwen3Config or Qwen2Config); ``overrides`` shrink it for the dry run."""
    from transformers import Qwen2Config, Qwen3Config

    fields = asdict(shape)
    for key in ("family", "published_params", "source"):
        fields.pop(key)
    fields.update(overrides)
    fields.update(bos_token_id=151643, eos_token_id=151645, pad_token_id=151643, max_position_embeddings=32768)
    if shape.family == "qwen3":
        return Qwen3Config(**fields)
    # Qwen2 has no head_dim field: heads x head_dim is the hidden size.
    head_dim = fields.pop("head_dim")
    assert head_dim * fields["num_attention_heads"] == fields["hidden_size"], "Qwen2 head_dim must be hidden / heads"
    return Qwen2Config(**fields)


def build_meta(shape: Shape):
    """The full-size model on the meta device: shapes only, no memory."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(hf_config(shape))


def count_params(model) -> int:
    """Parameters of a model, a tied embedding counted once (what ``num_parameters()`` reports)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def lora_params(shape: Shape, rank: int) -> int:
    """Trainable parameters of LoRA rank ``rank`` on every linear layer of the blocks (LF's ``lora_target: all``)."""
    q, kv = shape.num_attention_heads * shape.head_dim, shape.num_key_value_heads * shape.head_dim
    h, f = shape.hidden_size, shape.intermediate_size
    linears = [(h, q), (h, kv), (h, kv), (q, h), (h, f), (h, f), (f, h)]
    return shape.num_hidden_layers * sum(rank * (i + o) for i, o in linears)
