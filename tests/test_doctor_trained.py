"""doctor.trained: what a failed, interrupted or finished `make train` leaves, and which of them counts as trained."""

from __future__ import annotations

import shutil

import pytest
from llm_assets import make_lora_adapter

from doctor.report import FAIL, OK
from doctor.trained import trained_check


@pytest.fixture(scope="module")
def adapter(tiny_qwen3, tmp_path_factory):
    return make_lora_adapter(tiny_qwen3, tmp_path_factory.mktemp("trained") / "adapter", rank=4)


def test_a_saved_adapter_counts(adapter):
    assert trained_check(str(adapter), "adapter", "r").status == OK


def test_a_full_model_counts(tiny_qwen3):
    assert trained_check(str(tiny_qwen3), "model", "r").status == OK


def test_a_failed_run_never_counts(tmp_path):
    (tmp_path / "run_command.json").write_text("{}")  # what make train writes before LLaMA-Factory starts
    check = trained_check(str(tmp_path), "adapter", "r", gpu_available=False)
    assert check.status == FAIL
    assert "only a run card" in check.note and "make train RECIPE=r" in check.note and "needs a CUDA GPU" in check.note


def test_an_interrupted_run_never_counts(tmp_path, adapter):
    shutil.copytree(adapter, tmp_path / "checkpoint-200")  # a checkpoint holds adapter files, one level down
    (tmp_path / "checkpoint-1000").mkdir()
    check = trained_check(str(tmp_path), "adapter", "r", gpu_available=True)
    assert check.status == FAIL and "stopped at checkpoint-1000" in check.note and "CUDA" not in check.note


def test_half_an_adapter_never_counts(tmp_path, adapter):
    shutil.copy(adapter / "adapter_config.json", tmp_path)
    check = trained_check(str(tmp_path), "adapter", "r")
    assert check.status == FAIL and "adapter_model.safetensors" in check.note


def test_a_missing_folder(tmp_path):
    check = trained_check(str(tmp_path / "saves" / "r"), "model", "r")
    assert check.status == FAIL and "does not exist" in check.note
