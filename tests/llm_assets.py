"""Shared helpers for the tests that run real LLaMA-Factory code on CPU (imported by the test modules).

Everything is offline: the tiny random Qwen3 with the real Qwen BPE is conftest's ``tiny_qwen3`` fixture
(``scripts/tiny_qwen.py``, built once into ``.cache/``), a LoRA adapter for it is made with peft, and the alpaca data
are a few CLUENER-style records written on the spot.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from cluener.prompts import DEFAULT_INSTRUCTION
from scripts.tiny_qwen import build

# (sentence, target) pairs in the project's target format (cluener/target.py).
SENTENCES = [
    ("叶老桂认为，对目前国内商业银行而言，", '{"name":["叶老桂"]}'),
    ("彭小军认为，国内银行现在走的是台湾的发卡模式", '{"name":["彭小军"],"address":["台湾"]}'),
    ("生生不息CSOL生化狂潮让你填弹狂扫", '{"game":["CSOL"]}'),
    ("那不勒斯vs锡耶纳以及桑普vs热那亚之上呢？", '{"organization":["那不勒斯","锡耶纳","桑普","热那亚"]}'),
    ("加勒比海盗3：世界尽头》的去年同期成绩死死甩在身后", '{"movie":["加勒比海盗3：世界尽头》"]}'),
    ("今天天气很好。", "{}"),
]


def qwen_tokenizer_dir() -> Path:
    """The real Qwen BPE: the tiny Qwen3's folder holds it (the same tokenizer.json), so it is built only once."""
    from conftest import TINY_QWEN3

    return build(TINY_QWEN3)


def make_lora_adapter(base: Path, dest: Path, rank: int = 16) -> Path:
    """A LoRA adapter on every linear layer of ``base``, saved with peft (what LLaMA-Factory saves and loads)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    if (dest / "adapter_config.json").is_file():
        return dest
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules="all-linear", task_type="CAUSAL_LM")
    get_peft_model(model, config).save_pretrained(dest)
    return dest


def alpaca_records(n: int, instruction: str = DEFAULT_INSTRUCTION) -> list[dict]:
    """``n`` alpaca records cycling through SENTENCES (so identical prompts repeat every 6 records)."""
    rows = []
    for i in range(n):
        text, target = SENTENCES[i % len(SENTENCES)]
        rows.append({"instruction": instruction, "input": text, "output": target})
    return rows


def write_dataset_dir(directory: Path, datasets: dict[str, list[dict]]) -> Path:
    """Write alpaca files and a dataset_info.json registering them, like `make data` does."""
    directory.mkdir(parents=True, exist_ok=True)
    info = {}
    for name, rows in datasets.items():
        (directory / f"{name}.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
        info[name] = {
            "file_name": f"{name}.json",
            "formatting": "alpaca",
            "columns": {"prompt": "instruction", "query": "input", "response": "output"},
        }
    (directory / "dataset_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return directory


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for a llamafactory-cli subprocess: offline, CPU only, quiet, the repo importable."""
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        CUDA_VISIBLE_DEVICES="",
        TOKENIZERS_PARALLELISM="false",
        LLAMAFACTORY_VERBOSITY="WARN",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


def llamafactory_cli(*args: str) -> list[str]:
    """The command line of ``llamafactory-cli ARGS`` with this interpreter."""
    return [sys.executable, "-m", "llamafactory.cli", *args]
