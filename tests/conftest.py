"""Shared fixtures: the CLUENER copy (CLUENER_DIR, ../shared, data/raw or a download), prepared data in a temp
project root, the tiny Qwen3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_QWEN3 = ROOT / ".cache" / "tiny-qwen3"

from light_tier import LIGHT_PACKAGES, LIGHT_TIER, is_light_module  # noqa: E402


# ---------------------------------------------------------------- the light tier (tests/light_tier.py)


def pytest_ignore_collect(collection_path, config):
    """In the light tier, only light test modules are collected (the others import torch; each is listed in
    light_tier.HEAVY_MODULES, which tests/test_light_tier.py checks)."""
    if LIGHT_TIER and collection_path.name.startswith("test_") and collection_path.suffix == ".py":
        return not is_light_module(collection_path)
    return None


def pytest_collection_modifyitems(config, items):
    """The doctests of the light packages are light tests."""
    from cluener.layout import path_under

    for item in items:
        where = path_under(item.path, ROOT) if isinstance(item, pytest.DoctestItem) else None
        if where is not None and where.parts[0] in LIGHT_PACKAGES:
            item.add_marker(pytest.mark.light)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In the light tier a light test skipped for a missing module (``pytest.importorskip``) is a failure: a light
    test that needs what the light environment lacks is a misfiled test, not one to drop without a word."""
    outcome = yield
    report = outcome.get_result()
    if LIGHT_TIER and report.skipped and any(why in str(report.longrepr) for why in ("could not import", "No module")):
        report.outcome = "failed"
        report.longrepr = f"light tier: skipped for a missing module (mark it full or list its module heavy): {report.longrepr}"


def __getattr__(name: str):
    """``from conftest import SHARED_CLUENER``: the CLUENER copy the tests read (tests/cluener_source.py)."""
    if name != "SHARED_CLUENER":
        raise AttributeError(name)
    from cluener_source import NoCluenerCopy, find_cluener

    try:
        return find_cluener(ROOT)
    except NoCluenerCopy as exc:
        raise ImportError(str(exc)) from None


@pytest.fixture(scope="session")
def cluener_dir() -> Path:
    """CLUENER_DIR, ../shared/cluener2020, make data's copy, else a one-time download (tests/cluener_source.py)."""
    from cluener_source import NoCluenerCopy, find_cluener

    try:
        return find_cluener(ROOT)
    except NoCluenerCopy as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def built(tmp_path_factory, cluener_dir) -> dict:
    """`make data`'s build into a temp project root (data/ + dataset_info.json): splits, manifest, datasets, root."""
    from dataprep.build import build

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
    from scripts.tiny_qwen import build

    return build(TINY_QWEN3)



# ---------------------------------------------------------------- predictions (eval package tests)


@pytest.fixture(scope="session")
def data_dir(built) -> Path:
    """The data/ folder of the temp `make data` build (holds manifest.json, which --split resolves through)."""
    return built["root"] / "data"


@pytest.fixture(scope="session")
def dev_gold(built):
    return built["splits"]["dev"]


@pytest.fixture(scope="session")
def dev_records(data_dir) -> list[dict]:
    """The alpaca records of data/cluener_dev.json (instruction, input, output)."""
    return json.loads((data_dir / "cluener_dev.json").read_text(encoding="utf-8"))


def lf_row(record: dict, predict: str) -> dict:
    """A line as LLaMA-Factory's do_predict writes it (the prompt is the decoded chat-templated input)."""
    prompt = f"<|im_start|>user\n{record['instruction']}\n{record['input']}<|im_end|>\n<|im_start|>assistant\n"
    return {"prompt": prompt, "predict": predict, "label": record.get("output", "")}


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path
