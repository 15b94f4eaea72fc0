"""Faults of the eval commands, round two (issue 17): ``python -m eval score | report | submit | ensemble``.

Every case runs the real command line as a subprocess, and creates its fault for real: signals are sent to the
running process (SIGINT / SIGTERM), concurrent commands are started together (and repeated), a read-only folder is
a read-only bind mount and a full disk a small tmpfs, both in a private mount namespace (``unshare -m``; where the
machine does not allow one: ``chmod`` as a user that is not root, ``RLIMIT_FSIZE`` for the full disk). A case ends
in one ``error:`` line that names the path or argument, with a non-zero exit, or in the exact result.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from fault_harness import assert_ok, assert_user_error, error_lines, read_json, run_cli, write_jsonl  # noqa: E402

from cluener import layout  # noqa: E402

SPLIT = layout.REPORTING_SPLIT
BIG = 10_000_000  # characters of the hallucinated entity
REPEATS = 3  # each concurrency case, repeated


# ---------------------------------------------------------------- fixtures and helpers


def _env() -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("API_KEY", None)
    return env


def _popen(args: list[str], cwd: Path, prefix: tuple[str, ...] = (), **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*prefix, sys.executable, *args], cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)  # fmt: skip


def _finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _mount_namespace() -> tuple[str, ...] | None:
    """``unshare`` arguments that give a child its own mount namespace (as root, or in a user namespace)."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (("unshare", "-m"), ("unshare", "-r", "-m")):
        probe = subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True)
        if probe.returncode == 0:
            return prefix
    return None


NAMESPACE = _mount_namespace()


def _run_read_only(folder: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python ARGS`` with ``folder`` read-only for it: a read-only bind mount (root cannot be stopped by chmod)."""
    folder.mkdir(parents=True, exist_ok=True)
    if NAMESPACE is not None:
        script = f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" "{folder}" && exec "$@"'
        return _finish(_popen(args, cwd, (*NAMESPACE, "sh", "-c", script, "sh")))
    if os.geteuid() == 0:
        pytest.skip("no mount namespace: a read-only folder cannot be made for root here")
    folder.chmod(0o555)
    try:
        return run_cli(args, cwd)
    finally:
        folder.chmod(0o755)


def _run_disk_full(
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
        proc = _finish(_popen(args, cwd, (*NAMESPACE, "sh", "-c", script, "sh")))
        return proc, sorted(listing.read_text(encoding="utf-8").split()), "No space left on device"
    size = 0 if fill else 256 * 1024

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    proc = _finish(_popen(args, cwd, preexec_fn=limit))
    return proc, sorted(f"./{p.relative_to(folder)}" for p in folder.rglob("*")), "File too large"


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (from /proc: eval's main module installs one for SIGTERM
    before its heavy imports, so the command is running when this is true)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signum - 1)))


@pytest.fixture(scope="module")
def gold(tmp_path_factory, cluener_dir) -> tuple[Path, list[str]]:
    """The first 3 sentences of the official dev.json (a custom gold file) and their texts."""
    path = tmp_path_factory.mktemp("gold") / "gold3.json"
    lines = (Path(cluener_dir) / layout.RAW_FILES["dev"]).read_text(encoding="utf-8").split("\n")[:3]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, [json.loads(line)["text"] for line in lines]


def _predictions(path: Path, texts: list[str], predicts: list[str]) -> Path:
    return write_jsonl(path, [{"prompt": t, "predict": p} for t, p in zip(texts, predicts, strict=True)])


def _score(pred: Path, gold_path: Path, name: str = "run", reports: str = "reports") -> list[str]:
    return ["-m", "eval", "score", str(pred), "--gold", str(gold_path), "--name", name, "--reports", reports]


def _dev_predictions(path: Path, dev_records: list[dict], predict: str = "{}") -> Path:
    return write_jsonl(path, [{"prompt": f"{r['instruction']}\n{r['input']}", "predict": predict} for r in dev_records])


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp")) if folder.is_dir() else []


# ---------------------------------------------------------------- the table: one fault each


@dataclass
class Case:
    """``run(tmp, gold path, texts)`` creates the fault and runs the command; the result must be one error line
    holding every needle (``ok=False``) or success; then ``check(tmp, proc)``."""

    id: str
    run: Callable[[Path, Path, list[str]], subprocess.CompletedProcess]
    needles: tuple[str, ...] = ()
    ok: bool = False
    check: Callable[[Path, subprocess.CompletedProcess], None] | None = None


def _score_read_only(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    return _run_read_only(tmp / "reports", _score(_predictions(tmp / "p.jsonl", texts, ["{}"] * 3), gold_path), tmp)


def _report_read_only(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    _predictions(layout.predictions_path("rec", SPLIT, saves_dir=tmp / "saves"), texts, ["{}"] * 3)
    args = ["-m", "eval", "report", "--saves", "saves", "--reports", "reports", "--data-dir", "nodata"]
    return _run_read_only(tmp / "reports", args, tmp)


def _submit_read_only(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    pred = _predictions(tmp / "p.jsonl", texts, ["{}"] * 3)
    args = ["-m", "eval", "submit", str(pred), "--gold", str(gold_path), "--out", "out/submit.json"]
    return _run_read_only(tmp / "out", args, tmp)


def _ensemble_read_only(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    pred = _predictions(tmp / "p.jsonl", texts, ["{}"] * 3)
    assert_ok(run_cli(_score(pred, gold_path, "a"), tmp))
    return _run_read_only(tmp / "reports", ["-m", "eval", "ensemble", "a", "--name", "ens", "--reports", "reports"],
                          tmp)  # fmt: skip


def _big_entity(texts: list[str]) -> list[str]:
    return ['{"name":["' + "x" * BIG + '"]}', "{}", "{}"]


def _disk_full(command: str) -> Callable[[Path, Path, list[str]], subprocess.CompletedProcess]:
    """score: the disk fills while the report is written (its details.jsonl alone is 30 MB); submit: the disk is
    full before it starts."""

    def run(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
        if command == "score":
            pred = _predictions(tmp / "p.jsonl", texts, _big_entity(texts))
            proc, left, problem = _run_disk_full(tmp / "reports", _score(pred, gold_path), tmp)
        else:
            pred = _predictions(tmp / "p.jsonl", texts, ["{}"] * 3)
            args = ["-m", "eval", "submit", str(pred), "--gold", str(gold_path), "--out", "out/submit.json"]
            proc, left, problem = _run_disk_full(tmp / "out", args, tmp, fill=True)
        (tmp / "left.json").write_text(json.dumps(left), encoding="utf-8")
        (tmp / "problem.txt").write_text(problem, encoding="utf-8")
        return proc

    return run


def _nothing_half_written(tmp: Path, proc) -> None:
    """No temp file or folder left, no report folder or submission file (the command failed), the problem said."""
    left = json.loads((tmp / "left.json").read_text(encoding="utf-8"))
    assert [p for p in left if p not in ("./filler", "./.README.md.lock")] == [], left
    assert (tmp / "problem.txt").read_text(encoding="utf-8") in error_lines(proc)[0]


def _counts(tmp: Path, proc) -> None:
    metrics = read_json(tmp / "reports" / "run" / "metrics.json")
    parse = metrics["parse"]
    assert (parse["ok"], parse["repaired"], parse["failed"]) == (2, 1, 0), parse
    assert parse["dropped"] == {"number instead of a list of strings (value dropped)": 1}, parse
    details = [json.loads(line) for line in (tmp / "reports" / "run" / "details.jsonl").open(encoding="utf-8")]
    assert details[0]["strings"] == {"address": ["文汇路"]}
    assert "malformed parts left out" in (tmp / "reports" / "run" / "report.md").read_text(encoding="utf-8")


def _capped(tmp: Path, proc) -> None:
    folder = tmp / "reports" / "run"
    for name in ("report.md", "metrics.json"):
        assert (folder / name).stat().st_size < 100_000, (name, (folder / name).stat().st_size)
    assert f"cut: {BIG} characters in all" in (folder / "report.md").read_text(encoding="utf-8")
    details = [json.loads(line) for line in (folder / "details.jsonl").open(encoding="utf-8")]
    assert details[0]["strings"]["name"][0] == "x" * BIG  # the full output stays in details.jsonl


def _line_separator(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    """A gold line and a prediction with a raw U+2028 (and U+0085, U+2029) inside a JSON string."""
    odd = texts[0][:2] + "\u2028\u0085\u2029" + texts[0][2:]
    rows = [json.loads(line) for line in gold_path.read_text(encoding="utf-8").split("\n") if line]
    rows[0] = {"text": odd, "label": {}}
    odd_gold = tmp / "odd_gold.json"
    odd_gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    pred = _predictions(tmp / "p.jsonl", [odd, *texts[1:]], ['{"name":["\u2028x"]}', "{}", "{}"])
    assert "\u2028" in pred.read_text(encoding="utf-8")  # raw, not escaped
    return run_cli(_score(pred, odd_gold), tmp)


def _three_lines_scored(tmp: Path, proc) -> None:
    metrics = read_json(tmp / "reports" / "run" / "metrics.json")
    assert metrics["lines"] == 3 and metrics["parse"]["hallucinated"] == 1


def _run_symlink(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    elsewhere = tmp / "big_disk" / "run"
    elsewhere.mkdir(parents=True)
    (tmp / "reports").mkdir()
    (tmp / "reports" / "run").symlink_to(elsewhere)
    pred = _predictions(tmp / "p.jsonl", texts, ["{}"] * 3)
    assert_ok(run_cli(_score(pred, gold_path), tmp))
    return run_cli(_score(pred, gold_path), tmp)  # twice: the second replaces a report through the link


def _link_kept(tmp: Path, proc) -> None:
    link = tmp / "reports" / "run"
    assert link.is_symlink() and (tmp / "big_disk" / "run" / "metrics.json").is_file()
    assert _temps(tmp / "reports") == [] and _temps(tmp / "big_disk") == []


def _absolute_gold(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    work = tmp / "repo"
    work.mkdir()
    pred = _predictions(tmp / "p.jsonl", texts, ["{}"] * 3)
    return run_cli(_score(pred, gold_path.resolve()), work)


def _no_machine_path(tmp: Path, proc) -> None:
    folder = tmp / "repo" / "reports" / "run"
    for name in ("report.md", "metrics.json", "README.md"):
        path = folder / name if name != "README.md" else folder.parent / name
        text = path.read_text(encoding="utf-8")
        assert str(tmp) not in text and "/tmp/" not in text, name
    assert read_json(folder / "metrics.json")["gold"].startswith("gold3.json (sha256 ")


def _own_temps_only(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    """Temp folders beside reports/a: of a dead writer of a (removed), of a live writer of a (kept), of run a.b
    (kept: another run's)."""
    reports = tmp / "reports"
    reports.mkdir()
    sleeper = subprocess.Popen(["sleep", "300"])
    dead = _dead_pid()
    tmp.joinpath("pids.json").write_text(json.dumps([sleeper.pid, dead]), encoding="utf-8")
    for name in (f".a.{dead}.x1y2z3ab.tmp", f".a.{sleeper.pid}.q9w8e7rt.tmp", f".a.b.{dead}.k1l2m3no.tmp"):
        (reports / name).mkdir()
    try:
        return run_cli(_score(_predictions(tmp / "p.jsonl", texts, ["{}"] * 3), gold_path, "a"), tmp)
    finally:
        sleeper.kill()
        sleeper.wait()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _only_dead_removed(tmp: Path, proc) -> None:
    live, dead = json.loads((tmp / "pids.json").read_text(encoding="utf-8"))
    assert _temps(tmp / "reports") == sorted([f".a.{live}.q9w8e7rt.tmp", f".a.b.{dead}.k1l2m3no.tmp"])


CASES = [
    Case("score: --reports read-only", _score_read_only, ("--reports", "reports", "Read-only file system")),
    Case("report: --reports read-only", _report_read_only, ("--reports", "reports", "Read-only file system")),
    Case("submit: --out folder read-only", _submit_read_only, ("--out", "out", "Read-only file system")),
    Case("ensemble: --reports read-only", _ensemble_read_only, ("--reports", "reports", "Read-only file system")),
    Case("score: disk full while writing", _disk_full("score"), ("reports/",), check=_nothing_half_written),
    Case("submit: disk full", _disk_full("submit"), ("out/",), check=_nothing_half_written),
    Case("parse: a malformed value beside good ones", lambda t, g, x: run_cli(_score(_predictions(
        t / "p.jsonl", x, ['{"address":["文汇路"],"organization":5}', "{}", "{}"]), g), t), ok=True,
         check=_counts),  # fmt: skip
    Case("report: a 10 MB entity is quoted cut", lambda t, g, x: run_cli(_score(_predictions(
        t / "p.jsonl", x, _big_entity(x)), g), t), ok=True, check=_capped),  # fmt: skip
    Case("jsonl: raw U+2028 inside strings", _line_separator, ok=True, check=_three_lines_scored),
    Case("reports/<run> a symlink", _run_symlink, ok=True, check=_link_kept),
    Case("hygiene: an absolute --gold is not in the report", _absolute_gold, ok=True, check=_no_machine_path),
    Case("temps: only a dead writer's are removed", _own_temps_only, ok=True, check=_only_dead_removed),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_eval_fault(case: Case, tmp_path, gold):
    proc = case.run(tmp_path, *gold)
    if case.ok:
        assert_ok(proc)
    else:
        line = assert_user_error(proc, case.needles)
        assert "internal error" not in line
    if case.check:
        case.check(tmp_path, proc)


def test_infer_reads_a_jsonl_dataset_with_a_raw_line_separator_in_a_string(tmp_path, gold):
    """JSON allows U+2028 / U+2029 / U+0085 raw inside a string; `str.splitlines` splits on them. Both records are
    read and answered (the line is not cut in two and rejected)."""
    from fake_openai import FakeServer

    texts = gold[1]
    dataset = write_jsonl(tmp_path / "records.jsonl", [
        {"instruction": "抽取实体", "input": texts[0][:3] + "\u2028\u2029\u0085" + texts[0][3:], "output": "{}"},
        {"instruction": "抽取实体", "input": texts[1], "output": "{}"}])  # fmt: skip
    assert "\u2028" in dataset.read_text(encoding="utf-8")
    server = FakeServer([])
    try:
        out = tmp_path / "out" / layout.PREDICTIONS_FILE
        proc = run_cli(["-m", "infer", "--dataset", str(dataset), "--output", str(out), "--base-url", server.url,
                        "--model", "fake", "--concurrency", "1", "--max-retries", "0", "--backoff", "0",
                        "--timeout", "30", "--no-progress-bar"], tmp_path)  # fmt: skip
    finally:
        server.close()
    assert_ok(proc)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert len(rows) == 2 and server.posts == 2 and "\u2028" in rows[0]["prompt"]


# ---------------------------------------------------------------- signals, really sent


def test_a_stop_signal_during_score_is_one_line_and_leaves_the_old_report(tmp_path, dev_records, data_dir):
    """`eval score` over the dev set, stopped by a real SIGINT (Ctrl-C) at several moments and once by SIGTERM:
    exit 130 (143), one line, no traceback; reports/run is the complete old report (or, where the command won the
    race, the complete new one) and no temp folder is left."""
    old = _dev_predictions(tmp_path / "old.jsonl", dev_records)
    new = _dev_predictions(tmp_path / "new.jsonl", dev_records, '{"name":["彭小军"]}')
    command = ["-m", "eval", "score", "PRED", "--split", SPLIT, "--data-dir", str(data_dir), "--name", "run",
               "--reports", "reports"]  # fmt: skip
    assert_ok(run_cli([str(old) if a == "PRED" else a for a in command], tmp_path))
    digests = {json.loads(p.read_text())["predictions_sha256"] for p in [tmp_path / "reports/run/metrics.json"]}
    stopped = 0
    for signum, delay in [(signal.SIGINT, d) for d in (0.0, 0.0, 0.2, 0.5, 1.0, 1.5)] + [(signal.SIGTERM, 0.3)]:
        proc = _popen([str(new) if a == "PRED" else a for a in command], tmp_path)
        while proc.poll() is None and not _catches(proc.pid, signal.SIGTERM):
            time.sleep(0.005)
        time.sleep(delay)
        proc.send_signal(signum)
        done = _finish(proc)
        where = f"{signal.Signals(signum).name} after {delay}s: exit {done.returncode}\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, where
        if done.returncode == 0:  # finished before the signal arrived: the new report, complete
            digests.add(read_json(tmp_path / "reports/run/metrics.json")["predictions_sha256"])
        else:
            stopped += 1
            assert done.returncode == 128 + signum, where
            assert error_lines(done) == done.stderr.strip().split("\n"), where
            assert f"interrupted ({signal.Signals(signum).name})" in done.stderr, where
        assert _temps(tmp_path / "reports") == [], where
        metrics = read_json(tmp_path / "reports/run/metrics.json")
        assert metrics["lines"] == len(dev_records) and metrics["predictions_sha256"] in digests, where
        assert sorted(p.name for p in (tmp_path / "reports/run").iterdir()) == sorted(metrics["files"].values())
    assert stopped >= 3, f"only {stopped} of the signals stopped a running command"


# ---------------------------------------------------------------- concurrent commands, really started together


def _together(commands: list[list[str]], cwd: Path, stagger: float = 0.0) -> list[subprocess.CompletedProcess]:
    """Start every command (the n-th ``n * stagger`` seconds after the first), then wait for all of them."""
    procs = []
    for args in commands:
        procs.append(_popen(args, cwd))
        time.sleep(stagger)
    return [_finish(proc) for proc in procs]


STAGGERS = (0.0, 0.1, 0.2, 0.3, 0.5)  # one attempt each: the windows of two writers overlap at some of them


def test_concurrent_scores_of_different_runs_are_all_in_the_index(tmp_path, dev_records, data_dir):
    """Three `eval score` runs of the dev set with different names, started together (a few staggers): every one
    exits 0 and reports/README.md lists all of them (the index is rescanned and written under a lock)."""
    preds = [_dev_predictions(tmp_path / f"p{i}.jsonl", dev_records, '{"name":["%s"]}' % i) for i in range(3)]
    names: list[str] = []
    for attempt, stagger in enumerate(STAGGERS):
        batch = [f"r{attempt}_{i}" for i in range(3)]
        names += batch
        commands = [["-m", "eval", "score", str(pred), "--split", SPLIT, "--data-dir", str(data_dir), "--name",
                     name, "--reports", "reports"] for pred, name in zip(preds, batch, strict=True)]  # fmt: skip
        for done in _together(commands, tmp_path, stagger):
            assert_ok(done)
        index = (tmp_path / "reports" / "README.md").read_text(encoding="utf-8").replace("\\", "")
        missing = [name for name in names if f"[{name}]" not in index]
        assert missing == [], f"attempt {attempt} (stagger {stagger}s): README.md misses {missing}"


def test_report_and_score_of_one_run_at_once_both_succeed(tmp_path, dev_records, data_dir):
    """`eval report` and two `eval score` of the same run started together (a few staggers, other predictions each
    time, so all write): all exit 0, none takes another's temp folder as stale, the report is complete."""
    pred = layout.predictions_path("rec", SPLIT, saves_dir=tmp_path / "saves")
    name = layout.run_name("rec", SPLIT)
    report = ["-m", "eval", "report", "--saves", "saves", "--reports", "reports", "--data-dir", str(data_dir)]
    score = ["-m", "eval", "score", str(pred), "--split", SPLIT, "--data-dir", str(data_dir), "--name", name,
             "--reports", "reports"]  # fmt: skip
    for attempt, stagger in enumerate(STAGGERS):
        _dev_predictions(pred, dev_records, '{"name":["%s"]}' % attempt)
        for done in _together([report, score, score], tmp_path, stagger):
            assert_ok(done)
        assert _temps(tmp_path / "reports") == []
        metrics = read_json(tmp_path / "reports" / name / "metrics.json")
        assert metrics["lines"] == len(dev_records) and metrics["predictions_sha256"] == _sha256(pred)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_index_is_written_under_a_lock_that_a_second_writer_waits_for(tmp_path, gold):
    """The interleaving that lost a run (a writer whose scan is older than another's index write, writing last)
    cannot happen: while another process holds the index lock, `eval score` puts its run folder in place and then
    waits, without writing README.md; once the lock is free it rescans and lists every run."""
    import fcntl

    from eval.report import INDEX_LOCK

    gold_path, texts = gold
    pred = _predictions(tmp_path / "p.jsonl", texts, ["{}"] * 3)
    assert_ok(run_cli(_score(pred, gold_path, "first"), tmp_path))
    index = tmp_path / "reports" / "README.md"
    with open(tmp_path / "reports" / INDEX_LOCK, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        proc = _popen(_score(pred, gold_path, "second"), tmp_path)
        while proc.poll() is None and not (tmp_path / "reports" / "second" / "metrics.json").is_file():
            time.sleep(0.05)
        time.sleep(1.0)
        assert proc.poll() is None, "wrote the index without the lock"
        assert "[second]" not in index.read_text(encoding="utf-8")
        (tmp_path / "reports" / "third").mkdir()  # a run that lands while it waits: its rescan must see it
        (tmp_path / "reports" / "third" / "metrics.json").write_bytes(
            (tmp_path / "reports" / "first" / "metrics.json").read_bytes().replace(b'"first"', b'"third"'))
    assert_ok(_finish(proc))
    listed = index.read_text(encoding="utf-8")
    assert all(f"[{name}]" in listed for name in ("first", "second", "third")), listed


# ---------------------------------------------------------------- runs found through symlinks


def test_report_finds_a_run_under_a_symlinked_folder_of_saves(tmp_path, dev_records, data_dir):
    """saves/big -> a folder elsewhere (where big outputs live), with a link back up inside it (a loop): the run
    under the link is scored, the loop is not followed forever, a dangling link is named, not skipped silently."""
    elsewhere = tmp_path / "big_disk" / "big"
    _dev_predictions(layout.predictions_path("big", SPLIT, saves_dir=elsewhere.parent), dev_records)
    saves = tmp_path / "saves"
    saves.mkdir()
    (saves / "big").symlink_to(elsewhere)
    (elsewhere / "loop").symlink_to(saves)
    (saves / "gone").symlink_to(tmp_path / "nowhere")
    proc = run_cli(["-m", "eval", "report", "--saves", "saves", "--reports", "reports", "--data-dir",
                    str(data_dir)], tmp_path)  # fmt: skip
    assert_ok(proc)
    name = layout.run_name("big", SPLIT)
    assert read_json(tmp_path / "reports" / name / "metrics.json")["lines"] == len(dev_records)
    assert name in (tmp_path / "reports" / "README.md").read_text(encoding="utf-8").replace("\\", "")
    assert "saves/gone" in proc.stderr and "symlink to nothing" in proc.stderr


# ---------------------------------------------------------------- hygiene of the committed reports


def test_committed_reports_name_no_path_of_the_machine_that_made_them():
    """reports/ names its gold by what it is (CLUENER2020 dev, sha256), never by a folder of some machine."""
    found = []
    for path in sorted((ROOT / "reports").rglob("*")):
        if path.is_file() and path.suffix in (".md", ".json", ".jsonl"):
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(ROOT)}: {p}" for p in ("/work/", "/tmp/", "/root/", "/home/") if p in text]
    assert found == []
    for metrics in sorted((ROOT / "reports").glob("*/metrics.json")):
        gold = read_json(metrics)["gold"]
        assert gold.startswith("CLUENER2020 ") or not gold.startswith("/"), (metrics, gold)
