"""Token cost of the prepared datasets with the real Qwen2.5/Qwen3 BPE (built offline, see scripts/tiny_qwen.py).

Per split and prompt variant: mean / max tokens of the prompt (instruction + input, as LLaMA-Factory's alpaca
converter joins them), of the target, and of the whole templated sequence through LLaMA-Factory's own template
(what ``cutoff_len`` bounds, including the chat markup and the end-of-turn token).

Usage: ``python -m benchmarks.token_stats [--data-dir data] [--template qwen3_nothink] [--splits ...]``
Run ``make data`` first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from cluener.layout import DATA_DIR, SPLITS, data_file, dataset_name
from cluener.prompts import PROMPTS, build_prompt
from scripts.tiny_qwen import build

ROOT = Path(__file__).resolve().parents[1]


def load_records(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT / DATA_DIR))
    parser.add_argument("--tokenizer-dir", default=str(ROOT / ".cache" / "qwen-bpe"))
    parser.add_argument("--template", default="qwen3_nothink")
    parser.add_argument("--splits", nargs="+", default=list(SPLITS))
    parser.add_argument("--prompts", nargs="+", default=list(PROMPTS))
    args = parser.parse_args(argv)

    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(build(args.tokenizer_dir, tokenizer_only=True))
    template = get_template_and_fix_tokenizer(tokenizer, DataArguments(template=args.template))

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    print(f"tokenizer: Qwen BPE ({len(tokenizer)} tokens), template {args.template}")
    print("| prompt | split | n | prompt mean | prompt max | target mean | target max | prompt+target mean | "
          "templated max (cutoff_len) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for variant in args.prompts:
        for split in args.splits:
            path = data_file(dataset_name(split, variant), args.data_dir)
            if not path.is_file():
                print(f"{path}: missing, run `make data` first", file=sys.stderr)
                return 1
            rows = load_records(path)
            prompt_lens, target_lens, full_lens = [], [], []
            for row in rows:
                prompt = build_prompt(row["instruction"], row["input"])
                prompt_lens.append(count(prompt))
                target_lens.append(count(row["output"]))
                source_ids, target_ids = template.encode_oneturn(
                    tokenizer, [{"role": "user", "content": prompt}, {"role": "assistant", "content": row["output"]}]
                )
                full_lens.append(len(source_ids) + len(target_ids))
            both = [p + t for p, t in zip(prompt_lens, target_lens)]
            print(
                f"| {variant} | {split} | {len(rows)} | {statistics.mean(prompt_lens):.1f} | {max(prompt_lens)} | "
                f"{statistics.mean(target_lens):.1f} | {max(target_lens)} | {statistics.mean(both):.1f} | "
                f"{max(full_lens)} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
