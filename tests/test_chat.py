"""scripts/chat.py (``make chat``): LLaMA-Factory's real ChatModel on the tiny Qwen3 + a LoRA adapter, with the
project's chat recipe. A line typed is a sentence, asked as the recipe's user turn (its instruction, a newline, the
sentence); ``--raw`` (``make chat RAW=1``) is LLaMA-Factory's own ``run_chat``. A piped input that ends without
``exit`` closes the chat cleanly (LLaMA-Factory alone raises an EOFError traceback). That the model gets exactly
the training prompt is proven on the memorised demo model in tests/test_end_to_end.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from llm_assets import ROOT, cli_env, make_lora_adapter

from cluener.prompts import DEFAULT_INSTRUCTION, GUIDED_INSTRUCTION

RECIPE = "qwen3_4b_instruct2507_lora_sft"


def chat(tiny_qwen3, adapter, stdin: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scripts.chat", *options, f"yaml_configs/chat/{RECIPE}.yaml",
         f"model_name_or_path={tiny_qwen3}", f"adapter_name_or_path={adapter}", "max_new_tokens=8",
         "infer_dtype=float32"],
        cwd=ROOT, env=cli_env(), input=stdin, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def chat_module():
    return importlib.import_module("scripts.chat")


def test_the_instruction_is_the_recipes():
    instruction_of = chat_module().instruction_of
    assert instruction_of(f"yaml_configs/chat/{RECIPE}.yaml") == DEFAULT_INSTRUCTION
    assert instruction_of("yaml_configs/chat/qwen3_1.7b_lora_sft_guided.yaml") == GUIDED_INSTRUCTION


def test_an_ended_input_closes_the_chat_without_a_traceback(tiny_qwen3, tmp_path):
    adapter = make_lora_adapter(tiny_qwen3, tmp_path / "adapter")
    result = chat(tiny_qwen3, adapter, "彭小军认为，国内银行现在走的是台湾的发卡模式\n")  # no `exit`: the pipe ends
    assert result.returncode == 0, result.stderr[-3000:]
    assert "the recipe's instruction is added" in result.stdout
    assert result.stdout.count("Assistant:") == 1  # the sentence was answered before the input ended
    assert result.stdout.rstrip().endswith("(end of input: chat closed)")
    assert "Traceback" not in result.stderr and "EOFError" not in result.stderr
    typed = chat(tiny_qwen3, adapter, "\nexit\n")  # an empty line is skipped; `exit` quits as LF's chat does
    assert typed.returncode == 0 and "end of input" not in typed.stdout, typed.stderr[-3000:]
    assert "Assistant:" not in typed.stdout
    raw = chat(tiny_qwen3, adapter, "你好\n", "--raw")  # LLaMA-Factory's own run_chat, its input ending too
    assert raw.returncode == 0 and "Welcome to the CLI application" in raw.stdout, raw.stderr[-3000:]
    assert "Assistant:" in raw.stdout and raw.stdout.rstrip().endswith("(end of input: chat closed)")


def test_make_chat_runs_the_wrapper():
    def dry(*args: str) -> str:
        return subprocess.run(["make", "--old-file=.venv/.installed", "-n", "chat", f"RECIPE={RECIPE}", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip

    assert f"-m scripts.chat  yaml_configs/chat/{RECIPE}.yaml" in dry()
    assert f"-m scripts.chat --raw yaml_configs/chat/{RECIPE}.yaml" in dry("RAW=1")
