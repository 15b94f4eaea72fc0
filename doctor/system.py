"""The machine: Python, torch, CUDA, the GPU and its memory, bf16; the precision a run needs; free disk space.

torch is imported only by :func:`probe_gpu`, so that `make doctor` also reports an environment without torch.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .report import FAIL, INFO, OK, WARN, Check

GIB = 1024**3


@dataclass(frozen=True)
class Gpu:
    """What torch sees: ``torch_version`` None when torch cannot be imported (``error`` says why)."""

    torch_version: str | None
    cuda_version: str | None = None
    name: str | None = None  # the first CUDA device, None without one
    count: int = 0
    memory_gib: float = 0.0  # total memory of the first device
    bf16: bool = False
    error: str | None = None

    @property
    def available(self) -> bool:
        return self.name is not None


def probe_gpu() -> Gpu:
    """torch's view of the GPUs (CUDA_VISIBLE_DEVICES applies); never raises."""
    try:
        import torch
    except Exception as exc:  # ImportError, or a broken install (a CUDA build whose libraries are missing)
        return Gpu(None, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    cuda = torch.version.cuda
    try:
        if not torch.cuda.is_available():
            return Gpu(torch.__version__, cuda)
        props = torch.cuda.get_device_properties(0)
        return Gpu(torch.__version__, cuda, props.name, torch.cuda.device_count(), props.total_memory / GIB,
                   bool(torch.cuda.is_bf16_supported()))  # fmt: skip
    except Exception as exc:  # a driver that torch cannot talk to
        return Gpu(torch.__version__, cuda, error=f"{type(exc).__name__}: {exc}")


def python_check() -> Check:
    version = platform.python_version()
    supported = (3, 11) <= sys.version_info[:2] <= (3, 13)
    return Check("Python", OK if supported else WARN, version,
                 "" if supported else "the project supports Python 3.11 to 3.13")  # fmt: skip


def gpu_checks(gpu: Gpu) -> list[Check]:
    """torch, CUDA, GPU, GPU memory and bf16 rows (facts; whether a target needs them is :func:`precision_check`)."""
    if gpu.torch_version is None:
        return [Check("torch", FAIL, "not importable", gpu.error or "")]
    rows = [Check("torch", OK, gpu.torch_version),
            Check("CUDA", INFO, gpu.cuda_version or "none (a CPU build of torch)")]  # fmt: skip
    if not gpu.available:
        note = gpu.error or ("this torch has no CUDA" if gpu.cuda_version is None else "torch sees no CUDA device")
        return rows + [Check("GPU", INFO, "none", note)]
    more = f" (+{gpu.count - 1} more)" if gpu.count > 1 else ""
    return rows + [
        Check("GPU", OK, f"{gpu.name}{more}"),
        Check("GPU memory", INFO, f"{gpu.memory_gib:.1f} GiB"),
        Check("bf16", INFO, "yes" if gpu.bf16 else "no", "" if gpu.bf16 else "use PRECISION=fp16"),
    ]


def precision_check(dtype: str | None, gpu: Gpu, why: str = "") -> Check:
    """Whether this machine runs ``dtype`` ('bf16', 'fp16', 'fp32', or 'cuda' for anything that needs CUDA whatever
    the dtype: QLoRA, vLLM). fp32 (and None: the dtype is picked at load time) runs anywhere."""
    name = "precision"
    if dtype in (None, "fp32"):
        return Check(name, OK, dtype or "auto", "")
    where = f" ({why})" if why else ""
    if not gpu.available:
        hint = ", or PRECISION=fp32 to run it on the CPU (slow)" if dtype in ("bf16", "fp16") else ""
        return Check(name, FAIL, dtype, f"{dtype}{where} needs a CUDA GPU, and torch sees none: run it on a GPU "
                     f"machine (`make doctor` shows this one){hint}")  # fmt: skip
    if dtype == "bf16" and not gpu.bf16:
        return Check(name, FAIL, dtype, f"{gpu.name} has no bf16{where}: add PRECISION=fp16")
    return Check(name, OK, dtype, gpu.name or "")


def free_gib(path: str | os.PathLike) -> float:
    """Free space of the file system that holds ``path`` (or its nearest existing parent)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free / GIB


def disk_check(label: str, path: str | os.PathLike, need_gib: float) -> Check:
    """FAIL when the file system of ``path`` has less than ``need_gib`` free."""
    free = free_gib(path)
    value = f"{free:.1f} GiB free at {path}, needs about {need_gib:.1f} GiB"
    if free < need_gib:
        return Check(label, FAIL, value, f"{path}: {free:.1f} GiB free, about {need_gib:.1f} GiB needed: free some space")
    return Check(label, OK, value)


def cuda_check(reason: str, gpu: Gpu) -> Check:
    """FAIL without a CUDA GPU: ``reason`` is what needs one (QLoRA's bitsandbytes, vLLM)."""
    if gpu.available:
        return Check("CUDA", OK, gpu.name or "", reason)
    return Check("CUDA", FAIL, "none", f"{reason} needs a CUDA GPU, and torch sees none: run it on a GPU machine "
                 "(`make doctor` shows this one)")


def memory_check(label: str, need_gb: float, gpus: int, gpu: Gpu) -> Check:
    """WARN when the estimate (GB per GPU, on ``gpus`` GPUs) exceeds the GPU: it is an upper bound, not a refusal."""
    have_gb = gpu.memory_gib * GIB / 1e9
    value = f"about {need_gb:g} GB per GPU" + (f" on {gpus} GPUs" if gpus > 1 else "")
    if not gpu.available:
        return Check(label, INFO, value, "no GPU to compare with")
    if have_gb < need_gb or gpu.count < gpus:
        return Check(label, WARN, value, f"{gpu.name} has {have_gb:.0f} GB" + (f", {gpu.count} GPU(s)" if gpu.count < gpus else "")
                     + ": may not fit; lower per_device_train_batch_size, raise gradient_accumulation_steps")  # fmt: skip
    return Check(label, OK, value, f"{gpu.name} has {have_gb:.0f} GB")
