"""doctor.trackers: TRACKER= and report_to checked before training (a missing tracker is one line, not a traceback
after the model loaded; an unknown word is one line, exit 2), and no credential written in a recipe or ARGS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from doctor.trackers import CHOICES, TRACKERS, key_problems, requested, tracker_problems

pytestmark = pytest.mark.light

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "doctor.trackers", *args], cwd=ROOT, capture_output=True, text=True)


def test_report_to_values_as_the_hf_trainer_takes_them():
    assert requested("tensorboard") == ["tensorboard"] and requested(["tensorboard", "wandb"]) == ["tensorboard", "wandb"]
    assert requested("none") == requested(None) == requested([]) == []
    assert set(CHOICES) == {"tensorboard", "wandb", "swanlab", "mlflow", "none"}


def test_a_missing_tracker_is_one_line_naming_it_and_how_to_get_it():
    missing = tracker_problems(["wandb", "mlflow"], find=lambda module: False)
    assert len(missing) == 2 and missing[0].startswith("report_to: wandb: the wandb package is not installed")
    assert "pip install wandb" in missing[0] and "TRACKER=tensorboard|swanlab|mlflow|none" in missing[0]
    assert tracker_problems("tensorboard", find=lambda module: module == "tensorboardX") == []  # HF takes either
    assert tracker_problems("comet_ml", find=lambda module: False) == []  # not ours to judge: LF's parser refuses
    assert tracker_problems("none", find=lambda module: False) == []


def test_credentials_belong_in_the_environment():
    lines = key_problems({"swanlab_api_key": "sk-123", "hf_hub_token": "hf_x", "ms_hub_token": None, "lora_rank": 8})
    assert [line.split(":")[0] for line in lines] == ["swanlab_api_key", "hf_hub_token"]
    assert all("sk-123" not in line and "hf_x" not in line for line in lines)  # the secret is never echoed
    assert "SWANLAB_API_KEY" in lines[0]


def test_every_tracker_documents_its_keys_and_offline_mode():
    assert TRACKERS["wandb"].keys == "WANDB_API_KEY" and "WANDB_MODE=offline" in TRACKERS["wandb"].offline
    assert "SWANLAB_MODE" in TRACKERS["swanlab"].offline and "MLFLOW_TRACKING_URI=file:" in TRACKERS["mlflow"].offline


def test_the_command_line_the_makefile_runs():
    assert cli().returncode == 0 and cli().stderr == ""  # TRACKER unset: the recipe's report_to
    assert cli("none").returncode == 0
    bad = cli("tensorbord")
    assert bad.returncode == 2 and bad.stderr.splitlines() == [
        "error: TRACKER='tensorbord': not a tracker; one of tensorboard, wandb, swanlab, mlflow, none"]
    # a tracker this environment lacks (the CPU set pins none of these three): one line, exit 1
    absent = next((name for name in ("swanlab", "mlflow", "wandb") if tracker_problems(name)), None)
    if absent is None:
        pytest.fail("swanlab, mlflow and wandb are all installed: no missing tracker to test with")
    result = cli(absent)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1 and "not installed" in result.stderr
