"""Faults of the eval commands, round two (issue 17): ``python -m eval score | report | submit | ensemble |
compare``.

Every case runs the real command line as a subprocess and creates its fault for real: a read-only folder is a
read-only bind mount and a full disk a small tmpfs, both in a private mount namespace (``unshare -m``; where the
machine does not allow one: ``chmod`` as a user that is not root, ``RLIMIT_FSIZE`` for the full disk). A case ends
in one ``error:`` line that names the path or argument, with a non-zero exit, or in the exact result. Signals and
concurrent commands: tests/test_bad_input_eval_races.py.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import pytest  # noqa: E402
from eval_faults import (  # noqa: E402, F401 (gold_fixture: the fixture gold)
    SPLIT,
    dev_predictions,
    gold_fixture,
    popen,
    predictions,
    run_disk_full,
    run_read_only,
    score_args,
    temps,
)
from fault_harness import assert_ok, assert_user_error, error_lines, read_json, run_cli, write_jsonl  # noqa: E402

from cluener import layout  # noqa: E402

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

BIG = 10_000_000  # characters of the hallucinated entity


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
    return run_read_only(tmp / "reports", score_args(predictions(tmp / "p.jsonl", texts, ["{}"] * 3), gold_path), tmp)


def _report_read_only(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    predictions(layout.predictions_file(layout.recipe_save_dir("rec", tmp / "saves"), SPLIT), texts, ["{}"] * 3)
    args = ["-m", "eval", "report", "--saves", "saves", "--reports", "reports", "--data-dir", "nodata"]
    return run_read_only(tmp / "reports", args, tmp)


def _submit_read_only(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    pred = predictions(tmp / "p.jsonl", texts, ["{}"] * 3)
    args = ["-m", "eval", "submit", str(pred), "--gold", str(gold_path), "--out", "out/submit.json"]
    return run_read_only(tmp / "out", args, tmp)


def _ensemble_read_only(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    pred = predictions(tmp / "p.jsonl", texts, ["{}"] * 3)
    assert_ok(run_cli(score_args(pred, gold_path, "a"), tmp))
    return run_read_only(tmp / "reports", ["-m", "eval", "ensemble", "a", "--name", "ens", "--reports", "reports"],
                          tmp)  # fmt: skip


def _big_entity(texts: list[str]) -> list[str]:
    return ['{"name":["' + "x" * BIG + '"]}', "{}", "{}"]


def _disk_full(command: str) -> Callable[[Path, Path, list[str]], subprocess.CompletedProcess]:
    """score: the disk fills while the report is written (its details.jsonl alone is 30 MB); submit: the disk is
    full before it starts."""

    def run(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
        if command == "score":
            pred = predictions(tmp / "p.jsonl", texts, _big_entity(texts))
            proc, left, problem = run_disk_full(tmp / "reports", score_args(pred, gold_path), tmp)
        else:
            pred = predictions(tmp / "p.jsonl", texts, ["{}"] * 3)
            args = ["-m", "eval", "submit", str(pred), "--gold", str(gold_path), "--out", "out/submit.json"]
            proc, left, problem = run_disk_full(tmp / "out", args, tmp, fill=True)
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
    pred = predictions(tmp / "p.jsonl", [odd, *texts[1:]], ['{"name":["\u2028x"]}', "{}", "{}"])
    assert "\u2028" in pred.read_text(encoding="utf-8")  # raw, not escaped
    return run_cli(score_args(pred, odd_gold), tmp)


def _three_lines_scored(tmp: Path, proc) -> None:
    metrics = read_json(tmp / "reports" / "run" / "metrics.json")
    assert metrics["lines"] == 3 and metrics["parse"]["hallucinated"] == 1


def _run_symlink(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    elsewhere = tmp / "big_disk" / "run"
    elsewhere.mkdir(parents=True)
    (tmp / "reports").mkdir()
    (tmp / "reports" / "run").symlink_to(elsewhere)
    pred = predictions(tmp / "p.jsonl", texts, ["{}"] * 3)
    assert_ok(run_cli(score_args(pred, gold_path), tmp))
    return run_cli(score_args(pred, gold_path), tmp)  # twice: the second replaces a report through the link


def _link_kept(tmp: Path, proc) -> None:
    link = tmp / "reports" / "run"
    assert link.is_symlink() and (tmp / "big_disk" / "run" / "metrics.json").is_file()
    assert temps(tmp / "reports") == [] and temps(tmp / "big_disk") == []


def _absolute_gold(tmp: Path, gold_path: Path, texts: list[str]) -> subprocess.CompletedProcess:
    work = tmp / "repo"
    work.mkdir()
    pred = predictions(tmp / "p.jsonl", texts, ["{}"] * 3)
    assert_ok(run_cli(score_args(pred, gold_path.resolve()), work))
    return run_cli(["-m", "eval", "index", "--reports", "reports"], work)


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
        return run_cli(score_args(predictions(tmp / "p.jsonl", texts, ["{}"] * 3), gold_path, "a"), tmp)
    finally:
        sleeper.kill()
        sleeper.wait()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _only_dead_removed(tmp: Path, proc) -> None:
    live, dead = json.loads((tmp / "pids.json").read_text(encoding="utf-8"))
    assert temps(tmp / "reports") == sorted([f".a.{live}.q9w8e7rt.tmp", f".a.b.{dead}.k1l2m3no.tmp"])


CASES = [
    Case("score: --reports read-only", _score_read_only, ("--reports", "reports", "Read-only file system")),
    Case("report: --reports read-only", _report_read_only, ("--reports", "reports", "Read-only file system")),
    Case("submit: --out folder read-only", _submit_read_only, ("--out", "out", "Read-only file system")),
    Case("ensemble: --reports read-only", _ensemble_read_only, ("--reports", "reports", "Read-only file system")),
    Case("score: disk full while writing", _disk_full("score"), ("reports/",), check=_nothing_half_written),
    Case("submit: disk full", _disk_full("submit"), ("out/",), check=_nothing_half_written),
    Case(
        "parse: a malformed value beside good ones",
        lambda t, g, x: run_cli(
            score_args(predictions(t / "p.jsonl", x, ['{"address":["文汇路"],"organization":5}', "{}", "{}"]), g), t
        ),
        ok=True,
        check=_counts,
    ),  # fmt: skip
    Case(
        "report: a 10 MB entity is quoted cut",
        lambda t, g, x: run_cli(score_args(predictions(t / "p.jsonl", x, _big_entity(x)), g), t),
        ok=True,
        check=_capped,
    ),  # fmt: skip
    Case("jsonl: raw U+2028 inside strings", _line_separator, ok=True, check=_three_lines_scored),
    Case("reports/<run> a symlink", _run_symlink, ok=True, check=_link_kept),
    Case("hygiene: an absolute --gold is not in the report", _absolute_gold, ok=True, check=_no_machine_path),
    Case("temps: only a dead writer's are removed", _own_temps_only, ok=True, check=_only_dead_removed),
    Case(
        "compare: a run named by a path",
        lambda t, g, x: run_cli(["-m", "eval", "compare", "../../etc", "r", "--reports", "reports"], t),
        ("RUN_A", "../../etc"),
    ),  # fmt: skip
    Case(
        "ensemble: a member named by a path",
        lambda t, g, x: run_cli(["-m", "eval", "ensemble", "a", "/x/b", "--name", "e", "--reports", "reports"], t),
        ("RUN", "/x/b"),
    ),  # fmt: skip
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


# ---------------------------------------------------------------- runs found through symlinks


def test_report_finds_a_run_under_a_symlinked_folder_of_saves(tmp_path, dev_records, data_dir):
    """saves/big -> a folder elsewhere (where big outputs live), with a link back up inside it (a loop): the run
    under the link is scored, the loop is not followed forever, a dangling link is named, not skipped silently."""
    elsewhere = tmp_path / "big_disk" / "big"
    dev_predictions(layout.predictions_file(layout.recipe_save_dir("big", elsewhere.parent), SPLIT), dev_records)
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


def test_report_whose_stdout_reader_is_gone_finishes_its_work(tmp_path, gold):
    """`python -m eval report | head -1`: the reader closes the pipe at once; the command still re-renders every
    report and writes README.md, exits 0, and prints no BrokenPipeError traceback."""
    gold_path, texts = gold
    pred = predictions(tmp_path / "p.jsonl", texts, ["{}"] * 3)
    for name in ("a", "b"):
        assert_ok(run_cli(score_args(pred, gold_path, name), tmp_path))
    assert not (tmp_path / "reports" / "README.md").exists()  # score writes its run only
    proc = popen(["-m", "eval", "report", "--saves", "saves", "--reports", "reports", "--refresh"], tmp_path)
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read()
    proc.wait(timeout=300)
    assert proc.returncode == 0 and "Traceback" not in err and "Broken pipe" not in err, err
    assert (tmp_path / "reports" / "README.md").is_file()
