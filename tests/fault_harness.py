"""Running the project's command lines as subprocesses, and killing them at every file-system step.

``run_cli`` runs ``python ARGS`` with the project on the path and no API key in the environment. The kill harness
(``run_kill_loop``) runs a module's ``main(argv)`` in forked children: once traced, observing what a reader sees after
every rename, link, unlink and creation, then SIGKILLed at chosen steps and moments and rerun on what the kill left.
It runs as a script in its own process::

    python tests/fault_harness.py kill-loop SPEC.json
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cluener import layout  # noqa: E402

SUBPROCESS_TIMEOUT = 300  # a hang is a failure, never a stuck suite

# ---------------------------------------------------------------- running commands


def run_cli(args: list[str], cwd: Path, timeout: float = SUBPROCESS_TIMEOUT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("API_KEY", None)
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if "error:" in line]


def assert_user_error(proc: subprocess.CompletedProcess, needles: tuple[str, ...]) -> str:
    """Non-zero exit, no traceback, exactly one error line, naming every needle. Returns the line."""
    where = f"exit {proc.returncode}\nstdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.returncode != 0, where
    assert "Traceback" not in proc.stderr, where
    lines = error_lines(proc)
    assert len(lines) == 1, where
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in the error line\n{where}"
    return lines[0]


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    where = f"exit {proc.returncode}\nstdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, where


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- kills: all-or-nothing
#
# What a reader sees only changes when the command renames, links, unlinks or creates something. So the tests
# trace one run, observing the state after every such step (which is what a SIGKILL right after that step leaves:
# the dead process changes nothing more), and then kill real runs with SIGKILL at some of those steps and at a few
# moments, and rerun the command on what the kill left: it must finish and give the complete new state.


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _identity(path: Path) -> list[int] | None:
    """Which file a path shows (device, inode): a file is never rewritten in place, so this names its version."""
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return [stat.st_dev, stat.st_ino]


def observe_data(root: Path, by: str = "sha") -> dict:
    """What a reader sees: each project dataset LLaMA-Factory reads through dataset_info.json (its file's sha256 or
    identity, None when missing), and the content of data/manifest.json (None when missing)."""
    try:
        info = read_json(root / layout.DATASET_INFO)
    except (FileNotFoundError, ValueError):
        info = {}
    seen = _sha if by == "sha" else _identity
    datasets = {name: seen(root / entry["file_name"]) for name, entry in sorted(info.items())
                if layout.split_of(name) is not None}  # fmt: skip
    try:
        manifest = read_json(root / layout.DATA_DIR / layout.MANIFEST)
    except (FileNotFoundError, ValueError):
        manifest = None
    return {"datasets": datasets, "manifest": manifest}


def observe_report(folder: Path, by: str = "sha") -> dict:
    """A run's report folder: its file names, and which predictions every file was made from."""
    if not folder.is_dir():
        return {}
    if by != "sha":
        return {p.name: _identity(p) for p in sorted(folder.iterdir())}
    try:
        made_from = read_json(folder / "metrics.json").get("predictions_sha256")
    except (FileNotFoundError, ValueError):
        made_from = None
    return {"files": sorted(p.name for p in folder.iterdir()), "predictions_sha256": made_from,
            "cluener_predict.json": _sha(folder / "cluener_predict.json"),
            "details.jsonl": _sha(folder / "details.jsonl")}  # fmt: skip


_MUTATIONS = ("replace", "rename", "symlink", "link", "unlink", "remove", "rmdir", "mkdir")


def _on_every_step(step: Callable[[], None]) -> None:
    """Call ``step`` after each file-system mutation of this process: os renames, links, unlinks, mkdirs, and
    every creation or opening of a file for writing."""

    def wrap(func):
        def wrapped(*args, **kwargs):
            result = func(*args, **kwargs)
            step()
            return result

        return wrapped

    for name in _MUTATIONS:
        setattr(os, name, wrap(getattr(os, name)))
    real_os_open, real_open = os.open, builtins.open

    def os_open(path, flags, *args, **kwargs):
        fd = real_os_open(path, flags, *args, **kwargs)
        if flags & os.O_CREAT:
            step()
        return fd

    def open_(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if any(c in mode for c in "wax+"):
            step()
        return handle

    os.open, builtins.open, io.open = os_open, open_, open_


def _memoized(function, calls: list[tuple[list, dict]]):
    """``function`` with the results of ``calls`` (positional args as strings, keyword args) computed now. A path
    argument is keyed by the file it names (resolved): the command may spell it relative, absolute or via a link."""

    def key(args, kwargs) -> str:
        return json.dumps([[os.path.realpath(a) if isinstance(a, (str, os.PathLike)) and os.path.exists(a) else str(a)
                            for a in args], sorted(kwargs.items())])  # fmt: skip

    cache = {key(args, kwargs): function(*args, **kwargs) for args, kwargs in calls}

    def cached(*args, **kwargs):
        found = cache.get(key(args, kwargs))
        return found if found is not None else function(*args, **kwargs)

    return cached


def _kill_loop(spec: dict) -> dict:
    """Run ``spec['module']``'s ``main(spec['argv'])`` in forked children, each on a fresh copy of ``spec['start']``
    (hard links: the commands replace files, they never write into one), with the output silenced:

    - ``trace``: once, unkilled, observing (by identity) after every step: ``{"trace": [...], "steps": N, "end"}``;
    - ``kill_at`` (step numbers) and ``delays`` (seconds): SIGKILL there, observe (by sha), then rerun the command on
      what the kill left and observe again: ``{"kills": [{"at", "killed", "seen", "rerun_code", "rerun"}, ...]}``.
    """
    import importlib
    import time

    module = importlib.import_module(spec["module"])  # imported once, before forking: the children start warm
    for name in spec.get("preload", []):
        importlib.import_module(name)
    for attribute, calls in spec.get("memoize", {}).items():  # the inputs are read once, before forking, too
        setattr(module, attribute, _memoized(getattr(module, attribute), calls))
    start, work = Path(spec["start"]), Path(spec["work"])
    target = work / spec.get("observe_in", ".")
    observe = observe_data if spec["observe"] == "data" else observe_report

    def fresh() -> None:
        shutil.rmtree(work, ignore_errors=True)
        if start.exists():
            shutil.copytree(start, work, symlinks=True, copy_function=os.link)
        else:
            work.mkdir(parents=True)

    def child(setup: Callable[[], None] | None = None, report: Path | None = None) -> int:
        pid = os.fork()
        if pid == 0:
            code = 99
            try:
                os.chdir(work)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                if setup:
                    setup()
                code = module.main(spec["argv"]) or 0
            finally:
                os._exit(code)
        return pid

    out: dict = {}
    if spec.get("trace"):
        fresh()
        trace_file = work.parent / f"{work.name}.trace.jsonl"

        def tracing() -> None:
            states = [json.dumps(observe(target, "identity"))]
            steps = [0]

            def step() -> None:
                steps[0] += 1
                state = json.dumps(observe(target, "identity"))
                if state != states[-1]:
                    states.append(state)

            _on_every_step(step)
            import atexit  # noqa: F401  (os._exit skips atexit: the trace is written by the hook below)

            real_exit = os._exit

            def exit_(code):
                with io.FileIO(trace_file, "w") as handle:
                    handle.write(json.dumps({"trace": [json.loads(s) for s in states], "steps": steps[0]}).encode())
                real_exit(code)

            os._exit = exit_

        _, status = os.waitpid(child(tracing), 0)
        out.update(json.loads(trace_file.read_text(encoding="utf-8")))
        out["code"] = os.waitstatus_to_exitcode(status)
        out["end"] = observe(target)
    kills = []
    for at in [*(("step", n) for n in spec.get("kill_at", [])), *(("delay", d) for d in spec.get("delays", []))]:
        fresh()
        if at[0] == "step":
            count = [0]

            def arm(limit=at[1], count=count) -> None:
                def step() -> None:
                    count[0] += 1
                    if count[0] >= limit:
                        os.kill(os.getpid(), signal.SIGKILL)

                _on_every_step(step)

            pid = child(arm)
        else:
            pid = child()
            time.sleep(at[1])
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        seen = observe(target)
        _, rerun = os.waitpid(child(), 0)
        kills.append({"at": list(at), "killed": os.WIFSIGNALED(status), "seen": seen,
                      "rerun_code": os.waitstatus_to_exitcode(rerun), "rerun": observe(target)})  # fmt: skip
    out["kills"] = kills
    shutil.rmtree(work, ignore_errors=True)
    return out


def run_kill_loop(tmp_path: Path, **spec) -> dict:
    spec_path = tmp_path / f"spec-{len(list(tmp_path.glob('spec-*')))}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    proc = run_cli([__file__, "kill-loop", str(spec_path)], tmp_path, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


def build_spec(cluener_dir: Path, seed: int, start: Path, work: Path, **more) -> dict:
    """The kill loop's spec for `make data` with ``seed``; the children share one reading of the CLUENER files."""
    raw = {split: str(Path(cluener_dir) / name) for split, name in layout.RAW_FILES.items()}
    reads = [([raw["train"]], {}), ([raw["dev"]], {}), ([raw["test"]], {"labelled": False})]
    return {"module": "dataprep.build", "argv": ["--cluener-dir", str(cluener_dir), "--seed", str(seed)],
            "observe": "data", "memoize": {"read_cluener": reads}, "start": str(start), "work": str(work),
            **more}  # fmt: skip


def nothing_readable(seen: dict) -> bool:
    return seen["manifest"] is None and not any(seen["datasets"].values())


def plain_copy(source: Path, dest: Path) -> Path:
    """The project as the older `make data` left it: plain files in data/ (symlinks resolved, no sets)."""
    dest.mkdir(parents=True)
    shutil.copy2(source / layout.DATASET_INFO, dest / layout.DATASET_INFO)
    (dest / layout.DATA_DIR).mkdir()
    for path in (source / layout.DATA_DIR).iterdir():
        if path.is_symlink() and path.is_file():
            shutil.copy2(path, dest / layout.DATA_DIR / path.name)
    return dest


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "kill-loop":
        print(json.dumps(_kill_loop(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")))))
        sys.exit(0)
    sys.exit(f"usage: {sys.argv[0]} kill-loop SPEC.json")
