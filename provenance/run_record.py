"""Record how a training run is started: ``<output_dir>/run_command.json``, read later by :mod:`eval.run_card`.

    python -m provenance.run_record RECIPE_YAML [key=value ...]

``make train`` runs this just before ``llamafactory-cli train RECIPE_YAML key=value ...`` with the same arguments.
It writes, atomically, into the run's output folder (the recipe's ``output_dir`` unless an override sets it):

- ``recipe`` (the YAML path), ``overrides`` (the ``key=value`` list as given) and ``config`` (the recipe with the
  overrides applied, values read as YAML);
- ``git``: commit and whether tracked files differed from it (``dirty``), or ``unknown`` outside a git checkout;
- ``versions`` of torch, transformers, peft, llamafactory, deepspeed (``null``: not installed);
- ``hardware``: GPU names and count (``nvidia-smi``), else the CPU model and core count;
- ``world_size``: training processes, from the launcher variables (``NNODES`` x ``NPROC_PER_NODE``) or the GPU count
  (LLaMA-Factory starts one process per visible GPU), with how it was found;
- ``started_at`` (UTC).

A file LLaMA-Factory does not count as a checkpoint, so it does not stop LLaMA-Factory from training (or resuming)
in that folder. Nothing here imports torch: recording takes well under a second.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Sequence

from cluener.files import atomic_write_json
from cluener.yaml_files import apply_overrides, read_mapping

RECORD_FILE = "run_command.json"
PACKAGES = ("torch", "transformers", "peft", "llamafactory", "deepspeed")
UNKNOWN = "unknown"


class RecordError(ValueError):
    """A recipe or override that cannot be read. ``str()`` is one line."""


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> dict:
    """The recipe with the overrides applied; an override that is not YAML is kept as written (LLaMA-Factory
    decides about it, the record only reports it)."""
    config = read_mapping(path, error=RecordError)
    return apply_overrides(config, overrides, strict=False, error=RecordError)


def _run(args: list[str], cwd: str | Path | None = None) -> str | None:
    try:
        result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def git_state(cwd: str | Path = ".") -> dict | str:
    """``{"commit", "dirty"}``, or ``unknown`` when ``cwd`` is not in a git checkout (or git is missing)."""
    commit = _run(["git", "rev-parse", "HEAD"], cwd)
    if not commit:
        return UNKNOWN
    status = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd)
    return {"commit": commit.strip(), "dirty": UNKNOWN if status is None else bool(status.strip())}


def versions(packages: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def gpu_names() -> list[str]:
    """Visible NVIDIA GPUs (honours ``CUDA_VISIBLE_DEVICES`` given as indices), or [] without nvidia-smi."""
    if not shutil.which("nvidia-smi"):
        return []
    out = _run(["nvidia-smi", "--query-gpu=index,name", "--format=csv,noheader"])
    if not out:
        return []
    gpus = [tuple(part.strip() for part in line.split(",", 1)) for line in out.splitlines() if "," in line]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        wanted = [v.strip() for v in visible.split(",") if v.strip()]
        if all(v.isdigit() for v in wanted):
            gpus = [g for g in gpus if g[0] in wanted]
    return [name for _, name in gpus]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or UNKNOWN


def hardware() -> dict:
    gpus = gpu_names()
    if gpus:
        return {"kind": "gpu", "gpus": gpus, "gpu_count": len(gpus)}
    return {"kind": "cpu", "cpu": cpu_model(), "cpu_count": os.cpu_count()}


def world_size(env: dict | None = None, gpu_count: int = 0) -> dict:
    env = os.environ if env is None else env
    nproc, nnodes = env.get("NPROC_PER_NODE"), env.get("NNODES")
    if nproc and nproc.isdigit():
        nodes = int(nnodes) if nnodes and nnodes.isdigit() else 1
        return {"processes": int(nproc) * nodes, "how": f"NPROC_PER_NODE={nproc} x NNODES={nodes}"}
    if gpu_count > 1:
        return {"processes": gpu_count, "how": f"{gpu_count} visible GPUs (one process each)"}
    return {"processes": 1, "how": "one process (no launcher variables, at most one GPU)"}


def build_record(recipe: str | Path, overrides: Sequence[str], cwd: str | Path = ".") -> dict:
    config = load_recipe(recipe, overrides)
    hw = hardware()
    return {
        "recipe": str(recipe),
        "overrides": list(overrides),
        "command": "llamafactory-cli train " + " ".join([str(recipe), *overrides]),
        "config": config,
        "git": git_state(cwd),
        "versions": versions(),
        "python": platform.python_version(),
        "hardware": hw,
        "world_size": world_size(gpu_count=hw.get("gpu_count", 0)),
        "launcher_env": {
            k: os.environ[k]
            for k in ("FORCE_TORCHRUN", "NPROC_PER_NODE", "NNODES", "NODE_RANK", "CUDA_VISIBLE_DEVICES")
            if k in os.environ
        },
        "started_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def record(recipe: str | Path, overrides: Sequence[str] = (), cwd: str | Path = ".") -> Path:
    """Write ``<output_dir>/run_command.json``; returns its path."""
    rec = build_record(recipe, overrides, cwd)
    output_dir = rec["config"].get("output_dir")
    if not output_dir or not isinstance(output_dir, str):
        raise RecordError(f"{recipe}: no output_dir in the recipe or the overrides")
    return atomic_write_json(Path(cwd) / output_dir / RECORD_FILE, rec)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    try:
        path = record(argv[0], argv[1:])
    except RecordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"recorded {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
