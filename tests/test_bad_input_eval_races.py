"""Faults of the eval commands in time (issue 17): stop signals really sent to a running ``python -m eval score``,
and commands really started together (a few staggers each): scores and indexes of different runs, a report and
scores of one run, and an index writer waiting on the index lock that another process holds."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import pytest  # noqa: E402
from eval_faults import SPLIT, catches, dev_predictions, finish, gold_fixture, popen, predictions, score_args, temps  # noqa: E402, F401, E501
from fault_harness import assert_ok, error_lines, read_json, run_cli  # noqa: E402

from cluener import layout  # noqa: E402

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


# ---------------------------------------------------------------- signals, really sent


def test_a_stop_signal_during_score_is_one_line_and_leaves_the_old_report(tmp_path, dev_records, data_dir):
    """`eval score` over the dev set, stopped by a real SIGINT (Ctrl-C) at several moments and once by SIGTERM:
    exit 130 (143), one line, no traceback; reports/run is the complete old report (or, where the command won the
    race, the complete new one) and no temp folder is left."""
    old = dev_predictions(tmp_path / "old.jsonl", dev_records)
    new = dev_predictions(tmp_path / "new.jsonl", dev_records, '{"name":["彭小军"]}')
    command = ["-m", "eval", "score", "PRED", "--split", SPLIT, "--data-dir", str(data_dir), "--name", "run",
               "--reports", "reports"]  # fmt: skip
    assert_ok(run_cli([str(old) if a == "PRED" else a for a in command], tmp_path))
    # The report is always whole: the old one, or the new one where the command's last rename beat the signal (then
    # the exit may still be 130: the signal landed after the rename).
    digests = {hashlib.sha256(path.read_bytes()).hexdigest() for path in (old, new)}
    assert read_json(tmp_path / "reports/run/metrics.json")["predictions_sha256"] in digests
    stopped = 0
    for signum, delay in [(signal.SIGINT, d) for d in (0.0, 0.0, 0.2, 0.5, 1.0, 1.5)] + [(signal.SIGTERM, 0.3)]:
        proc = popen([str(new) if a == "PRED" else a for a in command], tmp_path)
        while proc.poll() is None and not catches(proc.pid, signal.SIGTERM):
            time.sleep(0.005)
        time.sleep(delay)
        proc.send_signal(signum)
        done = finish(proc)
        where = f"{signal.Signals(signum).name} after {delay}s: exit {done.returncode}\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, where
        if done.returncode == -signum:  # the signal landed as Python was exiting, after the work: killed by it
            assert done.stderr == "", where
        elif done.returncode != 0:
            stopped += 1
            assert done.returncode == 128 + signum, where
            assert error_lines(done) == done.stderr.strip().split("\n"), where
            assert f"interrupted ({signal.Signals(signum).name})" in done.stderr, where
        assert temps(tmp_path / "reports") == [], where
        metrics = read_json(tmp_path / "reports/run/metrics.json")
        assert metrics["lines"] == len(dev_records) and metrics["predictions_sha256"] in digests, where
        assert sorted(p.name for p in (tmp_path / "reports/run").iterdir()) == sorted(metrics["files"].values())
    assert stopped >= 3, f"only {stopped} of the signals stopped a running command"


# ---------------------------------------------------------------- concurrent commands, really started together


def _together(commands: list[list[str]], cwd: Path, stagger: float = 0.0) -> list[subprocess.CompletedProcess]:
    """Start every command (the n-th ``n * stagger`` seconds after the first), then wait for all of them."""
    procs = []
    for args in commands:
        procs.append(popen(args, cwd))
        time.sleep(stagger)
    return [finish(proc) for proc in procs]


STAGGERS = (0.0, 0.1, 0.2, 0.3, 0.5)  # one attempt each: the windows of two writers overlap at some of them


# `python -m eval score RUN...` and then `python -m eval index` with the same --reports, in one process.
SCORE_THEN_INDEX = ("import sys; from eval.__main__ import main; a = sys.argv[1:]; "
                    "sys.exit(main(a) or main(['index', '--reports', a[a.index('--reports') + 1]]))")  # fmt: skip


def test_concurrent_scores_of_different_runs_are_all_in_the_index(tmp_path, dev_records, data_dir):
    """Three `eval score` + `eval index` of the dev set with different names, started together (a few staggers):
    every one exits 0 and reports/README.md lists all of them (the index is rescanned and written under a lock)."""
    preds = [dev_predictions(tmp_path / f"p{i}.jsonl", dev_records, '{"name":["%s"]}' % i) for i in range(3)]
    names: list[str] = []
    for attempt, stagger in enumerate(STAGGERS):
        batch = [f"r{attempt}_{i}" for i in range(3)]
        names += batch
        commands = [["-c", SCORE_THEN_INDEX, "score", str(pred), "--split", SPLIT, "--data-dir", str(data_dir),
                     "--name", name, "--reports", "reports"] for pred, name in zip(preds, batch, strict=True)]  # fmt: skip
        for done in _together(commands, tmp_path, stagger):
            assert_ok(done)
        index = (tmp_path / "reports" / "README.md").read_text(encoding="utf-8").replace("\\", "")
        missing = [name for name in names if f"[{name}]" not in index]
        assert missing == [], f"attempt {attempt} (stagger {stagger}s): README.md misses {missing}"


def test_report_and_score_of_one_run_at_once_both_succeed(tmp_path, dev_records, data_dir):
    """`eval report` and two `eval score` of the same run started together (a few staggers, other predictions each
    time, so all write): all exit 0, none takes another's temp folder as stale, the report is complete."""
    pred = layout.predictions_file(layout.recipe_save_dir("rec", tmp_path / "saves"), SPLIT)
    name = layout.run_name("rec", SPLIT)
    report = ["-m", "eval", "report", "--saves", "saves", "--reports", "reports", "--data-dir", str(data_dir)]
    score = ["-m", "eval", "score", str(pred), "--split", SPLIT, "--data-dir", str(data_dir), "--name", name,
             "--reports", "reports"]  # fmt: skip
    for attempt, stagger in enumerate(STAGGERS):
        dev_predictions(pred, dev_records, '{"name":["%s"]}' % attempt)
        for done in _together([report, score, score], tmp_path, stagger):
            assert_ok(done)
        assert temps(tmp_path / "reports") == []
        metrics = read_json(tmp_path / "reports" / name / "metrics.json")
        assert metrics["lines"] == len(dev_records) and metrics["predictions_sha256"] == _sha256(pred)


def _sha256(path: Path) -> str:

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_index_is_written_under_a_lock_that_a_second_writer_waits_for(tmp_path, gold):
    """The interleaving that lost a run (a writer whose scan is older than another's index write, writing last)
    cannot happen: while another process holds the index lock, `eval score` puts its run folder in place without
    touching README.md (the run pass needs no lock), and `eval index` waits; once the lock is free it rescans and
    lists every run."""
    import fcntl

    from eval.report import INDEX_LOCK

    gold_path, texts = gold
    pred = predictions(tmp_path / "p.jsonl", texts, ["{}"] * 3)
    index_args = ["-m", "eval", "index", "--reports", "reports"]
    assert_ok(run_cli(score_args(pred, gold_path, "first"), tmp_path))
    assert_ok(run_cli(index_args, tmp_path))
    index = tmp_path / "reports" / "README.md"
    with open(tmp_path / "reports" / INDEX_LOCK, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        assert_ok(run_cli(score_args(pred, gold_path, "second"), tmp_path))
        assert (tmp_path / "reports" / "second" / "metrics.json").is_file()
        proc = popen(index_args, tmp_path)
        time.sleep(1.0)
        assert proc.poll() is None, "wrote the index without the lock"
        assert "[second]" not in index.read_text(encoding="utf-8")
        (tmp_path / "reports" / "third").mkdir()  # a run that lands while it waits: its rescan must see it
        (tmp_path / "reports" / "third" / "metrics.json").write_bytes(
            (tmp_path / "reports" / "first" / "metrics.json").read_bytes().replace(b'"first"', b'"third"')
        )
    assert_ok(finish(proc))
    listed = index.read_text(encoding="utf-8")
    assert all(f"[{name}]" in listed for name in ("first", "second", "third")), listed


def test_a_sigint_ignored_by_the_parent_stays_ignored(tmp_path, gold):
    """A background job of a script starts with SIGINT ignored: `eval score` keeps it so (a Ctrl-C meant for the
    foreground does not stop it) and finishes its report."""
    gold_path, texts = gold
    pred = predictions(tmp_path / "p.jsonl", texts, ["{}"] * 3)
    proc = popen(score_args(pred, gold_path), tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    while proc.poll() is None and not catches(proc.pid, signal.SIGTERM):
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    assert_ok(finish(proc))
    assert read_json(tmp_path / "reports" / "run" / "metrics.json")["lines"] == 3
