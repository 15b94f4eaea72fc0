"""Which checks each GPU target needs, run in the order that stops soonest (fast checks first, LF's parser last).

=============  ===========  =========================================================================
target         recipe kind  checks
=============  ===========  =========================================================================
train, sweep   train        precision (bf16/fp16 need a CUDA GPU with it; QLoRA needs CUDA), packages, the
                            tracker (report_to / TRACKER=) installed, no key in recipe or ARGS (doctor/trackers.py),
                            model reachable, disk, memory (warning), LF's parser + datasets
predict        predict      trained, precision, packages, model, memory (warning), LF's parser + datasets
chat, api      chat         trained, precision (infer_dtype), packages, model, memory (warning), LF's parser
export         merge        trained, packages, model, disk, LF's parser (the merge runs on the CPU)
serve-vllm     chat         trained, CUDA + PRECISION, vllm installed, model, memory (warning)
gpu-smoke      -            CUDA + PRECISION (none with SMOKE_CPU_DRY_RUN=1, its CPU rehearsal)
predict-encoder encoder     trained (encoder_ner's final save)
=============  ===========  =========================================================================

fp32 (and chat's ``infer_dtype: auto``) runs on a CPU: the tests run train / predict / chat / export on the CPU with
a tiny local model, and so can a user.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cluener.layout import RECIPE_DIR, predictions_dir, recipe_dataset, recipe_path, recipe_save_dir
from cluener.yaml_files import apply_overrides, read_mapping

from . import estimates, system
from .model_source import looks_local, model_check
from .recipe_args import RecipeArgsError, validate
from .report import FAIL, OK, Check
from .trained import trained_check
from .trackers import key_problems, tracker_problems
from .versions import version_checks

LF_PACKAGES = frozenset({"llamafactory", "transformers", "peft", "trl"})


@dataclass(frozen=True)
class Target:
    kind: str | None  # the recipe folder it runs (train, predict, chat, merge); None: no recipe
    trained: bool = False
    memory: str | None = None  # which estimate applies (estimates.gpu_memory_gb)
    lf: bool = True  # runs llamafactory-cli: LF's parser applies
    cuda: str | None = None  # what needs CUDA whatever the dtype
    packages: frozenset[str] = field(default_factory=frozenset)


TARGETS: dict[str, Target] = {
    "train": Target("train", memory="train"),
    "sweep": Target("train", memory="train"),
    "predict": Target("predict", trained=True, memory="predict"),
    "chat": Target("chat", trained=True, memory="chat"),
    "api": Target("chat", trained=True, memory="chat"),
    "export": Target("merge", trained=True),
    "serve-vllm": Target("chat", trained=True, memory="chat", lf=False, cuda="vLLM", packages=frozenset({"vllm"})),
    "gpu-smoke": Target(None, lf=False, cuda="make gpu-smoke (make test is the CPU check; SMOKE_CPU_DRY_RUN=1 rehearses it)"),
    "predict-encoder": Target("encoder", trained=True, lf=False),
}


class Plan:
    """A target's recipe, resolved with its overrides by the project's YAML reader (as LF reads it), and its checks."""

    def __init__(self, target: str, recipe: str, overrides: list[str], split: str = "dev", precision: str = "bf16",
                 root: Path = Path(".")):  # fmt: skip
        self.name, self.target, self.recipe, self.root = target, TARGETS[target], recipe, root
        self.precision = precision
        self.overrides = list(overrides)
        if self.target.kind == "predict":  # what `make predict` puts before ARGS (cluener/layout.py names both)
            self.overrides = [f"eval_dataset={recipe_dataset(recipe, split, root / RECIPE_DIR)}",
                              f"output_dir={predictions_dir(recipe_save_dir(recipe), split).as_posix()}",
                              *self.overrides]  # fmt: skip
        self.file = recipe_path(self.target.kind, recipe, root / RECIPE_DIR) if self.target.kind else None
        self.config: dict = {}
        if self.file is not None:
            self.config = apply_overrides(read_mapping(self.file), self.overrides, strict=False)

    # ------------------------------------------------------------ what the resolved recipe asks for

    def dtype(self) -> str | None:
        """bf16 / fp16 / fp32, or None: chosen at load time (chat's infer_dtype auto, the merge)."""
        if self.name in ("serve-vllm", "gpu-smoke"):
            return self.precision
        if self.target.kind in ("train", "predict"):
            return "bf16" if self.config.get("bf16") else "fp16" if self.config.get("fp16") else "fp32"
        if self.target.kind == "chat":
            return {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(str(self.config.get("infer_dtype")))
        return None

    def cuda_reason(self) -> str | None:
        if self.target.cuda:
            return self.target.cuda
        if self.config.get("quantization_bit") and self.target.kind != "merge":
            return f"quantization_bit: {self.config['quantization_bit']} (bitsandbytes)"
        if self.config.get("infer_backend") in ("vllm", "sglang"):
            return f"infer_backend: {self.config['infer_backend']}"
        return None

    def packages(self) -> frozenset[str]:
        needed = set(self.target.packages) | (LF_PACKAGES if self.target.lf else set())
        if self.config.get("deepspeed") and self.target.kind == "train":
            needed.add("deepspeed")
        if self.config.get("quantization_bit") and self.target.kind != "merge":
            needed.add("bitsandbytes")
        if self.config.get("infer_backend") == "vllm":
            needed.add("vllm")
        return frozenset(needed)

    def trained_folder(self) -> tuple[str, str] | None:
        """(folder, 'adapter' or 'model') the target reads the trained result from, None when it names none."""
        if self.target.kind == "encoder":
            return recipe_save_dir(self.recipe).as_posix(), "encoder"
        if self.config.get("finetuning_type", "lora") == "lora":
            adapter = self.config.get("adapter_name_or_path")
            return (str(adapter).split(",")[0].strip(), "adapter") if adapter else None
        model = self.config.get("model_name_or_path")
        return (str(model), "model") if model else None

    # ------------------------------------------------------------ the checks

    def checks(self, gpu: system.Gpu, probe: bool = True) -> list[Check]:
        """Every check but LF's parser (:meth:`parser_check`), in order."""
        rows: list[Check] = []
        trained = self.trained_folder() if self.target.trained else None
        if trained and (looks_local(trained[0]) or Path(trained[0]).exists()):
            rows.append(trained_check(trained[0], trained[1], self.recipe, gpu.available))
            if rows[-1].failed or self.target.kind == "encoder":  # the one thing to say: train it first
                return rows
        reason = self.cuda_reason()
        if reason:
            rows.append(system.cuda_check(reason, gpu))
        if reason is None or gpu.available:
            rows.append(system.precision_check(self.dtype(), gpu, self._dtype_key()))
        rows += [c for c in version_checks(gpu.available, self.packages()) if c.failed]
        rows += self._tracking()
        if self.target.kind is None:
            return rows
        model = str(self.config.get("model_name_or_path") or "")
        model_row = None
        if not (trained and trained[1] == "model" and trained[0] == model):
            model_row = model_check(model, "base model", self.config.get("cache_dir"), probe=probe)
            rows.append(model_row)
        rows += self._disk(model_row)
        rows += self._memory(gpu)
        return rows

    def _tracking(self) -> list[Check]:
        """A training run's tracker (``report_to``, TRACKER=) installed; no credential written in the recipe or ARGS."""
        trackers = tracker_problems(self.config.get("report_to")) if self.target.kind == "train" else []
        return [Check("tracker", FAIL, "not installed", line) for line in trackers] + \
            [Check("credentials", FAIL, line.split(":")[0], line) for line in key_problems(self.config)]  # fmt: skip

    def _dtype_key(self) -> str:
        if self.name in ("serve-vllm", "gpu-smoke"):
            return f"PRECISION={self.precision}"
        key = {"bf16": "bf16: true", "fp16": "fp16: true"}.get(self.dtype() or "", "")
        return f"infer_dtype: {self.config.get('infer_dtype')}" if self.target.kind == "chat" else key

    def _disk(self, model_row: Check | None) -> list[Check]:
        need = estimates.need_of(self.recipe)
        if need is None:
            return []
        rows = []
        if model_row is not None and model_row.value.endswith("will download)"):
            from huggingface_hub import constants

            rows.append(system.disk_check("disk (model download)", constants.HF_HUB_CACHE, need.download_gb()))
        if self.target.kind == "train":
            out = self.config.get("output_dir") or recipe_save_dir(self.recipe).as_posix()
            rows.append(system.disk_check("disk (training output)", self.root / out, need.train_output_gb()))
        elif self.target.kind == "merge":
            out = self.config.get("export_dir") or (recipe_save_dir(self.recipe) / "merged").as_posix()
            rows.append(system.disk_check("disk (merged model)", self.root / out, need.export_gb()))
        return rows

    def _memory(self, gpu: system.Gpu) -> list[Check]:
        figure = estimates.gpu_memory_gb(self.recipe, self.target.memory) if self.target.memory else None
        if figure is None or not gpu.available:
            return []
        return [system.memory_check(f"GPU memory ({self.target.memory})", figure[0], figure[1], gpu)]

    def parser_check(self) -> Check:
        """LF's parser on the recipe and overrides (imports LLaMA-Factory: a few seconds)."""
        label = "recipe"
        if not (self.target.lf and self.file):
            return Check(label, OK, "not a llamafactory-cli target")
        shown = f"{self.file.as_posix()}" + (" + overrides" if self.overrides else "")
        try:
            validate(self.target.kind, self.file, self.overrides)
        except RecipeArgsError as exc:
            return Check(label, FAIL, shown, f"{shown}: LLaMA-Factory refuses it: {exc}")
        return Check(label, OK, shown, "LLaMA-Factory's parser accepts it")


def smoke_dry_run() -> bool:
    return bool(os.environ.get("SMOKE_CPU_DRY_RUN"))

