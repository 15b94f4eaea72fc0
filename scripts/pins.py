"""The project's pins, for environments it does not build itself: bring your own (scripts/byoe.py) and wheelhouses
(scripts/wheelhouse.py). Standard library and pip only: it runs under whatever Python the user brings.

The bring-your-own set is every pin of the GPU set (requirements.txt) and of the CPU set (requirements-cpu.txt, for
`make test` and the tiny model's Qwen BPE), less two things:
- the torch trio (torch, torchvision, torchaudio): the environment's own build, matched to its CUDA; the pins never
  replace it. llamafactory lists torchvision but never imports it, so it is not installed for it either.
- vLLM: 0.11.0 pins torch==2.8.0 (and its CUDA 12.8 build) and fails under transformers 5, so in an environment
  with any other torch it would replace that torch. It lives in its own environment and is reached over HTTP
  (`make predict-api`); --vllm asks for it where the torch is 2.8.0.

llamafactory itself is installed without its dependencies; its requirements (read from its wheel's METADATA) are
installed instead, less torchvision: that is what keeps pip from installing a torchvision pinned to some torch.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version
except ImportError:  # an image without packaging: pip always carries it
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name
    from pip._vendor.packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
GPU_SET = ROOT / "requirements.txt"
CPU_SET = ROOT / "requirements-cpu.txt"
VLLM_SET = ROOT / "requirements-vllm.txt"
TORCH_TRIO = ("torch", "torchvision", "torchaudio")
NEVER_INSTALLED = ("torchvision",)  # llamafactory lists it, never imports it; it must match the torch build
LLAMAFACTORY = "llamafactory"


class PinError(Exception):
    """A requirement file or a wheel the pins come from is unusable; the message names it."""


def read_requirements(path: Path) -> list[str]:
    """The requirement lines of PATH and of the files it includes with -r, in order, without comments."""
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            lines += read_requirements(path.parent / line[3:].strip())
        elif line.startswith("-"):
            raise PinError(f"{path}:{number}: option {line!r}: only pins and -r includes are read here")
        else:
            lines.append(line)
    return lines


def name_of(requirement: str) -> str:
    return canonicalize_name(Requirement(requirement).name)


def pinned_version(requirement: str) -> str | None:
    """The version of a NAME==VERSION pin, else None."""
    specs = list(Requirement(requirement).specifier)
    return specs[0].version if len(specs) == 1 and specs[0].operator == "==" else None


def _union(*sets: list[str]) -> list[str]:
    seen, out = set(), []
    for requirement in (r for pins in sets for r in pins):
        if name_of(requirement) not in seen:
            seen.add(name_of(requirement))
            out.append(requirement)
    return out


def project_pins(with_torch: bool, with_vllm: bool) -> list[str]:
    """The GPU set's and the CPU set's pins (the GPU set wins where both pin), less the torch trio unless
    WITH_TORCH and less vLLM unless WITH_VLLM."""
    pins = _union(read_requirements(GPU_SET), read_requirements(CPU_SET))
    if not with_torch:
        pins = [p for p in pins if name_of(p) not in TORCH_TRIO]
    if not with_vllm:
        vllm = {name_of(p) for p in read_requirements(VLLM_SET)}
        pins = [p for p in pins if name_of(p) not in vllm]
    return pins


def llamafactory_pin() -> str:
    return next(p for p in read_requirements(GPU_SET) if name_of(p) == LLAMAFACTORY)


def wheel_requirements(wheel: Path) -> list[str]:
    """A wheel's Requires-Dist lines that apply without extras (markers on extras dropped)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            metadata = next(n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
            text = archive.read(metadata).decode("utf-8")
    except (OSError, zipfile.BadZipFile, StopIteration) as exc:
        raise PinError(f"{wheel}: not a readable wheel ({exc})") from exc
    out = []
    for line in text.splitlines():
        if line.startswith("Requires-Dist:"):
            requirement = line.split(":", 1)[1].strip()
            marker = Requirement(requirement).marker
            if marker is None or "extra" not in str(marker):
                out.append(requirement)
    return out


def llamafactory_requirements(wheel: Path) -> list[str]:
    """What llamafactory's wheel requires, less what is never installed for it (torchvision)."""
    return [r for r in wheel_requirements(wheel) if name_of(r) not in NEVER_INSTALLED]


def torch_refusal(installed: str, lf_requirements: list[str]) -> str | None:
    """Why llamafactory does not accept torch INSTALLED (from its own requirement), or None when it does."""
    torch = next((Requirement(r) for r in lf_requirements if name_of(r) == "torch"), None)
    if torch is None or torch.specifier.contains(Version(installed).public, prereleases=True):
        return None
    return f"llamafactory 0.9.5 requires torch{torch.specifier}"


def matching_torchaudio(torch: str) -> str:
    """The torchaudio released with torch TORCH (same version). Its compiled extension is bound to that torch:
    torchaudio 2.11.1 asks for torch>=2.11 but does not load beside torch 2.11.0."""
    return f"torchaudio=={Version(torch).public}"


def manylinux_platforms(platform: str) -> list[str]:
    """pip's --platform takes one tag each and does not widen manylinux_2_N to older glibc: the list a machine of
    glibc 2.N accepts (manylinux_2_N down to 2_5, with the legacy names), or PLATFORM alone for other tags."""
    match = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if not match:
        return [platform]
    glibc, arch = int(match.group(1)), match.group(2)
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{name}_{arch}" for minor, name in legacy.items() if glibc >= minor]
