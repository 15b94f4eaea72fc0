"""A temp copy of the repository's front door, and `make` run in it (for tests that run the real chain).

The copy holds the files git tracks or would track (Makefile, packages, scripts, yaml_configs, ...), not tests/,
reports/, data/ or saves/, so the repository's own data, saves and reports are left alone. `make` runs there with
this interpreter's virtual environment and the shared CLUENER copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cluener.layout import DATA_DIR, REPORTS_DIR, SAVES_DIR, data_file, dataset_name
from conftest import ROOT, SHARED_CLUENER

VENV = Path(sys.prefix)
SKIPPED_DIRS = {"tests", REPORTS_DIR, DATA_DIR, SAVES_DIR, ".ci"}


def copy_front_door(dest: Path) -> Path:
    """Copy the repository's tracked (or trackable) files, minus tests/ reports/ data/, into ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.splitlines()  # fmt: skip
    for name in listed:
        source = ROOT / name
        if name.split("/", 1)[0] in SKIPPED_DIRS or not source.is_file():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)  # copy2 keeps mtimes: the venv stamp stays up to date
    (dest / DATA_DIR).mkdir(exist_ok=True)
    return dest


def recipe_project(tmp_path: Path, recipe: str = "yaml_configs/train/qwen3_0.6b_lora_sft.yaml") -> Path:
    """A project folder holding one training recipe only (what make train's run record reads)."""
    (tmp_path / recipe).parent.mkdir(parents=True)
    shutil.copy(ROOT / recipe, tmp_path / recipe)
    return tmp_path


def make_command(*args: str) -> list[str]:
    """``make ARGS`` with this venv, never reinstalling it: the copy's files may be newer than the venv's stamp."""
    return ["make", "--no-print-directory", f"--old-file={VENV}/.installed", f"VENV={VENV}",
            f"CLUENER_DIR={SHARED_CLUENER}", *args]  # fmt: skip


def make(root: Path, *args: str, stdin: str | None = None, check: bool = True, env: dict | None = None,
         timeout: float = 3600) -> subprocess.CompletedProcess:  # fmt: skip
    """``make ARGS`` in ``root``; a failure fails the test with the tail of its output."""
    result = subprocess.run(make_command(*args), cwd=root, input=stdin, capture_output=True, text=True,
                            timeout=timeout, env=env)  # fmt: skip
    if check:
        check_make(result, *args)
    return result


def check_make(result: subprocess.CompletedProcess, *args: str) -> None:
    """Fail the test with the tail of the output when ``make ARGS`` (``result``) failed."""
    if result.returncode != 0:
        pytest.fail(
            f"make {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )


def build_tiny_qwen3(root: Path, out: Path) -> Path:
    """The tiny Qwen3 with a small BPE trained on ``root``'s prepared train file (fast on CPU)."""
    subprocess.run(
        [sys.executable, "-m", "scripts.tiny_qwen", str(out), "--small-bpe-corpus", str(data_file(dataset_name("train")))],
        cwd=root, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return out
