"""pyproject.toml: the package installs (outside the repository, with no network) with every module of its packages,
its console commands resolve and run, and its dependencies are the requirements files' pins."""

from __future__ import annotations

import ast
import configparser
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = PROJECT["tool"]["setuptools"]["packages"]
SCRIPTS = PROJECT["project"]["scripts"]


def pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file (names normalised as pip does)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", line)
        if match:
            out[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return out


def test_the_dependencies_are_the_requirements_pins():
    """The package's dependencies are the light set's pins (what the torch-free packages import), its ``train``
    extra and those together are exactly requirements-common.txt (the GPU and CPU sets include it)."""
    core = pins_of(PROJECT["project"]["dependencies"])
    train = pins_of(PROJECT["project"]["optional-dependencies"]["train"])
    light, common = pins(ROOT / "requirements-light.txt"), pins(ROOT / "requirements-common.txt")
    assert {name: light.get(name) for name in core} == core
    assert {name: common.get(name) for name in train} == train
    assert {name: version for name, version in (core | train).items() if name in common} == common


def pins_of(requirements: list[str]) -> dict[str, str]:
    out = {}
    for requirement in requirements:
        name, sep, version = requirement.partition("==")
        assert sep and version, f"{requirement}: not pinned"
        out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """``pip install --no-deps --no-build-isolation --no-index --target SITE`` of a copy of the project (the build
    writes nothing into the repository): what ``pip install .`` puts into an environment."""
    tmp = tmp_path_factory.mktemp("package")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in {name.split(".")[0] for name in PACKAGES}:
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-build-isolation", "--no-index", "--target", str(site), str(source)],
        cwd=tmp, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return site


def test_every_module_and_data_file_of_the_packages_is_installed(installed):
    for package in PACKAGES:
        folder = ROOT / package.replace(".", "/")
        expected = {path.name for path in folder.glob("*.py")}
        assert expected and {path.name for path in (installed / folder.relative_to(ROOT)).glob("*.py")} == expected
    assert (installed / "eval" / "baselines.json").read_bytes() == (ROOT / "eval" / "baselines.json").read_bytes()
    assert not (installed / "scripts").exists() and not (installed / "tests").exists()


def test_the_console_commands_are_the_declared_ones_and_resolve_in_the_installed_copy(installed):
    """entry_points.txt says what pyproject says; each ``module:function`` is a module of the installed copy (not of
    the repository) that defines that function."""
    (dist_info,) = installed.glob("cluener_llamafactory-*.dist-info")
    entry_points = configparser.ConfigParser()
    entry_points.read(dist_info / "entry_points.txt")
    assert dict(entry_points["console_scripts"]) == SCRIPTS
    for name, target in SCRIPTS.items():
        module, _, function = target.partition(":")
        path = installed / (module.replace(".", "/") + ".py")
        defined = {node.name for node in ast.parse(path.read_text(encoding="utf-8")).body
                   if isinstance(node, ast.FunctionDef)}  # fmt: skip
        assert function in defined, f"{name} = {target}: no function {function} in {path}"
        assert (installed / "bin" / name).is_file()


def run_installed(installed: Path, *command: str) -> subprocess.CompletedProcess:
    """A console command of the installed copy, run outside the repository with only that copy on the path."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"PYTHONPATH": str(installed)}
    return subprocess.run([str(installed / "bin" / command[0]), *command[1:]], cwd=installed.parent, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_the_torch_free_console_commands_run_from_the_installed_copy(installed):
    where = run_installed(installed, "cluener-layout", "check", "--split", "dev")
    assert where.returncode == 0, where.stderr
    bad = run_installed(installed, "cluener-layout", "check", "--split", "nope")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "nope" in bad.stderr
    for command in ("cluener-data", "cluener-download", "cluener-eval", "cluener-infer"):
        help_text = run_installed(installed, command, "--help")
        assert help_text.returncode == 0 and "usage:" in help_text.stdout, (command, help_text.stderr[-2000:])
    record = run_installed(installed, "cluener-record", "no_such_recipe.yaml")
    assert record.returncode == 1 and record.stderr == "error: no_such_recipe.yaml: not found\n"
    origin = subprocess.run(
        [sys.executable, "-c", "import dataprep.build as m; print(m.__file__)"], cwd=installed.parent,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"PYTHONPATH": str(installed)},
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert Path(origin).is_relative_to(installed)
