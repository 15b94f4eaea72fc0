"""tests/light_tier.py: every test module is light or listed heavy, and what the light tier imports pulls in no torch.

Run in the full environment (where torch is installed) this is what proves the light modules import none of it; in
the light environment (none installed) importing one would fail outright.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest
from light_tier import HEAVY_IMPORTS, HEAVY_MODULES, LIGHT_PACKAGES, is_light_module

from conftest import ROOT

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

TEST_MODULES = sorted(path.name for path in (ROOT / "tests").glob("test_*.py"))
LIGHT_MODULES = [name for name in TEST_MODULES if is_light_module(ROOT / "tests" / name)]


def test_every_test_module_is_light_or_listed_heavy_with_a_reason():
    heavy = [name for name in TEST_MODULES if name not in LIGHT_MODULES]
    assert sorted(HEAVY_MODULES) == heavy, "mark a new test module light, or list it in light_tier.HEAVY_MODULES"
    assert len(LIGHT_MODULES) >= 28 and "test_light_tier.py" in LIGHT_MODULES


def package_modules() -> list[str]:
    names = []
    for package in LIGHT_PACKAGES:
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}.")]
    return names


def test_the_light_modules_and_packages_import_no_torch():
    """Each light test module and each module of the light packages, imported in a fresh interpreter (as pytest does:
    tests/, the project and scripts/ on the path), leaves none of HEAVY_IMPORTS in sys.modules."""
    modules = [name.removesuffix(".py") for name in LIGHT_MODULES] + package_modules()
    script = (
        "import importlib, json, sys\n"
        f"sys.path[:0] = [{str(ROOT / 'tests')!r}, {str(ROOT)!r}]\n"
        "found = {}\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name)\n"
        f"    found[name] = sorted(m for m in {HEAVY_IMPORTS!r} if m in sys.modules)\n"
        "    if found[name]: break\n"
        "print(json.dumps(found))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, *modules], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout)
    assert sorted(found) == sorted(modules)
    assert {name: heavy for name, heavy in found.items() if heavy} == {}
