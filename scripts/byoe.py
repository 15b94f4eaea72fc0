"""Bring your own environment: make an existing Python that already has torch (a GPU image, a conda env, a cluster
module) run every Makefile target, without a new venv and without touching its torch.

    BYO_PYTHON -m scripts.byoe --dest DIR [--wheelhouse DIR] [--vllm] [--allow-torch-change] [--plan]

Run by that Python itself (`make setup BYO_PYTHON=/usr/bin/python3` does). It installs into that interpreter's own
environment, as `python -m pip install` would (a conda env, a venv, the image's site-packages; pip itself falls back
to the user site when that is read-only): the way every pip user expects, and the only way every tool a target
starts (torchrun, LLaMA-Factory's workers, DeepSpeed) sees the same packages, with no PYTHONPATH to leak into other
interpreters. Only what is missing or at another version is installed (pins: scripts/pins.py), each printed with
the reason; torch, and torchaudio when present, are held at the installed build. A torch that llamafactory does not
accept, or a pin that would change torch, is refused in one line unless --allow-torch-change.
DIR/bin then holds python, llamafactory-cli and torchrun, small scripts that run that interpreter, so that the
Makefile's $(VENV)/bin/... paths work unchanged with VENV=DIR; DIR/.installed is the Makefile's stamp.
--wheelhouse installs from a `make wheelhouse` folder with no network (pip --no-index); --plan prints the plan only.
"""
from __future__ import annotations

import sys

if sys.version_info < (3, 11):  # before anything newer is parsed or imported
    sys.exit(f"error: {sys.executable} is Python {sys.version.split()[0]}: llamafactory 0.9.5 needs Python >= 3.11")

import argparse
import json
import os
import re
import shlex
import subprocess
import sysconfig
import tempfile
from importlib import metadata
from pathlib import Path

from scripts import pins

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
WRAPPED_SCRIPTS = ("llamafactory-cli", "torchrun")  # what the Makefile and LLaMA-Factory's launcher start by name


class SetupError(Exception):
    """Stops the setup; the message is the one line the user sees."""


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_interpreter() -> str:
    """The installed torch version, once the interpreter is found fit for pip installs."""
    torch = installed("torch")
    if torch is None:
        raise SetupError(f"{sys.executable} has no torch: bring your own environment keeps an existing torch; "
                         "without one, `make setup` builds .venv with its own")
    pip_version = tuple(int(x) for x in re.findall(r"\d+", installed("pip") or "0")[:2])
    if pip_version < (22, 2):
        raise SetupError(f"{sys.executable}: pip {installed('pip')} has no `install --dry-run --report` (pip >= 22.2)")
    marker = Path(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
    if marker.exists() and sys.prefix == sys.base_prefix and not os.environ.get("PIP_BREAK_SYSTEM_PACKAGES"):
        raise SetupError(f"{marker}: this Python's packages belong to the system package manager (PEP 668): set "
                         "PIP_BREAK_SYSTEM_PACKAGES=1 to install into it anyway, or bring a conda env or a "
                         "`python -m venv --system-site-packages` venv")
    return torch


def source_args(wheelhouse: Path | None) -> list[str]:
    return ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []


def llamafactory_wheel(wheelhouse: Path | None, scratch: Path) -> Path:
    """llamafactory's wheel: from the wheelhouse, else downloaded (its METADATA says what it requires)."""
    pin = pins.llamafactory_pin()
    name, version = pins.name_of(pin), pins.pinned_version(pin)
    folder = wheelhouse or scratch
    if not wheelhouse:
        run_pip(["download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(scratch), pin], f"download {pin}")
    found = sorted(folder.glob(f"{name}-{version}-*.whl"))
    if not found:
        raise SetupError(f"{folder}: no {name}-{version} wheel (build the wheelhouse with `make wheelhouse`)")
    return found[0]


def run_pip(args: list[str], what: str) -> None:
    done = subprocess.run(PIP + args, capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupError(f"pip could not {what}: {pip_reason(done.stdout + done.stderr)}")


def pip_reason(stderr: str) -> str:
    """pip's own reason in one line: the missing distribution, or the conflict's causes."""
    missing = re.search(r"No matching distribution found for (\S+)", stderr)
    if missing:
        return f"no distribution of {missing.group(1)} to install from"
    causes = re.search(r"The conflict is caused by:\n(.*?)\n\n", stderr, re.S)
    if causes:
        return "; ".join(line.strip() for line in causes.group(1).splitlines() if line.strip())
    lines = [line.strip() for line in stderr.splitlines() if line.strip().startswith("ERROR")]
    return (lines or [line.strip() for line in stderr.splitlines() if line.strip()] or ["(no message)"])[-1]


def held(torch: str, allow_torch_change: bool) -> list[str]:
    """Constraints that keep the installed torch build (and torchaudio, when there) where it is."""
    if allow_torch_change:
        return []
    out = [f"torch=={torch}"]
    out.append(f"torchaudio=={installed('torchaudio')}" if installed("torchaudio") else pins.matching_torchaudio(torch))
    return out


def resolve(requirements: list[str], constraints: list[str], wheelhouse: Path | None, scratch: Path) -> list[dict]:
    """What pip would install into this environment for REQUIREMENTS: [{name, version, requested}]."""
    (scratch / "constraints.txt").write_text("".join(f"{c}\n" for c in constraints), encoding="utf-8")
    (scratch / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements), encoding="utf-8")
    report = scratch / "report.json"
    beside = f" beside the installed {', '.join(constraints)}" if constraints else ""
    try:
        run_pip(["install", "--dry-run", "--report", str(report), "-c", str(scratch / "constraints.txt"),
                 "-r", str(scratch / "requirements.txt"), *source_args(wheelhouse)],
                "resolve the project's pins" + beside)
    except SetupError as exc:
        if not (constraints and re.search(r"\btorch==", str(exc).split(": ", 1)[-1])):
            raise
        raise SetupError(f"{exc}; refusing to change torch: ALLOW_TORCH_CHANGE=1 lets pip replace it") from None
    items = json.loads(report.read_text(encoding="utf-8"))["install"]
    return [{"name": i["metadata"]["name"], "version": i["metadata"]["version"], "requested": i["requested"]}
            for i in items]


def plan_lines(plan: list[dict], project: set[str], lf_needs: set[str]) -> list[str]:
    lines = []
    for item in sorted(plan, key=lambda i: pins.canonicalize_name(i["name"])):
        name = pins.canonicalize_name(item["name"])
        why = "pin" if name in project else "llamafactory needs it" if name in lf_needs else "dependency"
        have = installed(item["name"])
        state = "missing" if have is None else f"installed {have} differs"
        lines.append(f"  install {item['name'] + '==' + item['version']:<34} {why}; {state}")
    return lines


def unload_torchaudio_extension() -> None:
    """llamafactory imports torchaudio at module level (for audio inputs, which CLUENER never has). A torchaudio whose
    compiled extension does not load beside this torch (the index's CUDA build beside a CPU torch, or no torchaudio
    released with this torch) would stop every target: torchaudio loads lib/*.so only when present (its documented
    pex layout), so they go, as in `make setup`'s CPU set (scripts/install.sh). Only when the import fails so."""
    probe = subprocess.run([sys.executable, "-c", "import torch, torchaudio"], capture_output=True, text=True)
    if probe.returncode == 0 or "torchaudio/lib/" not in probe.stderr:
        return
    lib = Path(metadata.distribution("torchaudio").locate_file("torchaudio/lib"))
    for extension in lib.glob("*.so"):
        extension.unlink()
    print(f"  note    torchaudio {installed('torchaudio')}'s compiled extension does not load beside torch "
          f"{installed('torch')}: removed (llamafactory only imports torchaudio; no audio here)")


def write_bin(dest: Path) -> None:
    """DEST/bin/{python,llamafactory-cli,torchrun}: run this interpreter (the Makefile's $(VENV)/bin paths)."""
    found = subprocess.run([sys.executable, "-c", (
        "import json, importlib.metadata as m; names = set(json.loads(input()));"
        "print(json.dumps({e.name: e.value for e in m.entry_points(group='console_scripts') if e.name in names}))")],
        input=json.dumps(WRAPPED_SCRIPTS), capture_output=True, text=True, check=True)
    entry_points = json.loads(found.stdout)
    missing = [name for name in WRAPPED_SCRIPTS if name not in entry_points]
    if missing:
        raise SetupError(f"{sys.executable}: no console script {', '.join(missing)} after the install")
    bin_dir = dest / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    python = shlex.quote(sys.executable)
    scripts = {"python": f'exec {python} "$@"'}
    for name, value in entry_points.items():
        module, function = value.split(":")
        code = f"import sys; from {module} import {function} as main; sys.argv[0] = {name!r}; sys.exit(main())"
        scripts[name] = f'exec {python} -c {shlex.quote(code)} "$@"'
    for name, body in scripts.items():
        path = bin_dir / name
        temporary = path.with_name(f".{name}.tmp")
        temporary.write_text(f"#!/bin/sh\n# bring your own environment: {sys.executable} (scripts/byoe.py)\n{body}\n")
        temporary.chmod(0o755)
        temporary.replace(path)


def setup(args: argparse.Namespace) -> None:
    torch = check_interpreter()
    wheelhouse = args.wheelhouse.resolve() if args.wheelhouse else None
    if wheelhouse and not wheelhouse.is_dir():
        raise SetupError(f"WHEELHOUSE={args.wheelhouse}: no such folder")
    with tempfile.TemporaryDirectory(prefix="byoe-") as scratch_name:
        scratch = Path(scratch_name)
        lf_wheel = llamafactory_wheel(wheelhouse, scratch)
        lf_needs = pins.llamafactory_requirements(lf_wheel)
        refusal = pins.torch_refusal(torch, lf_needs)
        if refusal and not args.allow_torch_change:
            raise SetupError(f"torch {torch} in {sys.executable} is refused: {refusal}; install such a torch "
                             "yourself, or ALLOW_TORCH_CHANGE=1 lets pip replace it")
        project = pins.project_pins(with_torch=False, with_vllm=args.vllm)
        lf_pin = pins.llamafactory_pin()
        requirements = [p for p in project if p != lf_pin] + lf_needs
        constraints = held(torch, args.allow_torch_change)
        try:
            plan = resolve(requirements, constraints, wheelhouse, scratch)
        except SetupError as exc:  # no torchaudio released with this torch: the newest (unload_torchaudio_extension)
            reason = str(exc).split(": ", 1)[-1]  # pip's words, after the constraints named before them
            if pins.matching_torchaudio(torch) not in constraints or pins.matching_torchaudio(torch) not in reason:
                raise
            plan = resolve(requirements, constraints[:1], wheelhouse, scratch)
        lf_version = pins.pinned_version(lf_pin)
        if installed("llamafactory") != lf_version:
            plan.append({"name": "llamafactory", "version": lf_version, "requested": True})
        print(f"bring your own environment: {sys.executable} (Python {sys.version.split()[0]}, "
              f"{sys.prefix}), {'from ' + str(wheelhouse) + ' (no network)' if wheelhouse else 'from the index'}")
        if not any(pins.canonicalize_name(i["name"]) == "torch" for i in plan):  # else the plan says torch X -> Y
            print(f"  keep    torch {torch} (llamafactory {lf_version} accepts it)")
        print("  skip    torchvision: llamafactory lists it but never imports it; it must match your torch build")
        if not args.vllm:
            print("  skip    vllm: 0.11.0 pins torch==2.8.0 and fails under transformers 5: it runs from its own "
                  "environment, reached over HTTP (README)")
        print("\n".join(plan_lines(plan, {pins.name_of(p) for p in project}, {pins.name_of(r) for r in lf_needs}))
              or "  nothing to install: every pin is there")
        if args.plan:
            return
        if plan:
            exact = [f"{i['name']}=={i['version']}" for i in plan if i["name"] != "llamafactory"]
            exact += [str(lf_wheel)] if any(i["name"] == "llamafactory" for i in plan) else []
            run_pip(["install", "-q", "--no-deps", *source_args(wheelhouse), *exact], "install the plan")
    unload_torchaudio_extension()
    after = subprocess.run([sys.executable, "-c", (
        "import torch, torchaudio, transformers, llamafactory\n"
        "print(f'ok: torch {torch.__version__}, transformers {transformers.__version__}, "
        "llamafactory {llamafactory.__version__}')")], capture_output=True, text=True)
    if after.returncode != 0:
        raise SetupError(f"{sys.executable}: the installed set does not import: {pip_reason(after.stderr)}")
    if installed("torch") != torch and not args.allow_torch_change:
        raise SetupError(f"torch changed from {torch} to {installed('torch')} during the install")
    print(after.stdout.strip())
    write_bin(args.dest)
    stamp = args.dest / ".installed"
    stamp.with_name(".installed.tmp").write_text(f"byoe {sys.executable} torch {installed('torch')}\n")
    stamp.with_name(".installed.tmp").replace(stamp)
    print(f"ready: make <target> BYO_PYTHON={sys.executable} (or VENV={args.dest})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, required=True, help="the folder the Makefile uses as VENV")
    parser.add_argument("--wheelhouse", type=Path, help="install from this `make wheelhouse` folder, no network")
    parser.add_argument("--vllm", action="store_true", help="include vLLM (needs torch 2.8.0)")
    parser.add_argument("--allow-torch-change", action="store_true", help="let pip replace torch when needed")
    parser.add_argument("--plan", action="store_true", help="print what would be installed, install nothing")
    args = parser.parse_args(argv)
    try:
        setup(args)
    except (SetupError, pins.PinError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
