"""The GPU path's front door, checked on CPU: SIZE / RECIPE / PRECISION / SERVED_MODEL reach every target, the
`vllm serve` command each recipe gets, the ZeRO-3 offload check, and `make gpu-smoke` stopping cleanly without a GPU.

`make -n` prints what a target would run without running it (prerequisites included), so these tests read the
exact command lines a GPU user gets. What vLLM does with those arguments is tests/test_vllm_loaders.py.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

ROOT = Path(__file__).resolve().parents[1]

from cluener.layout import RECIPE_DIR, read_recipe  # noqa: E402
from scripts.serve_vllm import serve_command  # noqa: E402

VENV = Path(sys.prefix)
RECIPE_TARGETS = ("train", "predict", "chat", "export", "api", "predict-api", "submit", "serve-vllm")
GPU_RECIPES = sorted(p.stem for p in (ROOT / "yaml_configs" / "train").glob("*.yaml") if not p.stem.startswith("demo_"))


def make_n(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", f"VENV={VENV}", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize(
    ("size", "recipe"),
    [("0.6b", "qwen3_0.6b_lora_sft"), ("8b", "qwen3_8b_lora_sft"), ("7b", "qwen2.5_7b_lora_sft")],
)  # one small and one large Qwen3, one Qwen2.5; the default (4b) is the next test
@pytest.mark.parametrize("target", RECIPE_TARGETS)
def test_size_reaches_every_recipe_target(target, size, recipe):
    out = make_n(target, f"SIZE={size}").stdout
    assert recipe in out, out
    others = {r for r in GPU_RECIPES if r != recipe and r in out and not r.startswith(recipe)}
    assert not others, f"{target} SIZE={size} also names {others}"


@pytest.mark.parametrize("target", RECIPE_TARGETS)
def test_recipe_wins_over_size_and_the_default_is_the_4b(target):
    assert "qwen3_1.7b_lora_sft_guided" in make_n(target, "SIZE=8b", "RECIPE=qwen3_1.7b_lora_sft_guided").stdout
    assert "qwen3_4b_instruct2507_lora_sft" in make_n(target).stdout


def test_a_wrong_size_is_one_clear_line():
    result = make_n("predict", "SIZE=9b", check=False)
    assert result.returncode != 0
    assert "SIZE=9b is not one of 0.6b 1.7b 4b 8b (Qwen3) 0.5b 1.5b 7b (Qwen2.5)" in result.stderr
    assert "qwen2.5_7b_lora_sft" in make_n("train-qwen25").stdout
    assert "qwen3_8b_lora_sft" in make_n("train-qwen3", "SIZE=8b").stdout
    assert make_n("train-qwen25", "SIZE=8b", check=False).returncode != 0  # an 8b Qwen2.5 does not exist


def size_table(path: Path = ROOT / "yaml_configs" / "sizes.txt") -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split() for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(("size", "family", "recipe"), size_table())
def test_every_size_of_the_table_is_a_recipe_with_its_twins(size, family, recipe):
    for kind in ("train", "predict", "chat", "merge"):
        assert (ROOT / RECIPE_DIR / kind / f"{recipe}.yaml").is_file(), (kind, recipe)
    out = make_n("train", f"SIZE={size}").stdout
    assert f"yaml_configs/train/{recipe}.yaml" in out, out
    assert f"{size} " in make_n("help").stdout.split("SIZE=<")[1].split(f"({family})")[0]


def test_a_model_size_is_added_in_one_place(tmp_path):
    """One line in yaml_configs/sizes.txt is a new size for every target, `make help` and the error for a wrong
    size; a line that is not three columns is one clear error naming the file and line."""
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(ROOT / "yaml_configs", tmp_path / "yaml_configs")
    table = tmp_path / "yaml_configs" / "sizes.txt"

    def make_copy(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "-n", "--no-print-directory", f"VENV={VENV}", f"--old-file={VENV}/.installed",
                               *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip

    with table.open("a", encoding="utf-8") as handle:
        handle.write("32b     Qwen3    qwen3_32b_lora_sft\n")
    assert "yaml_configs/train/qwen3_32b_lora_sft.yaml" in make_copy("train", "SIZE=32b").stdout
    assert "SIZE=<0.6b 1.7b 4b 8b 32b (Qwen3)" in make_copy("help").stdout
    assert "is not one of 0.6b 1.7b 4b 8b 32b (Qwen3)" in make_copy("predict", "SIZE=9b").stderr
    with table.open("a", encoding="utf-8") as handle:
        handle.write("14b Qwen3\n")
    broken, line = make_copy("help"), len(table.read_text(encoding="utf-8").splitlines())
    assert broken.returncode != 0
    assert f"yaml_configs/sizes.txt:{line}: expected three columns: size family recipe" in broken.stderr, broken.stderr


def test_precision_switch_for_gpus_without_bf16():
    assert "bf16=false fp16=true" not in make_n("train").stdout  # the recipes' bf16 by default
    for target in ("train", "predict"):
        assert "bf16=false fp16=true" in make_n(target, "PRECISION=fp16").stdout, target
    for target in ("chat", "api"):
        assert "infer_dtype=float16" in make_n(target, "PRECISION=fp16").stdout, target
    assert "--precision fp16" in make_n("serve-vllm", "PRECISION=fp16").stdout
    assert "--dtype float16" in shlex.join(serve_command("qwen3_8b_lora_sft", precision="fp16"))
    result = make_n("train", "PRECISION=fp8", check=False)
    assert result.returncode != 0 and "PRECISION=fp8: bf16, fp16 or fp32" in result.stderr


def test_served_model_and_api_concurrency_reach_their_commands():
    assert "--model" not in make_n("predict-api").stdout  # the client picks the recipe's name
    assert "--model my-lora" in make_n("predict-api", "SERVED_MODEL=my-lora").stdout
    assert "MAX_CONCURRENT=4" in make_n("api").stdout
    assert "MAX_CONCURRENT=8" in make_n("api", "API_CONCURRENCY=8").stdout


@pytest.mark.parametrize("recipe", GPU_RECIPES)
def test_vllm_serve_command_fits_the_recipe(recipe):
    """--max-model-len = cutoff_len + max_new_tokens; --max-lora-rank = lora_rank; the served name is the recipe."""
    train, predict = read_recipe("train", recipe, ROOT / RECIPE_DIR), read_recipe("predict", recipe, ROOT / RECIPE_DIR)
    args = serve_command(recipe)
    flags = {args[i]: args[i + 1] for i in range(2, len(args) - 1) if args[i].startswith("--")}
    assert args[:2] == ["vllm", "serve"]
    assert int(flags["--max-model-len"]) == predict["cutoff_len"] + predict["max_new_tokens"]
    assert (flags["--host"], flags["--port"]) == ("127.0.0.1", "8000")
    if train["finetuning_type"] == "lora":
        assert args[2] == train["model_name_or_path"] and "--enable-lora" in args
        assert flags["--lora-modules"] == f"{recipe}=saves/{recipe}"
        assert int(flags["--max-lora-rank"]) == train["lora_rank"]
        assert ("--quantization" in flags) == ("quantization_bit" in train)
    else:
        assert args[2] == f"saves/{recipe}" and flags["--served-model-name"] == recipe
    printed = subprocess.run(
        [sys.executable, "-m", "scripts.serve_vllm", recipe, "--print"], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    assert shlex.split(printed) == args


def test_serve_vllm_errors_are_one_line():
    result = subprocess.run([sys.executable, "-m", "scripts.serve_vllm", "no_such_recipe"], cwd=ROOT,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.strip() == "error: yaml_configs/train/no_such_recipe.yaml: no such recipe (RECIPE=no_such_recipe)"


def _gpu_without_cuda_toolkit() -> bool:
    import torch
    from torch.utils.cpp_extension import CUDA_HOME

    return torch.cuda.is_available() and CUDA_HOME is None


@pytest.mark.full  # make check-offload imports torch: not in the light tier
def test_zero3_offload_check_stops_a_gpu_without_a_cuda_toolkit_only():
    """With a GPU, DeepSpeed compiles its CPU Adam against a CUDA toolkit: none found -> one line. Without a GPU it
    compiles it with g++ alone, so the check lets it through (tests/test_distributed.py trains with offload on CPU)."""
    env = {k: v for k, v in os.environ.items() if k != "CUDA_HOME"}
    offload = "deepspeed=yaml_configs/deepspeed/ds_z3_offload_config.json"
    result = subprocess.run(["make", "--no-print-directory", f"VENV={VENV}", "check-offload", f"ARGS={offload}"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    if _gpu_without_cuda_toolkit():
        assert result.returncode != 0
        assert result.stderr.splitlines()[0].startswith("error: ds_z3_offload_config.json needs DeepSpeed's CPU Adam")
    else:
        assert result.returncode == 0, result.stderr
    ok = subprocess.run(["make", "--no-print-directory", f"VENV={VENV}", "check-offload"], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert ok.returncode == 0, "only offload runs need the toolkit"


@pytest.mark.full  # imports torch: not in the light tier
def test_gpu_smoke_without_a_gpu_stops_at_its_first_step(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here: run make gpu-smoke itself")
    env = dict(os.environ, SMOKE_DIR=str(tmp_path), CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(["bash", "scripts/gpu_smoke.sh", str(VENV)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)  # fmt: skip
    assert result.returncode == 1
    table = result.stdout
    assert re.search(r"^gpu\s+FAIL\s+\d+", table, re.M), table
    for step in ("data", "tiny-model", "lora-train", "zero3-1gpu", "predict", "export", "rope-base", "vllm-setup",
                 "vllm-api", "qlora"):  # fmt: skip
        assert re.search(rf"^{step}\s+SKIP\s+-\s+needs ", table, re.M), (step, table)
    assert "no CUDA GPU visible to torch" in (tmp_path / "logs" / "gpu.log").read_text()
