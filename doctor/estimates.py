"""Each recipe's memory and disk need: the one copy in code of the estimates in yaml_configs/README.md ("GPU memory")
and in each recipe file's header (tests/test_doctor_estimates.py holds the three together).

They are arithmetic, not measurements, and upper bounds (batches padded to cutoff_len): a GPU below the figure is a
warning, not a refusal (lower per_device_train_batch_size and raise gradient_accumulation_steps by the same factor).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Need:
    """``params_b``: base model parameters (billions); GPU memory in GB per GPU for ``train`` (on ``train_gpus``
    GPUs), ``predict`` and ``chat`` (huggingface backend); ``merge_ram``: CPU memory of `make export` in GB."""

    params_b: float
    train: float
    predict: float
    chat: float
    merge_ram: float
    train_gpus: int = 1
    full: bool = False  # full fine-tuning: checkpoints hold the whole model and its optimizer

    def download_gb(self) -> float:
        """The base model's bf16 safetensors."""
        return 2 * self.params_b

    def train_output_gb(self, checkpoints: int = 3) -> float:
        """saves/<recipe> after training: LoRA adapters are small (r16: well under 1 GB with 3 checkpoints); full
        SFT keeps ``checkpoints`` checkpoints of fp32 weights + AdamW states (12 bytes a parameter) + the final bf16."""
        if not self.full:
            return 1.0
        return checkpoints * 12 * self.params_b + 2 * self.params_b

    def export_gb(self) -> float:
        """saves/<recipe>/merged: the merged bf16 model."""
        return 2 * self.params_b


RECIPE_NEEDS: dict[str, Need] = {
    "qwen3_0.6b_lora_sft": Need(0.6, train=12, predict=4, chat=3, merge_ram=3),
    "qwen3_1.7b_lora_sft": Need(1.7, train=15, predict=7, chat=5, merge_ram=7),
    "qwen3_4b_instruct2507_lora_sft": Need(4.0, train=20, predict=12, chat=10, merge_ram=16),
    "qwen3_8b_lora_sft": Need(8.2, train=21, predict=20, chat=18, merge_ram=33),
    "qwen2.5_0.5b_lora_sft": Need(0.5, train=12, predict=3, chat=3, merge_ram=2),
    "qwen2.5_1.5b_lora_sft": Need(1.5, train=15, predict=5, chat=5, merge_ram=6),
    "qwen2.5_7b_lora_sft": Need(7.6, train=20, predict=18, chat=17, merge_ram=30),
    "qwen3_0.6b_full_sft": Need(0.6, train=16, predict=4, chat=3, merge_ram=6, full=True),
    "qwen3_8b_qlora_sft": Need(8.2, train=14, predict=10, chat=8, merge_ram=33),
    "qwen3_8b_lora_sft_ds3": Need(8.2, train=10, predict=20, chat=18, merge_ram=33, train_gpus=4),
    "qwen3_1.7b_lora_sft_guided": Need(1.7, train=11, predict=8, chat=5, merge_ram=7),
}


def need_of(recipe: str) -> Need | None:
    """The recipe's estimates; None for a recipe without (the CPU demo, a recipe added without its figures)."""
    return RECIPE_NEEDS.get(recipe)


def gpu_memory_gb(recipe: str, target: str) -> tuple[float, int] | None:
    """(GB per GPU, GPUs) that ``target`` (train, predict, chat, api) needs for ``recipe``; None when unknown."""
    need = need_of(recipe)
    if need is None:
        return None
    if target == "train":
        return need.train, need.train_gpus
    if target == "predict":
        return need.predict, 1
    if target in ("chat", "api", "serve-vllm"):
        return need.chat, 1
    return None
