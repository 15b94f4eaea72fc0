"""The installed versions of the packages a GPU target runs on, against the project's pins (requirements*.txt).

The GPU set is requirements.txt (with the files it includes), the CPU set requirements-cpu.txt (torch 2.13.0, a CPU
build, is installed by scripts/install.sh before it). A version that differs from its pin is a warning (a bring-your-
own environment may differ on purpose); a package that is missing fails only the targets that need it.

>>> pins_in(Path(__file__).resolve().parents[1] / "requirements.txt")["transformers"]
'4.57.1'
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from .report import FAIL, INFO, OK, WARN, Check

ROOT = Path(__file__).resolve().parents[1]
GPU_SET = "requirements.txt"
CPU_SET = "requirements-cpu.txt"
CPU_TORCH = "2.13.0"  # scripts/install.sh installs it before the CPU set (a CPU build; the file has no torch line)
# What doctor shows, in this order: LLaMA-Factory and what it trains with, then the optional GPU pieces.
PACKAGES = ("llamafactory", "transformers", "peft", "trl", "deepspeed", "bitsandbytes", "vllm")
_PIN = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins_in(path: Path, _seen: frozenset = frozenset()) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line in a requirements file and the files it includes (-r)."""
    pins: dict[str, str] = {}
    if path in _seen or not path.is_file():
        return pins
    for line in path.read_text(encoding="utf-8").splitlines():
        include = re.match(r"^\s*-r\s+(\S+)", line)
        if include:
            pins.update(pins_in(path.parent / include[1], _seen | {path}))
        elif match := _PIN.match(line):
            pins[_normal(match[1])] = match[2]
    return pins


def pin_set(gpu: bool, root: Path = ROOT) -> tuple[str, dict[str, str]]:
    """(file name, pins) of the set this machine should have: the GPU set with a CUDA GPU, else the CPU set."""
    if gpu:
        return GPU_SET, pins_in(root / GPU_SET)
    return CPU_SET, {"torch": CPU_TORCH, **pins_in(root / CPU_SET)}


def installed(name: str) -> str | None:
    """The installed distribution's version (package metadata: nothing is imported), None when not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def version_checks(gpu: bool, needed: frozenset[str] = frozenset(), root: Path = ROOT) -> list[Check]:
    """One row per package of :data:`PACKAGES`; a missing package in ``needed`` fails, any other missing one is info."""
    set_name, pins = pin_set(gpu, root)
    rows = []
    for name in PACKAGES:
        have, pin = installed(name), pins.get(_normal(name))
        pinned = f"pin {pin} ({set_name})" if pin else f"not in {set_name}"
        if have is None:
            status = FAIL if name in needed else INFO
            note = f"not installed ({pinned}); this target needs it" if name in needed else pinned
            rows.append(Check(name, status, "not installed", note))
        elif pin and have != pin:
            rows.append(Check(name, WARN, have, f"{pinned}: not the tested version"))
        else:
            rows.append(Check(name, OK, have, pinned if pin else ""))
    return rows


def torch_pin_note(torch_version: str | None, gpu: bool, root: Path = ROOT) -> str:
    """'' when torch matches its pin, else a note for the torch row."""
    set_name, pins = pin_set(gpu, root)
    pin = pins.get("torch")
    if not torch_version or not pin or torch_version.split("+")[0] == pin:
        return ""
    return f"pin {pin} ({set_name}); a bring-your-own torch is fine when LLaMA-Factory accepts it"
