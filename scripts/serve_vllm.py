"""`make serve-vllm`: the `vllm serve` command of a recipe, built from the recipe's own files, then run.

    python -m scripts.serve_vllm RECIPE [--host 127.0.0.1] [--port 8000] [--precision bf16|fp16] [--model PATH]
        [--adapter PATH] [--print] [-- more vllm serve arguments]

- LoRA recipes serve the base model with the adapter ``saves/<recipe>`` under the recipe's name
  (``--lora-modules <recipe>=saves/<recipe>``) and ``--max-lora-rank`` = the recipe's ``lora_rank``;
  full fine-tuning recipes serve ``saves/<recipe>`` under the recipe's name; QLoRA recipes load the base in 4-bit
  (``--quantization bitsandbytes``), as it was trained.
- ``--max-model-len`` = cutoff_len + max_new_tokens of the predict recipe: the longest prompt plus the answer.
  Without it vLLM reserves KV cache for the model's full context (262,144 tokens for Qwen3-4B-Instruct-2507,
  about 36 GiB), and refuses to start on a 24 GB card.
- ``--dtype float16`` with PRECISION=fp16 (GPUs without bf16).

`make predict-api RECIPE=<recipe>` then finds the served model by the recipe's name.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

from cluener.layout import RECIPE_DIR, RecipeError, read_recipe, recipe_path, recipe_save_dir

ROOT = Path(__file__).resolve().parents[1]


def load(kind: str, recipe: str) -> dict:
    """The recipe's YAML (cluener.layout reads it); a missing file is an error here, not an empty recipe."""
    path = recipe_path(kind, recipe, ROOT / RECIPE_DIR)
    if not path.is_file():
        raise RecipeError(f"{recipe_path(kind, recipe)}: no such recipe (RECIPE={recipe})")
    return read_recipe(kind, recipe, ROOT / RECIPE_DIR)


def serve_command(
    recipe: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    precision: str = "bf16",
    model: str | None = None,
    adapter: str | None = None,
) -> list[str]:
    """The argument list of `vllm serve` for ``recipe`` (module docstring); ``model`` / ``adapter`` replace the
    recipe's base model and ``saves/<recipe>`` (make gpu-smoke serves the tiny model this way)."""
    train, predict = load("train", recipe), load("predict", recipe)
    max_model_len = int(predict["cutoff_len"]) + int(predict["max_new_tokens"])
    output = adapter or recipe_save_dir(recipe).as_posix()
    if train.get("finetuning_type", "lora") == "lora":
        command = ["vllm", "serve", model or train["model_name_or_path"], "--enable-lora",
                   "--lora-modules", f"{recipe}={output}", "--max-lora-rank", str(train["lora_rank"])]  # fmt: skip
        if train.get("quantization_bit") == 4:
            command += ["--quantization", "bitsandbytes"]
    else:
        command = ["vllm", "serve", output, "--served-model-name", recipe]
    command += ["--max-model-len", str(max_model_len), "--host", host, "--port", str(port)]
    if precision == "fp16":
        command += ["--dtype", "float16"]
    return command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--precision", choices=("bf16", "fp16"), default="bf16")
    parser.add_argument("--model", help="base model instead of the recipe's")
    parser.add_argument("--adapter", help="adapter (or full model) folder instead of saves/<recipe>")
    parser.add_argument("--print", action="store_true", help="print the command instead of running it")
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []  # more `vllm serve` arguments, after --
    args = parser.parse_args(argv[: len(argv) - len(extra) - (1 if "--" in argv else 0)])
    try:
        command = serve_command(args.recipe, args.host, args.port, args.precision, args.model, args.adapter)
        command += extra
    except RecipeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.print:
        print(shlex.join(command))
        return 0
    adapter = Path(args.adapter) if args.adapter else ROOT / recipe_save_dir(args.recipe)
    if not adapter.is_dir():
        print(f"error: {adapter} not found: train it first (make train RECIPE={args.recipe})", file=sys.stderr)
        return 1
    vllm = shutil.which("vllm", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if vllm is None:
        print("error: vllm is not installed here: pip install -r requirements-vllm.txt (GPU only; it "
              "pins torch==2.8.0), or put the bin folder of a vLLM environment on PATH", file=sys.stderr)
        return 1
    print(shlex.join(command), flush=True)
    os.chdir(ROOT)
    os.execv(vllm, [vllm, *command[1:]])
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
