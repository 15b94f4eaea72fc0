"""provenance.run_record: what ``make train`` records before training (the recipe with its overrides, commit,
versions, hardware, processes), and the git state of a checkout."""

from __future__ import annotations

import json
import subprocess

import pytest

from provenance.run_record import RECORD_FILE, git_state, record

from make_project import recipe_project

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

RECIPE = "yaml_configs/train/qwen3_0.6b_lora_sft.yaml"

project = recipe_project  # a project folder holding RECIPE


@pytest.mark.full  # records the installed transformers / deepspeed versions: not in the light tier
def test_record_applies_the_overrides_and_says_unknown_outside_git(tmp_path):
    root = project(tmp_path)
    path = record(RECIPE, ["learning_rate=2e-4", "seed=7", "output_dir=saves/x"], cwd=root)
    assert path == root / "saves" / "x" / RECORD_FILE
    rec = json.loads(path.read_text())
    assert rec["recipe"] == RECIPE and rec["overrides"] == ["learning_rate=2e-4", "seed=7", "output_dir=saves/x"]
    assert rec["config"]["seed"] == 7 and rec["config"]["lora_rank"] == 16
    assert rec["git"] == "unknown"
    assert rec["versions"]["transformers"] and "deepspeed" in rec["versions"]
    assert rec["hardware"]["kind"] in ("cpu", "gpu") and rec["world_size"]["processes"] >= 1


def test_git_state_of_a_checkout(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("a")
    env = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", *env, "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run(["git", *env, "-C", str(tmp_path), "commit", "-qm", "x"], check=True)
    state = git_state(tmp_path)
    assert len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "f").write_text("b")
    assert git_state(tmp_path)["dirty"] is True
