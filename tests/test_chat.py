"""scripts/chat.py (``make chat``): LLaMA-Factory's real CLI chat on the tiny Qwen3 + a LoRA adapter, with the
project's chat recipe; a piped input that ends without ``exit`` closes the chat cleanly (LLaMA-Factory alone raises
an EOFError traceback)."""

from __future__ import annotations

import subprocess
import sys

from llm_assets import ROOT, cli_env, make_lora_adapter

RECIPE = "qwen3_4b_instruct2507_lora_sft"


def chat(tiny_qwen3, adapter, stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scripts.chat", f"yaml_configs/chat/{RECIPE}.yaml", f"model_name_or_path={tiny_qwen3}",
         f"adapter_name_or_path={adapter}", "max_new_tokens=8", "infer_dtype=float32"],
        cwd=ROOT, env=cli_env(), input=stdin, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_an_ended_input_closes_the_chat_without_a_traceback(tiny_qwen3, tmp_path):
    adapter = make_lora_adapter(tiny_qwen3, tmp_path / "adapter")
    result = chat(tiny_qwen3, adapter, "彭小军认为，国内银行现在走的是台湾的发卡模式\n")  # no `exit`: the pipe ends
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Assistant:" in result.stdout  # the sentence was answered before the input ended
    assert result.stdout.rstrip().endswith("(end of input: chat closed)")
    assert "Traceback" not in result.stderr and "EOFError" not in result.stderr
    typed = chat(tiny_qwen3, adapter, "exit\n")  # `exit` still quits as LLaMA-Factory's chat does
    assert typed.returncode == 0 and "end of input" not in typed.stdout, typed.stderr[-3000:]


def test_make_chat_runs_the_wrapper():
    dry = subprocess.run(["make", "--old-file=.venv/.installed", "-n", "chat", f"RECIPE={RECIPE}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert f"-m scripts.chat yaml_configs/chat/{RECIPE}.yaml" in dry.stdout
