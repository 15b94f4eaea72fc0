"""doctor.system on this machine, for real: torch's view of the GPU, the precision rule, free disk space."""

from __future__ import annotations

import pytest

from doctor import system
from doctor.report import FAIL, OK, WARN

GPU = system.probe_gpu()
needs_no_gpu = pytest.mark.skipif(GPU.available, reason="a CUDA GPU is here")


def test_the_probe_agrees_with_torch():
    import torch

    assert GPU.torch_version == torch.__version__
    assert GPU.available == torch.cuda.is_available()
    rows = {row.name: row for row in system.gpu_checks(GPU)}
    assert rows["torch"].status == OK and rows["torch"].value == torch.__version__
    assert ("GPU memory" in rows) == GPU.available


@needs_no_gpu
def test_no_gpu_is_reported_as_such():
    rows = {row.name: row for row in system.gpu_checks(GPU)}
    assert rows["GPU"].value == "none" and not rows["GPU"].failed  # a fact; what needs a GPU decides
    for dtype in ("bf16", "fp16"):
        check = system.precision_check(dtype, GPU, "bf16: true")
        assert check.status == FAIL and "needs a CUDA GPU" in check.note and "PRECISION=fp32" in check.note
    assert system.cuda_check("vLLM", GPU).status == FAIL


@pytest.mark.parametrize("dtype", ["fp32", None])
def test_fp32_and_auto_run_anywhere(dtype):
    assert system.precision_check(dtype, GPU).status == OK


def test_a_gpu_without_bf16_is_told_to_use_fp16():
    t4 = system.Gpu("2.8.0", "12.8", "Tesla T4", 1, 14.6, bf16=False)
    check = system.precision_check("bf16", t4, "bf16: true")
    assert check.status == FAIL and "PRECISION=fp16" in check.note
    assert system.precision_check("fp16", t4).status == OK


def test_memory_estimate_above_the_gpu_is_a_warning_not_a_refusal():
    small = system.Gpu("2.8.0", "12.8", "RTX 3060", 1, 11.6, bf16=True)
    assert system.memory_check("GPU memory (train)", 20, 1, small).status == WARN
    assert system.memory_check("GPU memory (train)", 10, 4, small).status == WARN  # one GPU where four are planned
    assert system.memory_check("GPU memory (train)", 12, 1, small).status == OK  # 11.6 GiB = 12.5 GB


def test_disk_check_reads_the_real_free_space(tmp_path):
    free = system.free_gib(tmp_path)
    assert free > 0
    assert system.disk_check("disk", tmp_path / "not" / "yet", free / 2).status == OK  # nearest existing parent
    assert system.disk_check("disk", tmp_path, free * 2 + 1).status == FAIL
