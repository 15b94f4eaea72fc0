"""scripts/check_launch.py: launch variables that would hang or silently run on one node are refused in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT
from scripts.check_launch import LaunchError, check, main, parse

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

GOOD = [
    {},
    {"NPROC_PER_NODE": "4", "FORCE_TORCHRUN": "1"},
    {"NNODES": "1"},
    {"NNODES": "1", "NODE_RANK": "0"},
    {"NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500", "NPROC_PER_NODE": "8"},
    {"USE_MODELSCOPE_HUB": "1"},
    {"MASTER_PORT": "65535"},
]

BAD = [
    ({"NODE_RANK": "1"}, "NODE_RANK=1: set NNODES"),
    ({"NNODES": "2", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"}, "NNODES=2: set NODE_RANK"),
    ({"NNODES": "2", "NODE_RANK": "0", "MASTER_PORT": "29500"}, "NNODES=2: set MASTER_ADDR"),
    ({"NNODES": "2", "NODE_RANK": "0", "MASTER_ADDR": "10.0.0.1"}, "NNODES=2: set MASTER_PORT"),
    ({"NNODES": "2", "NODE_RANK": "2", "MASTER_ADDR": "a", "MASTER_PORT": "1"}, "NODE_RANK='2': must be an integer from 0 to NNODES-1 (1)"),
    ({"NNODES": "1", "NODE_RANK": "1"}, "NODE_RANK='1'"),
    ({"NNODES": "0"}, "NNODES='0': must be an integer >= 1"),
    ({"NNODES": "two"}, "NNODES='two'"),
    ({"NPROC_PER_NODE": "0"}, "NPROC_PER_NODE='0': must be an integer >= 1"),
    ({"NPROC_PER_NODE": "-1"}, "NPROC_PER_NODE='-1'"),
    ({"MASTER_PORT": "70000"}, "MASTER_PORT='70000': must be a port number"),
    ({"MASTER_PORT": "http"}, "MASTER_PORT='http'"),
    ({"FORCE_TORCHRUN": "yes please"}, "FORCE_TORCHRUN='yes please'"),
    ({"NPROC": "2"}, "NPROC: not a launch variable"),
]  # fmt: skip


@pytest.mark.parametrize("variables", GOOD)
def test_consistent_launches_pass(variables):
    check(variables)


@pytest.mark.parametrize(("variables", "message"), BAD)
def test_mistakes_are_named(variables, message):
    with pytest.raises(LaunchError) as error:
        check(variables)
    assert message in str(error.value)


def test_parse_reads_key_value_arguments():
    assert parse(["NNODES=2", "MASTER_ADDR=10.0.0.1"]) == {"NNODES": "2", "MASTER_ADDR": "10.0.0.1"}
    with pytest.raises(LaunchError, match="expected KEY=VALUE"):
        parse(["NNODES"])


def test_cli_prints_one_line_and_exits_2(capsys):
    assert main(["NODE_RANK=1"]) == 2
    err = capsys.readouterr().err
    assert err == "error: launch: NODE_RANK=1: set NNODES (the number of nodes) as well\n"
    assert main(["NPROC_PER_NODE=2"]) == 0


def test_script_runs_as_the_makefile_calls_it():
    bad = subprocess.run([sys.executable, "-m", "scripts.check_launch", "NNODES=2", "NODE_RANK=0", "MASTER_PORT=1"],
                         cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "MASTER_ADDR" in bad.stderr
    assert subprocess.run([sys.executable, "-m", "scripts.check_launch"], cwd=ROOT).returncode == 0


def test_make_dry_run_implies_torchrun_and_finds_it_in_the_venv():
    """NPROC_PER_NODE alone sets FORCE_TORCHRUN=1 (LLaMA-Factory needs it on CPU / one GPU) and PATH has the venv."""
    result = subprocess.run(["make", "-n", "--no-print-directory", "train", "RECIPE=qwen3_8b_lora_sft_ds3",
                             "NPROC_PER_NODE=2", f"VENV={sys.prefix}"],
                            cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    line = next(line for line in result.stdout.splitlines() if "llamafactory-cli train" in line)
    assert "FORCE_TORCHRUN=1 NPROC_PER_NODE=2" in line
    assert f'PATH="{sys.prefix}/bin:$PATH"' in line
    assert "-m scripts.check_launch FORCE_TORCHRUN=1 NPROC_PER_NODE=2" in result.stdout
