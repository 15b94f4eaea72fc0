"""doctor.versions against this venv and the real requirements files."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from doctor.report import FAIL, INFO, OK
from doctor.versions import PACKAGES, pin_set, pins_in, version_checks

ROOT = Path(__file__).resolve().parents[1]


def test_pins_follow_the_includes():
    gpu = pins_in(ROOT / "requirements.txt")  # -r requirements-common.txt and -r requirements-vllm.txt
    assert gpu["torch"] == "2.8.0" and gpu["llamafactory"] and gpu["vllm"] and gpu["bitsandbytes"]
    cpu_name, cpu = pin_set(gpu=False, root=ROOT)
    assert cpu_name == "requirements-cpu.txt" and "vllm" not in cpu and cpu["transformers"] == gpu["transformers"]


def test_this_venv_against_its_pins():
    rows = {row.name: row for row in version_checks(gpu=False)}
    assert list(rows) == list(PACKAGES)
    llamafactory = rows["llamafactory"]
    assert llamafactory.value == metadata.version("llamafactory")
    assert llamafactory.status == (OK if llamafactory.value == pin_set(False, ROOT)[1]["llamafactory"] else "warn")


def test_a_missing_package_fails_only_where_it_is_needed():
    try:
        metadata.version("vllm")
        return  # installed here: nothing missing to test with
    except metadata.PackageNotFoundError:
        pass
    assert {r.name: r for r in version_checks(gpu=False)}["vllm"].status == INFO
    needed = {r.name: r for r in version_checks(gpu=False, needed=frozenset({"vllm"}))}["vllm"]
    assert needed.status == FAIL and "this target needs it" in needed.note
