"""Helpers of the eval fault tests (tests/test_bad_input_eval*.py): commands started as real processes, a
read-only folder (a read-only bind mount in a private mount namespace: root ignores chmod), a full disk (a small
tmpfs there; RLIMIT_FSIZE where no namespace is allowed), whether a process has its signal handler yet, and the
small fixtures (the first 3 dev sentences as a gold file, predictions files)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fault_harness import run_cli, write_jsonl

ROOT = Path(__file__).resolve().parents[1]

from cluener import layout  # noqa: E402

SPLIT = layout.REPORTING_SPLIT


def eval_env() -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("API_KEY", None)
    return env


def popen(args: list[str], cwd: Path, prefix: tuple[str, ...] = (), **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*prefix, sys.executable, *args], cwd=cwd, env=eval_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)  # fmt: skip


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def mount_namespace() -> tuple[str, ...] | None:
    """``unshare`` arguments that give a child its own mount namespace (as root, or in a user namespace)."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (("unshare", "-m"), ("unshare", "-r", "-m")):
        probe = subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True)
        if probe.returncode == 0:
            return prefix
    return None


NAMESPACE = mount_namespace()


def run_read_only(folder: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python ARGS`` with ``folder`` read-only for it: a read-only bind mount (root cannot be stopped by chmod)."""
    folder.mkdir(parents=True, exist_ok=True)
    if NAMESPACE is not None:
        script = f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" "{folder}" && exec "$@"'
        return finish(popen(args, cwd, (*NAMESPACE, "sh", "-c", script, "sh")))
    if os.geteuid() == 0:
        pytest.skip("no mount namespace: a read-only folder cannot be made for root here")
    folder.chmod(0o555)
    try:
        return run_cli(args, cwd)
    finally:
        folder.chmod(0o755)


def run_disk_full(
    folder: Path, args: list[str], cwd: Path, fill: bool = False
) -> tuple[subprocess.CompletedProcess, list[str], str]:
    """``python ARGS`` with ``folder`` on a 256 KiB tmpfs (``fill``: filled up first); returns the result, what the
    folder held afterwards and the problem the error must name. Without a namespace: RLIMIT_FSIZE (a write past
    256 KiB, or any write with ``fill``, fails with EFBIG)."""
    folder.mkdir(parents=True, exist_ok=True)
    listing = cwd / "listing.txt"
    if NAMESPACE is not None:
        filler = f'cat /dev/zero > "{folder}/filler" 2>/dev/null; ' if fill else ""
        script = (f'mount -t tmpfs -o size=256k tmpfs "{folder}" && {{ {filler}"$@"; }}; rc=$?; '
                  f'(cd "{folder}" && find . -mindepth 1) > "{listing}"; exit $rc')  # fmt: skip
        proc = finish(popen(args, cwd, (*NAMESPACE, "sh", "-c", script, "sh")))
        return proc, sorted(listing.read_text(encoding="utf-8").split()), "No space left on device"
    size = 0 if fill else 256 * 1024

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    proc = finish(popen(args, cwd, preexec_fn=limit))
    return proc, sorted(f"./{p.relative_to(folder)}" for p in folder.rglob("*")), "File too large"


def catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (from /proc: eval's main module installs one for SIGTERM
    before its heavy imports, so the command is running when this is true)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signum - 1)))


@pytest.fixture(scope="module", name="gold")
def gold_fixture(tmp_path_factory, cluener_dir) -> tuple[Path, list[str]]:
    """The first 3 sentences of the official dev.json (a custom gold file) and their texts."""
    path = tmp_path_factory.mktemp("gold") / "gold3.json"
    lines = (Path(cluener_dir) / layout.RAW_FILES["dev"]).read_text(encoding="utf-8").split("\n")[:3]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, [json.loads(line)["text"] for line in lines]


def predictions(path: Path, texts: list[str], predicts: list[str]) -> Path:
    return write_jsonl(path, [{"prompt": t, "predict": p} for t, p in zip(texts, predicts, strict=True)])


def score_args(pred: Path, gold_path: Path, name: str = "run", reports: str = "reports") -> list[str]:
    return ["-m", "eval", "score", str(pred), "--gold", str(gold_path), "--name", name, "--reports", reports]


def dev_predictions(path: Path, dev_records: list[dict], predict: str = "{}") -> Path:
    return write_jsonl(path, [{"prompt": f"{r['instruction']}\n{r['input']}", "predict": predict} for r in dev_records])


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp")) if folder.is_dir() else []
