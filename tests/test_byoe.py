"""Bring your own environment and offline wheelhouses (scripts/byoe.py, scripts/wheelhouse.py), for real.

A "pretend GPU image": a fresh venv of this Python with this venv's torch (pip takes the same file: the pip cache,
or the CPU wheel on disk) and transformers 5.17.0, as the GPU images have. `make wheelhouse` builds the wheels for
that interpreter with TARGET_TORCH set; `make setup BYO_PYTHON=... WHEELHOUSE=...` then runs with no network (in a
network namespace of its own where `unshare` allows, else with every proxy pointed at a closed port, and pip's own
configuration out of the way) and must install the missing pins, replace transformers 5.17.0 by the pin, and leave
every file of torch as it was; `make data` then runs through that interpreter.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from conftest import ROOT, SHARED_CLUENER
from make_project import copy_front_door

TORCH = metadata.version("torch")
IMAGE_TRANSFORMERS = "5.17.0"  # the GPU images' transformers 5 line: llamafactory 0.9.5 refuses it
PYTHON_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"
DEAD_PROXY = "http://127.0.0.1:9"


def run(command: list[str], cwd: Path = ROOT, env: dict | None = None, timeout: float = 1800):
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def offline(command: list[str]) -> tuple[list[str], dict]:
    """COMMAND with no network: its own network namespace when unshare allows, and in any case every proxy at a
    closed port and no pip configuration (this machine's find-links and extra indexes)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_") and "proxy" not in k.lower()}
    env |= {"PIP_CONFIG_FILE": os.devnull, "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY,
            "HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY}
    unshare = shutil.which("unshare")
    if unshare and run([unshare, "-rn", "true"]).returncode == 0:
        command = [unshare, "-rn", *command]
    return command, env


def torch_files(python: Path) -> str:
    """A digest of the path, size and mtime of every file of the interpreter's torch (package and dist-info)."""
    listed = run([str(python), "-c", (
        "import importlib.metadata as m; d = m.distribution('torch');"
        "print('\\n'.join(str(d.locate_file(f)) for f in d.files))")])
    assert listed.returncode == 0, listed.stderr
    digest = hashlib.sha256()
    for name in sorted(listed.stdout.split()):
        path = Path(name)
        if path.exists():
            stat = path.stat()
            digest.update(f"{name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    """The pretend GPU image's python: this venv's torch and transformers 5.17.0, nothing of the project."""
    folder = tmp_path_factory.mktemp("image")
    assert run([sys.executable, "-m", "venv", str(folder)]).returncode == 0
    python = folder / "bin" / "python"
    installed = run([str(python), "-m", "pip", "install", "-q", f"torch=={TORCH.split('+')[0]}",
                     f"transformers=={IMAGE_TRANSFORMERS}"])
    assert installed.returncode == 0, installed.stderr[-3000:]
    version = run([str(python), "-c", "import importlib.metadata as m; print(m.version('torch'))"]).stdout.strip()
    assert version == TORCH, f"the image took torch {version}, not this venv's {TORCH}"
    return python


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """`make wheelhouse` for this Python on this platform, TARGET_TORCH = the image's torch."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    built = run(["make", "--no-print-directory", "wheelhouse", f"WHEELHOUSE={folder}",
                 f"WHEELHOUSE_PYTHON={sys.executable}",
                 f"TARGET_PYTHON={PYTHON_VERSION}", f"TARGET_TORCH={TORCH.split('+')[0]}"])
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    return folder


def test_wheelhouse_without_torch_holds_the_built_sdists_and_no_torch(wheelhouse):
    manifest = json.loads((wheelhouse / "wheelhouse.json").read_text())
    names = set(manifest["files"])
    assert manifest["target_torch"] == TORCH.split("+")[0] and "torch" in manifest["skipped_with_torch"]
    assert not [n for n in names if re.match(r"(torch|torchvision|nvidia_|triton)-", n)], names
    assert [n for n in names if n.startswith("aiohttp-")], names  # datasets needs fsspec[http]: the extra is followed
    for sdist_only in ("deepspeed-0.16.9", "jieba-0.42.1"):  # no wheel on PyPI: built here, pure Python
        assert f"{sdist_only}-py3-none-any.whl" in names
    assert "llamafactory-0.9.5-py3-none-any.whl" in names and "transformers-4.57.1-py3-none-any.whl" in names
    assert manifest["bytes"] == sum(p.stat().st_size for p in wheelhouse.glob("*.whl"))


def test_setup_from_the_wheelhouse_offline_installs_the_missing_pins_and_keeps_torch(image, wheelhouse, tmp_path):
    project = copy_front_door(tmp_path / "project")
    before = torch_files(image)
    command, env = offline(["make", "--no-print-directory", "setup", f"BYO_PYTHON={image}", f"WHEELHOUSE={wheelhouse}"])
    setup = run(command, cwd=project, env=env)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    out = setup.stdout
    assert f"keep    torch {TORCH} (llamafactory 0.9.5 accepts it)" in out
    assert re.search(rf"install transformers==4\.57\.1 +pin; installed {re.escape(IMAGE_TRANSFORMERS)} differs", out)
    assert re.search(r"install deepspeed==0\.16\.9 +pin; missing", out)
    assert re.search(r"install llamafactory==0\.9\.5 +pin; missing", out)
    assert not re.search(r"install (torch|torchvision|vllm)==", out), out
    assert torch_files(image) == before, "torch's files changed"
    versions = run([str(image), "-c", (
        "import importlib.metadata as m;"
        "print(*(m.version(n) for n in ('torch', 'transformers', 'llamafactory', 'deepspeed')))")])
    assert versions.stdout.split() == [TORCH, "4.57.1", "0.9.5", "0.16.9"]

    venv = project / ".byoe" / str(image).replace("/", "_")
    for name in ("python", "llamafactory-cli", "torchrun"):
        assert (venv / "bin" / name).is_file()
    cli = run([str(venv / "bin" / "llamafactory-cli"), "version"])
    assert cli.returncode == 0 and "0.9.5" in cli.stdout, cli.stderr[-2000:]

    plan = run([str(image), "-m", "scripts.byoe", "--dest", str(venv), "--wheelhouse", str(wheelhouse), "--plan"],
               cwd=project, env=offline(["true"])[1])
    assert plan.returncode == 0 and "nothing to install: every pin is there" in plan.stdout, plan.stderr[-2000:]

    data = run(["make", "--no-print-directory", "data", f"BYO_PYTHON={image}", f"CLUENER_DIR={SHARED_CLUENER}"],
               cwd=project)
    assert data.returncode == 0, data.stderr[-3000:]
    assert (project / "data" / "manifest.json").is_file()  # what every later target checks (make check-data)


def test_a_pin_that_would_change_torch_is_refused_in_one_line(image, tmp_path):
    # vLLM 0.11.0 pins torch==2.8.0: asking for it beside another torch must not replace that torch (pip resolves it
    # against the index here: this one needs the network).
    before = torch_files(image)
    refused = run([str(image), "-m", "scripts.byoe", "--dest", str(tmp_path / "env"), "--vllm", "--plan"])
    line = one_error_line(refused)
    assert "vllm 0.11.0 depends on torch==2.8.0" in line and "ALLOW_TORCH_CHANGE=1" in line, line
    assert torch_files(image) == before


def test_a_python_without_torch_is_refused_in_one_line(tmp_path):
    assert run([sys.executable, "-m", "venv", str(tmp_path / "bare")]).returncode == 0
    refused = run([str(tmp_path / "bare" / "bin" / "python"), "-m", "scripts.byoe", "--dest", str(tmp_path / "env")])
    assert "has no torch" in one_error_line(refused)


def test_make_wheelhouse_needs_a_folder():
    refused = run(["make", "--no-print-directory", "wheelhouse"])
    assert "make wheelhouse needs WHEELHOUSE=<dir>" in one_error_line(refused)


def test_llamafactory_refuses_a_torch_before_2_4_from_its_own_metadata(wheelhouse):
    from scripts import pins

    requirements = pins.llamafactory_requirements(next(wheelhouse.glob("llamafactory-0.9.5-*.whl")))
    assert pins.torch_refusal("2.3.1", requirements) == "llamafactory 0.9.5 requires torch>=2.4.0"
    assert pins.torch_refusal("2.11.0+cu130", requirements) is None
    assert not [r for r in requirements if pins.name_of(r) == "torchvision"]  # never installed for llamafactory
    installed = metadata.requires("llamafactory")  # the same requirement in this venv's llamafactory
    assert "torch>=2.4.0" in installed
