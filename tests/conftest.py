"""Shared fixtures: the CLUENER copy in ../shared, prepared data in a temp project root, the tiny Qwen3."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_CLUENER = ROOT.parent / "shared" / "cluener2020"
TINY_QWEN3 = ROOT / ".cache" / "tiny-qwen3"

sys.path.insert(0, str(ROOT / "scripts"))


@pytest.fixture(scope="session")
def cluener_dir() -> Path:
    if not (SHARED_CLUENER / "train.json").is_file():
        pytest.fail(f"{SHARED_CLUENER}: the CLUENER2020 copy the tests read is missing")
    return SHARED_CLUENER


@pytest.fixture(scope="session")
def built(tmp_path_factory, cluener_dir) -> dict:
    """`make data`'s build into a temp project root (data/ + dataset_info.json): splits, manifest, datasets, root."""
    from eval.build_data import build

    root = tmp_path_factory.mktemp("project")
    result = build(str(cluener_dir), root / "data", root / "dataset_info.json")
    result["root"] = root
    return result


@pytest.fixture(scope="session")
def project_root(built) -> Path:
    return built["root"]


@pytest.fixture(scope="session")
def tiny_qwen3() -> Path:
    """A tiny random Qwen3 with the real Qwen BPE, built offline once and cached under .cache/."""
    from tiny_qwen import build

    return build(TINY_QWEN3)

