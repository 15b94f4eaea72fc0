"""Bad input and faults, as an adversarial user would try them: one row per class (issue 10).

Every row runs a real command line as a subprocess (``python -m dataprep.build`` = ``make data``, ``python -m eval
score|report|submit``, ``python -m infer`` = ``make predict-api``) on small temp fixtures and asserts either a user
error -- a non-zero exit code and exactly one ``error:`` line that names the file, line or argument, never a
traceback -- or an exact count. The client rows talk to a fake OpenAI-style server on 127.0.0.1 (stdlib
``http.server`` in a thread) that answers from a script: cut-short bodies, ``null`` content, 5xx, ... Every retry
loop is bounded (``--max-retries 2``, so at most 3 attempts a request).

The kill tests SIGKILL ``make data`` and ``python -m eval score`` at every file-system step they take (a child
process counts its own renames, links, unlinks and creations and kills itself after the N-th; N = 1, 2, ... until
the command finishes) and at a few wall-clock moments, then look at what a reader sees: what LLaMA-Factory reads
through ``dataset_info.json`` and what ``data/manifest.json`` says, or a run's report folder. It must be the
complete old state or the complete new one, never a mix. Run this module as a script for the kill loop itself::

    python tests/fault_harness.py kill-loop SPEC.json   # (what the tests do; see _kill_loop there)
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import pytest  # noqa: E402
from fake_openai import GOOD, FakeServer, chat_answer  # noqa: E402
from fault_harness import (  # noqa: E402
    build_spec,
    nothing_readable,
    plain_copy,
    assert_ok,
    assert_user_error,
    error_lines,
    observe_data,
    observe_report,
    read_json,
    run_cli,
    run_kill_loop,
    write_jsonl,
)

from cluener import layout  # noqa: E402

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

GOLD_LINES = 3  # sentences in the small gold file of the eval rows (the first lines of the official dev.json)
MAX_RETRIES = 2  # the client rows' bound: 3 attempts a request at most


# ---------------------------------------------------------------- fixtures of the rows


@dataclass
class Ctx:
    """What a row's setup can use: a temp folder (the commands' working directory), the CLUENER copy, the small
    gold file and its sentences, and the fake server of a client row."""

    tmp: Path
    cluener: Path
    gold: Path
    texts: list[str]
    server: FakeServer | None = None
    notes: dict = field(default_factory=dict)

    def predictions(self, predicts: list[str], prompts: bool | list[bool] = True, name: str = "p.jsonl") -> Path:
        flags = prompts if isinstance(prompts, list) else [prompts] * len(predicts)
        rows = []
        for text, predict, with_prompt in zip(self.texts, predicts, flags, strict=True):
            row = {"predict": predict, "label": ""}
            if with_prompt:
                row["prompt"] = f"<|im_start|>user\n抽取实体\n{text}<|im_end|>\n<|im_start|>assistant\n"
            rows.append(row)
        return write_jsonl(self.tmp / name, rows)

    def score(self, pred: Path, name: str = "run", *extra: str) -> list[str]:
        return ["-m", "eval", "score", str(pred), "--gold", str(self.gold), "--name", name, "--reports",
                str(self.tmp / "reports"), *extra]  # fmt: skip

    def metrics(self, name: str = "run") -> dict:
        return read_json(self.tmp / "reports" / name / "metrics.json")

    def build(self, *extra: str) -> list[str]:
        return ["-m", "dataprep.build", "--cluener-dir", str(self.cluener), "--data-dir", str(self.tmp / "data"),
                "--dataset-info", str(self.tmp / layout.DATASET_INFO), *extra]  # fmt: skip

    def alpaca(self, n: int = 2) -> Path:
        rows = [{"instruction": "抽取实体", "input": text, "output": "{}"} for text in self.texts[:n]]
        path = self.tmp / "records.json"
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        return path

    def infer(self, n: int = 2, *extra: str) -> list[str]:
        assert self.server is not None
        return ["-m", "infer", "--dataset", str(self.alpaca(n)), "--output", str(self.output), "--base-url",
                self.server.url, "--model", "fake", "--concurrency", "1", "--max-retries", str(MAX_RETRIES),
                "--backoff", "0", "--timeout", "30", "--no-progress-bar", *extra]  # fmt: skip

    @property
    def output(self) -> Path:
        return self.tmp / "out" / layout.PREDICTIONS_FILE


@dataclass
class Row:
    """One class of bad input: ``setup`` writes fixtures and returns the command's arguments; the command must end
    in one error line holding every ``needle`` (``ok=False``), or succeed and pass ``check``."""

    id: str
    setup: Callable[[Ctx], list[str]]
    needles: tuple[str, ...] = ()
    ok: bool = False
    check: Callable[[Ctx, subprocess.CompletedProcess], None] | None = None
    script: list[tuple[int, bytes]] | None = None  # a client row: the fake server's answers
    after: tuple[int, bytes] = GOOD


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _nothing_written(ctx: Ctx, proc) -> None:
    assert _tree(ctx.tmp / layout.DATA_DIR) == ctx.notes["data before"]
    info = ctx.tmp / layout.DATASET_INFO
    assert (info.read_bytes() if info.is_file() else None) == ctx.notes["dataset_info before"]


def _no_run_folder(ctx: Ctx, proc) -> None:
    reports = ctx.tmp / "reports"
    assert not reports.exists() or [p.name for p in reports.iterdir() if p.is_dir()] == []


def _file_info(ctx: Ctx, content: str) -> list[str]:
    (ctx.tmp / layout.DATASET_INFO).write_text(content, encoding="utf-8")
    return ctx.build()


def _train_lines(ctx: Ctx) -> int:
    return len((ctx.cluener / layout.RAW_FILES["train"]).read_text(encoding="utf-8").splitlines())


def _target_is_a_directory(ctx: Ctx) -> list[str]:
    (ctx.tmp / "data" / f"{layout.dataset_name('train')}.json").mkdir(parents=True)
    return ctx.build()


def _manifest(ctx: Ctx, content: str) -> list[str]:
    data = ctx.tmp / "baddata"
    data.mkdir()
    (data / layout.MANIFEST).write_text(content, encoding="utf-8")
    return ["-m", "eval", "score", str(ctx.predictions(["{}"] * GOLD_LINES)), "--split", layout.REPORTING_SPLIT,
            "--data-dir", str(data), "--name", "run", "--reports", str(ctx.tmp / "reports")]  # fmt: skip


def _shuffled_one_prompt_missing(ctx: Ctx) -> list[str]:
    path = ctx.predictions(["{}"] * GOLD_LINES, prompts=[True, False, True])
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(lines[1] + lines[0] + lines[2], encoding="utf-8")  # shuffled: the prompts no longer match
    return ctx.score(path)


def _foreign_metrics(content: str) -> Callable[[Ctx], list[str]]:
    def setup(ctx: Ctx) -> list[str]:
        foreign = ctx.tmp / "reports" / "foreign" / "metrics.json"
        foreign.parent.mkdir(parents=True)
        foreign.write_text(content, encoding="utf-8")
        return ctx.score(ctx.predictions(["{}"] * GOLD_LINES))

    return setup


def _foreign_listed(ctx: Ctx, proc) -> None:
    """The run is scored beside it (a run's report reads that run only); the index pass names it as unreadable."""
    assert ctx.metrics()["lines"] == GOLD_LINES
    assert_ok(run_cli(["-m", "eval", "index", "--reports", str(ctx.tmp / "reports")], ctx.tmp))
    index = (ctx.tmp / "reports" / "README.md").read_text(encoding="utf-8")
    assert "foreign" in index and "could not be read" in index


def _parse_counts(**expected: int) -> Callable[[Ctx, subprocess.CompletedProcess], None]:
    def check(ctx: Ctx, proc) -> None:
        parse = ctx.metrics()["parse"]
        assert {key: parse.get(key) for key in expected} == expected, parse

    return check


def _surrogate_scored(ctx: Ctx, proc) -> None:
    folder = ctx.tmp / "reports" / "run"
    for path in [p for p in folder.iterdir() if p.suffix in (".md", ".json", ".jsonl")]:  # text: valid UTF-8
        path.read_bytes().decode("utf-8")
    details = [json.loads(line) for line in (folder / "details.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(details) == GOLD_LINES
    assert ctx.metrics()["parse"]["hallucinated"] == GOLD_LINES  # the replaced string is in no sentence


def _surrogates(ctx: Ctx) -> list[str]:
    path = ctx.tmp / "p.jsonl"
    lines = [
        '{"prompt": %s, "predict": "{\\"name\\":[\\"\\ud800x\\"]}"}' % json.dumps(text, ensure_ascii=False)
        for text in ctx.texts
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ctx.score(path)


def _empty_gold_and_predictions(ctx: Ctx) -> list[str]:
    gold, pred = ctx.tmp / "empty_gold.json", ctx.tmp / "empty.jsonl"
    gold.write_text("", encoding="utf-8")
    pred.write_text("", encoding="utf-8")
    return ["-m", "eval", "score", str(pred), "--gold", str(gold), "--name", "run", "--reports",
            str(ctx.tmp / "reports")]  # fmt: skip


def _empty_predictions(ctx: Ctx) -> list[str]:
    pred = ctx.tmp / "empty.jsonl"
    pred.write_text("", encoding="utf-8")
    return ctx.score(pred)


def _submit_to_directory(ctx: Ctx) -> list[str]:
    (ctx.tmp / "outdir").mkdir()
    return ["-m", "eval", "submit", str(ctx.predictions(["{}"] * GOLD_LINES)), "--gold", str(ctx.gold), "--out",
            str(ctx.tmp / "outdir")]  # fmt: skip


def _client_output_complete(n: int) -> Callable[[Ctx, subprocess.CompletedProcess], None]:
    def check(ctx: Ctx, proc) -> None:
        rows = [json.loads(line) for line in ctx.output.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == n and all(row["predict"] == "{}" for row in rows)

    return check


def _posts(n: int) -> Callable[[Ctx, subprocess.CompletedProcess], None]:
    def check(ctx: Ctx, proc) -> None:
        assert ctx.server is not None and ctx.server.posts == n, ctx.server.posts
        assert not ctx.output.exists()

    return check


def _no_content_counted(kind: str) -> Callable[[Ctx, subprocess.CompletedProcess], None]:
    def check(ctx: Ctx, proc) -> None:
        rows = [json.loads(line) for line in ctx.output.read_text(encoding="utf-8").splitlines()]
        assert [row.get("no_content") for row in rows] == [kind, None]
        assert "1 answer" in proc.stderr and "no content" in proc.stderr
        gold = ctx.tmp / "gold2.json"
        gold.write_text("".join(ctx.gold.read_text(encoding="utf-8").splitlines(keepends=True)[:2]), encoding="utf-8")
        scored = run_cli(["-m", "eval", "score", str(ctx.output), "--gold", str(gold), "--name", "run",
                          "--reports", str(ctx.tmp / "reports")], ctx.tmp)  # fmt: skip
        assert_ok(scored)
        parse = ctx.metrics()["parse"]
        assert (parse["no_content"], parse["failed"], parse["ok"]) == (1, 1, 1), parse
        assert "no content" in (ctx.tmp / "reports" / "run" / "report.md").read_text(encoding="utf-8")

    return check


CUT_SHORT = (200, b'{"choices": [ {"message": ')
TRUNC = "对不起，我无法回答 {"  # no entity structure at all: failed, never "repaired"

ROWS = [
    # ---- data: python -m dataprep.build (make data)
    Row("data: --val-size 0", lambda c: c.build("--val-size", "0"), ("--val-size",), check=_nothing_written),
    Row("data: --val-size negative", lambda c: c.build("--val-size", "-5"), ("--val-size",), check=_nothing_written),
    Row("data: --val-size the whole train set", lambda c: c.build("--val-size", str(_train_lines(c))),
        ("--val-size", "at most"), check=_nothing_written),  # fmt: skip
    Row("data: dataset_info.json not an object", lambda c: _file_info(c, "[1, 2]"),
        (layout.DATASET_INFO, "JSON object"), check=_nothing_written),  # fmt: skip
    Row("data: dataset_info.json not JSON", lambda c: _file_info(c, "{oops"), (layout.DATASET_INFO, "line 1"),
        check=_nothing_written),  # fmt: skip
    Row("data: a data file path is a directory", _target_is_a_directory,
        (f"{layout.dataset_name('train')}.json", "directory"), check=_nothing_written),  # fmt: skip
    Row("data: --cluener-dir missing", lambda c: c.build() + ["--cluener-dir", str(c.tmp / "nowhere")],
        ("nowhere",), check=_nothing_written),  # fmt: skip
    # ---- gold / manifest
    Row("manifest: empty", lambda c: _manifest(c, ""), (layout.MANIFEST, "make data")),
    Row("manifest: not an object", lambda c: _manifest(c, "[]"), (layout.MANIFEST, "make data")),
    Row("manifest: foreign object", lambda c: _manifest(c, '{"hello": 1}'), (layout.MANIFEST, "make data")),
    Row("gold and predictions empty", _empty_gold_and_predictions, ("empty_gold.json", "no sentences")),
    Row("predictions empty", _empty_predictions, ("empty.jsonl", "no predictions")),
    # ---- predictions: order check
    Row("order: shuffled, one line without a prompt", _shuffled_one_prompt_missing,
        ("p.jsonl:1", "no prompt", "--no-order-check")),  # fmt: skip
    Row("order: no line has a prompt", lambda c: c.score(c.predictions(["{}"] * GOLD_LINES, prompts=False)),
        ("p.jsonl:1", "no prompt", "--no-order-check")),  # fmt: skip
    Row("order: shuffled prompts", lambda c: c.score(_reversed(c.predictions(["{}"] * GOLD_LINES))),
        ("p.jsonl:1", "--no-order-check")),  # fmt: skip
    Row("order: --no-order-check is explicit",
        lambda c: c.score(c.predictions(["{}"] * GOLD_LINES, prompts=False), "run", "--no-order-check"), ok=True,
        check=lambda c, p: c.metrics()["order_check"].startswith("disabled")),  # fmt: skip
    # ---- predictions: parse status counts exactly
    Row("parse: no entity structure is failed", lambda c: c.score(c.predictions([TRUNC, "{}", "好的：{} 。"])),
        ok=True, check=_parse_counts(failed=1, ok=1, repaired=1)),  # fmt: skip
    Row("parse: an unclosed <think> is failed and counted",
        lambda c: c.score(c.predictions(['<think>先想想 {"name":["彭小军"]}', "{}", '<think>\n</think>\n{}'])),
        ok=True, check=_parse_counts(failed=1, ok=1, repaired=1, unclosed_think=1)),  # fmt: skip
    Row("text: unpaired surrogates score and report", _surrogates, ok=True, check=_surrogate_scored),
    # ---- reports and run names
    Row("run name: a newline", lambda c: c.score(c.predictions(["{}"] * GOLD_LINES), "a\n"), ("--name",),
        check=_no_run_folder),  # fmt: skip
    Row("run name: 300 characters", lambda c: c.score(c.predictions(["{}"] * GOLD_LINES), "a" * 300), ("--name",),
        check=_no_run_folder),  # fmt: skip
    Row("run name: a path", lambda c: c.score(c.predictions(["{}"] * GOLD_LINES), "../x"), ("--name",),
        check=_no_run_folder),  # fmt: skip
    Row("reports: a foreign metrics.json", _foreign_metrics('{"name": "x", "parse": {}}'), ok=True,
        check=_foreign_listed),  # fmt: skip
    Row("reports: an empty metrics.json", _foreign_metrics(""), ok=True, check=_foreign_listed),
    Row("submit: --out is a directory", _submit_to_directory, ("--out", "directory")),
    # ---- client: python -m infer (make predict-api) against the fake server
    Row("client: a 200 cut short, once", lambda c: c.infer(2), ok=True, script=[CUT_SHORT],
        check=_client_output_complete(2)),  # fmt: skip
    Row("client: a 200 cut short, always", lambda c: c.infer(2), ("gave up after 3 attempts", "not JSON"),
        script=[], after=CUT_SHORT, check=_posts(3)),  # fmt: skip
    Row("client: no choices, always", lambda c: c.infer(2), ("gave up after 3 attempts", "choices"),
        script=[], after=(200, b'{"choices": []}'), check=_posts(3)),  # fmt: skip
    Row("client: 503 then 200", lambda c: c.infer(2), ok=True, script=[(503, b"{}"), (503, b"{}")],
        check=_client_output_complete(2)),  # fmt: skip
    Row("client: 404 is not retried", lambda c: c.infer(2), ("HTTP 404",), script=[(404, b'{"error": "no"}')],
        check=_posts(1)),  # fmt: skip
    Row("client: null content is counted", lambda c: c.infer(2), ok=True,
        script=[(200, chat_answer(None))], check=_no_content_counted("null")),  # fmt: skip
    Row("client: missing content is counted", lambda c: c.infer(2), ok=True,
        script=[(200, chat_answer(message={"role": "assistant"}))], check=_no_content_counted("missing")),  # fmt: skip
    Row("client: --max-retries negative", lambda c: c.infer(2, "--max-retries", "-1"), ("--max-retries",),
        script=[]),  # fmt: skip
]


def _reversed(path: Path) -> Path:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(reversed(lines)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_gold(tmp_path_factory, cluener_dir) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("gold") / "gold3.json"
    lines = (Path(cluener_dir) / layout.RAW_FILES["dev"]).read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:GOLD_LINES]), encoding="utf-8")
    return path, [json.loads(line)["text"] for line in lines[:GOLD_LINES]]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input(row: Row, tmp_path, small_gold, cluener_dir):
    ctx = Ctx(tmp_path, Path(cluener_dir), small_gold[0], small_gold[1])
    if row.script is not None:
        ctx.server = FakeServer(row.script, row.after)
    try:
        args = row.setup(ctx)
        info = tmp_path / layout.DATASET_INFO
        ctx.notes["data before"] = _tree(tmp_path / layout.DATA_DIR)
        ctx.notes["dataset_info before"] = info.read_bytes() if info.is_file() else None
        proc = run_cli(args, tmp_path)
        if row.ok:
            assert_ok(proc)
        else:
            assert_user_error(proc, row.needles)
        if row.check:
            row.check(ctx, proc)
    finally:
        if ctx.server is not None:
            ctx.server.close()


# ---------------------------------------------------------------- make report: every run it can


def test_make_report_scores_every_run_it_can_and_lists_the_failed_ones(tmp_path, data_dir, dev_records):
    """Four recipes: one good, one with two lines swapped, one with an unpaired surrogate, one with its last line
    missing. The good and the odd one are scored, the short one as partial (eval/partial.py), reports/README.md
    lists them, the exit code is non-zero and the failed (swapped) run is named."""
    saves, reports = tmp_path / "saves", tmp_path / "reports"
    split = layout.REPORTING_SPLIT

    def rows(predict: str) -> list[dict]:
        return [{"prompt": f"{r['instruction']}\n{r['input']}", "predict": predict, "label": r["output"]}
                for r in dev_records]  # fmt: skip

    write_jsonl(layout.predictions_file(layout.recipe_save_dir("good", saves), split), rows("{}"))
    swapped = rows("{}")
    swapped[0], swapped[1] = swapped[1], swapped[0]
    write_jsonl(layout.predictions_file(layout.recipe_save_dir("swapped", saves), split), swapped)
    write_jsonl(layout.predictions_file(layout.recipe_save_dir("short", saves), split), rows("{}")[:-1])
    odd = layout.predictions_file(layout.recipe_save_dir("odd", saves), split)
    write_jsonl(odd, rows("{}"))
    text = odd.read_text(encoding="utf-8").replace('"predict": "{}"', '"predict": "{\\"name\\":[\\"\\ud800\\"]}"', 1)
    odd.write_text(text, encoding="utf-8")
    proc = run_cli(["-m", "eval", "report", "--saves", str(saves), "--reports", str(reports), "--data-dir",
                    str(data_dir)], tmp_path)  # fmt: skip
    where = f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, where
    swapped_run, short_run, good_run, odd_run = (layout.run_name(r, split) for r in ("swapped", "short", "good", "odd"))
    assert swapped_run in proc.stderr and "swapped" in error_lines(proc)[-1], where
    index = (reports / "README.md").read_text(encoding="utf-8")
    assert good_run in index and odd_run in index and short_run in index and swapped_run not in index
    assert f"(partial: {len(dev_records) - 1} of {len(dev_records)} sentences)" in index
    assert not (reports / swapped_run).exists()
    assert read_json(reports / odd_run / "metrics.json")["parse"]["hallucinated"] == 1



def test_report_refresh_lists_a_report_it_cannot_read(tmp_path, data_dir, dev_records):
    """`eval report --refresh` re-renders the reports without predictions under saves/; one whose details.jsonl is
    unreadable is named in the closing error line and the exit code, and reports/README.md is still written."""
    saves, reports = tmp_path / "saves", tmp_path / "reports"
    split = layout.REPORTING_SPLIT
    rows = [{"prompt": f"{r['instruction']}\n{r['input']}", "predict": "{}", "label": r["output"]} for r in dev_records]
    write_jsonl(layout.predictions_file(layout.recipe_save_dir("good", saves), split), rows)
    command = ["-m", "eval", "report", "--saves", str(saves), "--reports", str(reports), "--data-dir", str(data_dir)]
    assert_ok(run_cli(command, tmp_path))
    broken = reports / "broken-dev"
    broken.mkdir()
    (broken / "details.jsonl").write_text("{not json\n", encoding="utf-8")
    (reports / "README.md").unlink()
    leftover = reports / f".good-{split}.k1ll3d.tmp"  # what a killed write leaves (cluener.files.atomic_folder)
    shutil.copytree(reports / f"good-{split}", leftover)
    (leftover / "details.jsonl").write_text("{cut short", encoding="utf-8")
    proc = run_cli([*command, "--refresh"], tmp_path)
    where = f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, where
    assert error_lines(proc)[-1].endswith("1 of 2 runs failed: broken-dev"), where
    assert (reports / "README.md").is_file()

def test_make_data_is_all_or_nothing_under_kill(tmp_path, cluener_dir):
    """Seed 42 built, then a rebuild with seed 7: from a complete set, from nothing, and from the older layout of
    plain files. After every step, and after real SIGKILLs, a reader sees the complete old set or the complete new
    one (or, on a first build, nothing readable); a rerun after a kill finishes with the complete new set."""
    old = tmp_path / "old"
    old.mkdir()
    assert_ok(run_cli(["-m", "dataprep.build", "--cluener-dir", str(cluener_dir), "--seed", "42"], old))
    seen_old = observe_data(old)
    assert seen_old["manifest"]["seed"] == 42 and None not in seen_old["datasets"].values()
    assert len(seen_old["datasets"]) == len(layout.dataset_names(["default", "guided"]))
    plain = plain_copy(old, tmp_path / "plain")
    assert observe_data(plain) == seen_old

    rebuild = run_kill_loop(tmp_path, **build_spec(cluener_dir, 7, old, tmp_path / "w", trace=True))
    seen_new = rebuild["end"]
    assert rebuild["code"] == 0 and seen_new["manifest"]["seed"] == 7 and None not in seen_new["datasets"].values()
    assert seen_new["datasets"] != seen_old["datasets"]
    first, last = rebuild["trace"][0], rebuild["trace"][-1]
    assert len(rebuild["trace"]) == 2, f"{rebuild['steps']} steps, states seen: {rebuild['trace']}"
    assert first["manifest"] == seen_old["manifest"] and last["manifest"] == seen_new["manifest"]

    for start in (tmp_path / "absent", plain):
        traced = run_kill_loop(tmp_path, **build_spec(cluener_dir, 7, start, tmp_path / "w", trace=True))
        assert traced["code"] == 0 and traced["end"] == seen_new
        states, before = traced["trace"], (nothing_readable if start.name == "absent" else lambda s, t=traced: s == t["trace"][0])
        assert states[-1]["manifest"] == seen_new["manifest"] and None not in states[-1]["datasets"].values()
        assert all(before(state) for state in states[:-1]), states
        assert start.name == "absent" or states[0]["manifest"] == seen_old["manifest"]

    steps = rebuild["steps"]
    kills = run_kill_loop(tmp_path, **build_spec(cluener_dir, 7, old, tmp_path / "w",
                                                  kill_at=[steps // 2, steps - 1], delays=[0.5]))["kills"]  # fmt: skip
    for kill in kills:
        assert kill["seen"] in (seen_old, seen_new), kill["at"]
        assert kill["rerun_code"] == 0 and kill["rerun"] == seen_new, kill["at"]
    assert all(kill["killed"] for kill in kills if kill["at"][0] == "step")


def test_a_report_folder_is_all_or_nothing_under_kill(tmp_path, small_gold):
    """A run rescored with other predictions: after every step, and after real SIGKILLs, its report folder is the
    complete old report or the complete new one; a rerun after a kill writes the new one."""
    gold, texts = small_gold

    def predictions(predict: str, name: str) -> Path:
        return write_jsonl(tmp_path / name, [{"prompt": t, "predict": predict} for t in texts])

    old_pred, new_pred = predictions("{}", "old.jsonl"), predictions('{"name":["彭小军"]}', "new.jsonl")

    def argv(pred: Path) -> list[str]:
        return ["score", str(pred), "--gold", str(gold), "--name", "run", "--reports", "reports"]

    start = tmp_path / "start"
    start.mkdir()
    assert_ok(run_cli(["-m", "eval", *argv(old_pred)], start))
    seen_old = observe_report(start / "reports" / "run")
    # imported before forking, so that the kills land in scoring, not in imports (matplotlib uses pandas when there)
    preload = ["matplotlib.pyplot", *(["pandas"] if importlib.util.find_spec("pandas") else [])]
    spec = {"module": "eval.__main__", "argv": argv(new_pred), "start": str(start), "work": str(tmp_path / "w"),
            "observe": "report", "observe_in": "reports/run", "preload": preload}  # fmt: skip
    traced = run_kill_loop(tmp_path, **spec, trace=True)
    seen_new = traced["end"]
    assert traced["code"] == 0 and seen_new["predictions_sha256"] != seen_old["predictions_sha256"]
    assert seen_new["files"] == seen_old["files"] and None not in seen_new.values()
    assert len(traced["trace"]) == 2, f"{traced['steps']} steps, states seen: {traced['trace']}"
    steps = traced["steps"]
    kills = run_kill_loop(tmp_path, **spec, kill_at=[steps // 2, steps - 1], delays=[0.3])["kills"]
    for kill in kills:
        assert kill["seen"] in (seen_old, seen_new), kill["at"]
        assert kill["rerun_code"] == 0 and kill["rerun"] == seen_new, kill["at"]
