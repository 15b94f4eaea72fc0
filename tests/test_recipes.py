"""The recipes in yaml_configs/: their conventions, the agreement of mirrored twins, and LLaMA-Factory's own parsing.

Every recipe goes through LLaMA-Factory's argument parser (``get_train_args`` for train / predict, which run with
``llamafactory-cli train``; ``get_infer_args`` for chat / api / export) on CPU, with the tiny random Qwen3 in place of
the real model and a real LoRA adapter for it. Only what a CPU cannot take is changed:

- ``bf16: true`` -> false: transformers refuses it without a GPU ("Your setup doesn't support bf16/gpu").
- ``quantization_bit: 4`` is kept: the parser accepts it; bitsandbytes and CUDA are needed only to load the model.
- ``deepspeed`` is kept, but LLaMA-Factory accepts it only in a distributed launch ("Please use FORCE_TORCHRUN=1"),
  so that recipe is parsed in a subprocess that is a one-process torch.distributed world (gloo on CPU).
- ``output_dir`` / ``export_dir`` go to a temp folder: the parser looks for checkpoints to resume in output_dir,
  and a test must neither read nor write the repo's saves/.

tests/test_end_to_end.py runs one recipe family for real (make train / predict / chat / export) on the tiny model.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from llm_assets import (
    ROOT,
    cli_env,
    free_port,
    make_lora_adapter,
    qwen_tokenizer_dir,
)

from cluener.layout import DATA_DIR, SPLITS, data_file, dataset_name, dataset_parts, predictions_dir, recipe_save_dir
from cluener.prompts import build_prompt

RECIPES = ROOT / "yaml_configs"
KINDS = ("train", "predict", "chat", "merge")
BASENAMES = sorted(path.stem for path in (RECIPES / "train").glob("*.yaml"))
# CPU demo recipes (`make demo`, a tiny local model, no GPU) follow their own sizes; the GPU conventions below
# (model/template pairing, datasets, bf16, greedy settings of every backend, token budgets) apply to the others.
GPU_RECIPES = [b for b in BASENAMES if not b.startswith("demo_")]
DS_BASENAMES = [b for b in GPU_RECIPES if "deepspeed" in yaml.safe_load((RECIPES / "train" / f"{b}.yaml").read_text())]
DEEPSPEED_CONFIGS = ("ds_z2_config.json", "ds_z3_config.json", "ds_z3_offload_config.json")
# The recipes the project promises (issue 4); more may be added.
EXPECTED = {
    "qwen3_0.6b_lora_sft",
    "qwen3_1.7b_lora_sft",
    "qwen3_4b_instruct2507_lora_sft",
    "qwen3_8b_lora_sft",
    "qwen2.5_0.5b_lora_sft",
    "qwen2.5_1.5b_lora_sft",
    "qwen2.5_7b_lora_sft",
    "qwen3_0.6b_full_sft",
    "qwen3_8b_qlora_sft",
    "qwen3_8b_lora_sft_ds3",
    "qwen3_1.7b_lora_sft_guided",
}
MISSING = object()


def text(kind: str, base: str) -> str:
    return (RECIPES / kind / f"{base}.yaml").read_text(encoding="utf-8")


def load(kind: str, base: str) -> dict:
    return yaml.safe_load(text(kind, base))


def variant_and_split(name: str) -> tuple[str, str]:
    parts = dataset_parts(name)
    assert parts, f"{name}: not a project dataset name"
    return parts


def recipe_variant(base: str) -> str:
    """The prompt variant of the recipe's datasets (default, guided)."""
    return variant_and_split(load("train", base)["dataset"])[0]


def expected_template(model_id: str) -> tuple[str, object]:
    """(template, enable_thinking) a model id calls for; MISSING = the key must be absent."""
    if re.fullmatch(r"Qwen/Qwen2\.5-[\d.]+B-Instruct", model_id):
        return "qwen", MISSING
    if re.fullmatch(r"Qwen/Qwen3-[\d.]+B-Instruct-2507", model_id):
        return "qwen3_nothink", MISSING
    if re.fullmatch(r"Qwen/Qwen3-[\d.]+B", model_id):  # hybrid thinking models
        return "qwen3", False
    raise AssertionError(f"no template rule for {model_id}")


# ---------------------------------------------------------------- conventions


def test_the_promised_recipes_exist_with_all_twins():
    assert EXPECTED <= set(BASENAMES)
    for kind in KINDS:
        assert sorted(p.stem for p in (RECIPES / kind).glob("*.yaml")) == BASENAMES, kind
    for name in DEEPSPEED_CONFIGS:
        config = json.loads((RECIPES / "deepspeed" / name).read_text(encoding="utf-8"))
        assert config["zero_optimization"]["stage"] == (2 if "z2" in name else 3)
        assert config["bf16"]["enabled"] == "auto"
    assert DS_BASENAMES, "no multi-GPU DeepSpeed recipe"
    assert "yaml_configs/README.md" in {p.relative_to(ROOT).as_posix() for p in RECIPES.glob("*.md")}


@pytest.mark.parametrize("base", BASENAMES)
def test_twins_agree(base):
    cfgs = {kind: load(kind, base) for kind in KINDS}
    train = cfgs["train"]
    for key in ("template", "enable_thinking"):
        values = {kind: cfg.get(key, MISSING) for kind, cfg in cfgs.items()}
        assert len({repr(v) for v in values.values()}) == 1, f"{key} differs: {values}"
    assert train["cutoff_len"] == cfgs["predict"]["cutoff_len"]
    for kind in ("chat", "merge"):  # no truncation there; when set, it must not contradict training
        assert cfgs[kind].get("cutoff_len", train["cutoff_len"]) == train["cutoff_len"]
    assert train["dataset_dir"] == cfgs["predict"]["dataset_dir"] == "."
    names = [train["dataset"], train.get("eval_dataset"), cfgs["predict"]["eval_dataset"]]
    assert len({variant_and_split(name)[0] for name in names if name}) == 1, f"prompt variants differ: {names}"
    full = train["finetuning_type"] == "full"
    for kind in ("predict", "chat", "merge"):
        cfg = cfgs[kind]
        assert cfg["finetuning_type"] == ("full" if full else "lora"), kind
        if full:
            assert cfg["model_name_or_path"] == f"saves/{base}", kind
            assert "adapter_name_or_path" not in cfg, kind
        else:
            assert cfg["model_name_or_path"] == train["model_name_or_path"], kind
            assert cfg["adapter_name_or_path"] == f"saves/{base}", kind
    for kind in ("predict", "chat"):  # evaluated as trained: same quantization
        assert cfgs[kind].get("quantization_bit") == train.get("quantization_bit"), kind
    assert "quantization_bit" not in cfgs["merge"], "adapters are merged into the unquantized base"


@pytest.mark.parametrize("base", BASENAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_trust_remote_code_false_and_template_fits_the_model(kind, base):
    cfg = load(kind, base)
    assert cfg["trust_remote_code"] is False
    if base not in GPU_RECIPES:
        return
    template, thinking = expected_template(load("train", base)["model_name_or_path"])
    assert cfg["template"] == template
    assert cfg.get("enable_thinking", MISSING) is thinking


@pytest.mark.parametrize("base", GPU_RECIPES)
def test_train_recipe(base):
    cfg, raw = load("train", base), text("train", base)
    variant = recipe_variant(base)
    assert cfg["stage"] == "sft" and cfg["do_train"] is True
    assert cfg["dataset"] == dataset_name("train", variant) and cfg["eval_dataset"] == dataset_name("val", variant)
    for name in (cfg["dataset"], cfg["eval_dataset"]):  # dev is only predicted and reported
        assert variant_and_split(name)[1] in ("train", "val")
    assert cfg["eval_strategy"] == "steps" and cfg["eval_steps"] > 0
    assert cfg["output_dir"] == f"saves/{base}"
    assert cfg["bf16"] is True
    assert cfg["num_train_epochs"] == 3.0 and cfg["lr_scheduler_type"] == "cosine" and cfg["warmup_ratio"] == 0.1
    # The padding knob that won on the train set (benchmarks/padding.py): each example alone in its row.
    assert cfg["group_by_length"] is True and not cfg.get("packing") and not cfg.get("neat_packing")
    if cfg["finetuning_type"] == "lora":
        assert cfg["lora_target"] == "all" and cfg["learning_rate"] == 1.0e-4
    if "deepspeed" in cfg:
        assert (ROOT / cfg["deepspeed"]).is_file()
    # The top comment: GPU memory and the effective batch size, which must match the keys.
    assert "# GPU memory: about" in raw
    match = re.search(
        r"# Effective batch size: (\d+) = per_device_train_batch_size (\d+) x "
        r"gradient_accumulation_steps (\d+) x (\d+) GPU",
        raw,
    )
    assert match, "no effective batch size comment"
    total, per_device, accum, gpus = map(int, match.groups())
    assert (per_device, accum) == (cfg["per_device_train_batch_size"], cfg["gradient_accumulation_steps"])
    assert total == per_device * accum * gpus
    assert ("deepspeed" in cfg) == (gpus > 1)
    assert "cutoff_len" in raw.split("###")[0], "the top comment says why cutoff_len"


@pytest.mark.parametrize("base", GPU_RECIPES)
def test_predict_recipe(base):
    cfg, raw = load("predict", base), text("predict", base)
    variant = recipe_variant(base)
    assert cfg["stage"] == "sft" and cfg["do_predict"] is True and not cfg.get("do_train")
    assert cfg["predict_with_generate"] is True
    assert cfg["do_sample"] is False and cfg.get("num_beams", 1) == 1, "greedy decoding"
    assert cfg["max_new_tokens"] == 128
    assert cfg["eval_dataset"] == dataset_name("dev", variant)
    assert cfg["output_dir"] == predictions_dir(recipe_save_dir(base), "dev").as_posix()
    assert "deepspeed" not in cfg, "predict_with_generate is incompatible with ZeRO-3"
    assert cfg["bf16"] is True
    assert f"eval_dataset={dataset_name('test', variant)} output_dir={predictions_dir(recipe_save_dir(base), 'test').as_posix()}" in raw
    assert "# GPU memory" in raw or "GPU memory: about" in raw


@pytest.mark.parametrize("base", GPU_RECIPES)
def test_chat_recipe(base):
    cfg, raw = load("chat", base), text("chat", base)
    assert cfg["infer_backend"] == "huggingface"
    assert "infer_backend: huggingface  # choices: [huggingface, vllm, sglang]" in raw
    assert cfg["do_sample"] is False and cfg["temperature"] == 0, "greedy with every backend"
    assert cfg["max_new_tokens"] == 128
    train = load("train", base)
    if "lora_rank" in train:
        assert cfg["vllm_max_lora_rank"] >= train["lora_rank"]
    assert "GPU memory: about" in raw


@pytest.mark.parametrize("base", GPU_RECIPES)
def test_merge_recipe(base):
    cfg = load("merge", base)
    assert cfg["export_dir"] == f"saves/{base}/merged"
    assert cfg["export_device"] == "cpu"
    assert "quantization_bit" not in cfg and "export_quantization_bit" not in cfg


def test_recipe_datasets_are_registered():
    info = json.loads((ROOT / "dataset_info.json").read_text(encoding="utf-8"))
    for base in BASENAMES:
        names = [
            load("train", base)["dataset"],
            load("train", base).get("eval_dataset"),
            load("predict", base)["eval_dataset"],
        ]
        names += [f"{names[0].rsplit('_', 1)[0]}_{split}" for split in ("val", "dev", "test")]  # --split / overrides
        for name in filter(None, names):
            assert name in info, f"{base}: {name} is not in dataset_info.json"
            assert info[name]["formatting"] == "alpaca"


# ---------------------------------------------------------------- LLaMA-Factory's parser


@pytest.fixture(scope="module")
def tiny(tiny_qwen3, tmp_path_factory):
    """The tiny random Qwen3 (conftest) and a real LoRA adapter for it (rank 16 on every linear layer)."""
    model = tiny_qwen3
    adapter = make_lora_adapter(model, tmp_path_factory.mktemp("adapter") / "lora", rank=16)
    return model, adapter


def for_cpu(cfg: dict, tiny, tmp_path: Path) -> dict:
    """The recipe with the tiny model and the changes the module docstring lists; nothing else."""
    model, adapter = tiny
    cfg = dict(cfg)
    cfg["model_name_or_path"] = str(model)
    if "adapter_name_or_path" in cfg:
        cfg["adapter_name_or_path"] = str(adapter)
    if cfg.get("bf16"):
        cfg["bf16"] = False
    for key in ("output_dir", "export_dir"):
        if key in cfg:
            cfg[key] = str(tmp_path / key)
    return cfg


@pytest.mark.parametrize("base", [b for b in BASENAMES if b not in DS_BASENAMES])
@pytest.mark.parametrize("kind", ["train", "predict"])
def test_llamafactory_parses_train_and_predict(kind, base, tiny, tmp_path):
    from llamafactory.hparams import get_train_args

    cfg = load(kind, base)
    model_args, data_args, training_args, finetuning_args, generating_args = get_train_args(
        for_cpu(cfg, tiny, tmp_path)
    )
    assert data_args.template == cfg["template"]
    assert data_args.enable_thinking is cfg.get("enable_thinking", True)
    assert data_args.cutoff_len == cfg["cutoff_len"] and data_args.dataset_dir == "."
    assert finetuning_args.finetuning_type == cfg["finetuning_type"]
    assert model_args.trust_remote_code is False
    assert model_args.quantization_bit == cfg.get("quantization_bit")
    if kind == "train":
        assert training_args.do_train and data_args.dataset == [cfg["dataset"]]
        assert data_args.eval_dataset == ([cfg["eval_dataset"]] if "eval_dataset" in cfg else None)
        assert training_args.eval_strategy == cfg.get("eval_strategy", "no")
        assert training_args.group_by_length is cfg.get("group_by_length", False)
        if cfg["finetuning_type"] == "lora":
            assert finetuning_args.lora_target == ["all"]
    else:
        assert training_args.do_predict and training_args.predict_with_generate and not training_args.do_train
        assert data_args.eval_dataset == [cfg["eval_dataset"]]
        assert generating_args.do_sample is False and generating_args.max_new_tokens == 128
        assert model_args.adapter_name_or_path == ([str(tiny[1])] if "adapter_name_or_path" in cfg else None)


@pytest.mark.parametrize("base", BASENAMES)
@pytest.mark.parametrize("kind", ["chat", "merge"])
def test_llamafactory_parses_chat_and_merge(kind, base, tiny, tmp_path):
    from llamafactory.hparams import get_infer_args

    cfg = load(kind, base)
    model_args, data_args, finetuning_args, generating_args = get_infer_args(for_cpu(cfg, tiny, tmp_path))
    assert data_args.template == cfg["template"]
    assert data_args.enable_thinking is cfg.get("enable_thinking", True)
    assert finetuning_args.finetuning_type == cfg["finetuning_type"]
    assert model_args.trust_remote_code is False
    if kind == "chat":
        assert model_args.infer_backend == "huggingface"
        assert generating_args.do_sample is False and generating_args.max_new_tokens == 128
        assert generating_args.temperature == cfg.get("temperature", 0.95)
    else:
        assert model_args.export_dir == str(tmp_path / "export_dir") and model_args.export_device == "cpu"
        assert model_args.quantization_bit is None


_DS_SCRIPT = textwrap.dedent(
    """
    import json, sys
    # DeepSpeed's comm backend on a CPU-only host JIT-compiles a shared-memory allreduce op (about 90 s, needs a
    # C++ compiler) the first time it starts; it only speeds up CPU collectives, so it is marked unavailable here.
    # Everything else is real: LLaMA-Factory's parser, transformers' DeepSpeed config handling, deepspeed's own
    # config validation.
    import deepspeed.ops
    from deepspeed.accelerator import get_accelerator
    builder = get_accelerator().create_op_builder("ShareMemCommBuilder")
    if builder is not None:
        deepspeed.ops.__compatible_ops__[builder.NAME] = False
    from deepspeed.runtime.config import DeepSpeedConfig
    from llamafactory.hparams import get_train_args
    from transformers import AutoModelForCausalLM
    from transformers.integrations import is_deepspeed_zero3_enabled

    cfg, ds_configs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    model = AutoModelForCausalLM.from_pretrained(cfg["model_name_or_path"])
    results = {}
    for path in ds_configs:
        model_args, data_args, training_args, finetuning_args, _ = get_train_args(dict(cfg, deepspeed=path))
        hf_config = training_args.hf_deepspeed_config
        hf_config.trainer_config_finalize(training_args, model, 100)  # fills the remaining "auto" values
        config = DeepSpeedConfig(hf_config.config)
        results[path] = {
            "distributed": str(training_args.parallel_mode),
            "zero3": is_deepspeed_zero3_enabled(),
            "stage": config.zero_optimization_stage,
            "train_batch_size": config.train_batch_size,
            "micro_batch": config.train_micro_batch_size_per_gpu,
            "accumulation": config.gradient_accumulation_steps,
            "template": data_args.template,
            "enable_thinking": data_args.enable_thinking,
        }
    print("RESULT " + json.dumps(results))
    """
)


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed is not installed")
@pytest.mark.parametrize("base", DS_BASENAMES)
def test_llamafactory_parses_deepspeed_recipe(base, tiny, tmp_path):
    cfg = load("train", base)
    configs = [cfg["deepspeed"]] + [
        f"yaml_configs/deepspeed/{n}" for n in DEEPSPEED_CONFIGS if n not in cfg["deepspeed"]
    ]
    env = cli_env(
        WORLD_SIZE="1",
        RANK="0",
        LOCAL_RANK="0",
        LOCAL_WORLD_SIZE="1",
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(free_port()),
    )
    proc = subprocess.run(
        [sys.executable, "-c", _DS_SCRIPT, json.dumps(for_cpu(cfg, tiny, tmp_path)), json.dumps(configs)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    results = json.loads(proc.stdout.split("RESULT ", 1)[1])
    per_device, accum = cfg["per_device_train_batch_size"], cfg["gradient_accumulation_steps"]
    for path, result in results.items():
        assert result["distributed"].endswith("DISTRIBUTED")
        assert result["stage"] == (2 if "z2" in path else 3) and result["zero3"] == ("z3" in path)
        assert (result["micro_batch"], result["accumulation"]) == (per_device, accum)
        assert result["train_batch_size"] == per_device * accum  # a world of one process here
        assert (result["template"], result["enable_thinking"]) == (cfg["template"], cfg.get("enable_thinking", True))
    assert results[cfg["deepspeed"]]["stage"] == 3


# ---------------------------------------------------------------- templates and token budgets


@functools.lru_cache(maxsize=1)
def _qwen_tokenizer():
    """The real Qwen BPE, loaded once (the qwen / qwen3 / qwen3_nothink templates fix it the same way)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(qwen_tokenizer_dir())


def _template(template: str, enable_thinking: bool):
    """LLaMA-Factory's template as a recipe configures it. Use it at once: LF keeps one object per template name."""
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    tokenizer = _qwen_tokenizer()
    return tokenizer, get_template_and_fix_tokenizer(
        tokenizer, DataArguments(template=template, enable_thinking=enable_thinking)
    )


@pytest.mark.parametrize("base", BASENAMES)
def test_template_renders_the_prompt_the_model_expects(base):
    """What LLaMA-Factory feeds the model with the recipe's template / thinking setting (train = predict = chat)."""
    cfg = load("train", base)
    tokenizer, template = _template(cfg["template"], cfg.get("enable_thinking", True))
    messages = [
        {"role": "user", "content": "抽取实体\n张三在北京"},
        {"role": "assistant", "content": '{"name":["张三"]}'},
    ]
    prompt_ids, response_ids = template.encode_oneturn(tokenizer, messages)
    prompt = tokenizer.decode(prompt_ids, skip_special_tokens=False)
    response = tokenizer.decode(response_ids, skip_special_tokens=False)
    assert response == '{"name":["张三"]}<|im_end|>\n', "the target, without any think block, is what is learned"
    user_turn = "<|im_start|>user\n抽取实体\n张三在北京<|im_end|>\n<|im_start|>assistant\n"
    if cfg["template"] == "qwen3":  # hybrid Qwen3 with thinking off: an empty think block, outside the loss
        assert prompt == user_turn + "<think>\n\n</think>\n\n"
    elif cfg["template"] == "qwen3_nothink":
        assert prompt == user_turn
    else:  # qwen (Qwen2.5): its default system prompt
        system = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        assert prompt == system + user_turn
    assert tokenizer.eos_token == "<|im_end|>"
    assert template.get_stop_token_ids(tokenizer) == [tokenizer.convert_tokens_to_ids("<|im_end|>")]


def _budget_groups() -> dict[tuple, list[str]]:
    groups: dict[tuple, list[str]] = {}
    for base in GPU_RECIPES:
        cfg, chat = load("train", base), load("chat", base)
        key = (
            variant_and_split(cfg["dataset"])[0],
            cfg["template"],
            cfg.get("enable_thinking", True),
            cfg["cutoff_len"],
            chat["vllm_maxlen"],
            load("predict", base)["max_new_tokens"],
        )
        groups.setdefault(key, []).append(base)
    return groups


@pytest.mark.parametrize("key", sorted(_budget_groups()), ids=lambda k: f"{k[0]}-{k[1]}-{k[3]}")
def test_cutoff_len_truncates_no_example(key, project_root):
    """cutoff_len covers the longest templated example of every split, and vllm_maxlen the prompt + max_new_tokens.

    The data are `make data`'s build of the CLUENER copy (conftest's project_root).

    Every example's input + output is counted in tokens; the exact templated length (LLaMA-Factory's encode_oneturn)
    is then taken for the 32 longest of each split, since the instruction and the chat markup are the same for all.
    """
    variant, template_name, thinking, cutoff_len, vllm_maxlen, max_new_tokens = key
    tokenizer, template = _template(template_name, thinking)
    longest_full, longest_prompt = 0, 0
    for split in SPLITS:
        rows = json.loads(data_file(dataset_name(split, variant), project_root / DATA_DIR).read_text(encoding="utf-8"))
        prompts = [build_prompt(r["instruction"], r["input"]) for r in rows]
        assert len({r["instruction"] for r in rows}) == 1  # one instruction per file: rank by input + output
        lengths = [
            len(i) + len(o)
            for i, o in zip(
                tokenizer([r["input"] for r in rows], add_special_tokens=False)["input_ids"],
                tokenizer([r["output"] for r in rows], add_special_tokens=False)["input_ids"],
            )
        ]
        for i in sorted(range(len(rows)), key=lengths.__getitem__)[-32:]:
            prompt_ids, response_ids = template.encode_oneturn(
                tokenizer,
                [{"role": "user", "content": prompts[i]}, {"role": "assistant", "content": rows[i]["output"]}],
            )
            longest_full = max(longest_full, len(prompt_ids) + len(response_ids))
            longest_prompt = max(longest_prompt, len(prompt_ids))
    assert longest_full < cutoff_len, f"{_budget_groups()[key]}: an example of {longest_full} tokens is truncated"
    assert longest_prompt + max_new_tokens <= vllm_maxlen
