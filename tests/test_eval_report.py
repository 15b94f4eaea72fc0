"""Reports: the CLI (score / report / submit), files and their content, baselines data against BASELINES.md."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys

import pytest

from eval.__main__ import main
from cluener.labels import LABELS
from eval.report import load_baselines, render_index, render_report
from eval.report.markdown import code, md
from eval.report.sections import comparison_section

from conftest import SHARED_CLUENER, lf_row, write_jsonl

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

REQUIRED_KEYS = ("official.macro_f1", "official.micro_f1", "span.micro_f1", "span.macro_f1")


def get(metrics: dict, dotted: str):
    for key in dotted.split("."):
        metrics = metrics[key]
    return metrics


def noisy_outputs(records):
    """Deterministic imperfect outputs in the formats a model produces."""
    out = []
    for i, r in enumerate(records):
        target = json.loads(r["output"]) if r["output"] else {}
        if i % 4 == 0 and target:
            target.pop(next(iter(target)))  # missed
        elif i % 6 == 1 and target:
            label = next(iter(target))
            target[label] = [t[:-1] or t for t in target[label]]  # boundary
        elif i % 6 == 3 and target:
            label = next(iter(target))
            target.setdefault("scene" if label != "scene" else "name", []).extend(target.pop(label))  # type
        text = json.dumps(target, ensure_ascii=False)
        if i % 9 == 0:
            text = f"<think>\n\n</think>\n\n{text}"
        if i % 11 == 0:
            text = '{"name":["不存在"]}'
        if i % 50 == 0:
            text = "无法回答"
        out.append(text)
    return out


def score(pred, *options) -> int:
    """``python -m eval score PRED OPTIONS...`` in this process; its exit status."""
    return main(["score", str(pred), *map(str, options)])


@pytest.fixture(scope="module")
def dev_run(tmp_path_factory, dev_records, data_dir):
    root = tmp_path_factory.mktemp("run")
    pred = write_jsonl(root / "pred.jsonl", (lf_row(r, o) for r, o in zip(dev_records, noisy_outputs(dev_records))))
    reports = root / "reports"
    assert score(pred, "--split", "dev", "--name", "noisy-dev", "--reports", reports, "--data-dir", data_dir) == 0
    return reports / "noisy-dev"


def test_score_writes_every_file(dev_run):
    names = {p.name for p in dev_run.iterdir()}
    assert names == {"report.md", "metrics.json", "f1_per_class.png", "cluener_predict.json", "details.jsonl"}
    assert (dev_run / "f1_per_class.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(dev_run.glob(".*.tmp"))
    assert not (dev_run.parent / "README.md").exists()  # score writes its run only; the index is its own pass


def test_metrics_json_has_the_documented_fields(dev_run):
    metrics = json.loads((dev_run / "metrics.json").read_text(encoding="utf-8"))
    for key in REQUIRED_KEYS:
        assert 0.0 < get(metrics, key) < 1.0
    for metric in ("official", "span"):
        for label in LABELS:
            assert set(metrics[metric]["per_class"][label]) >= {"precision", "recall", "f1", "support"}
    assert metrics["span"]["per_class"]["address"]["support"] == 373  # spans (BASELINES.md support)
    assert metrics["official"]["per_class"]["address"]["support"] == 364  # distinct strings (README)
    parse = metrics["parse"]
    assert parse["ok"] + parse["repaired"] + parse["failed"] == 1343
    assert parse["failed"] == len(range(0, 1343, 50))
    assert parse["hallucinated"] > 0 and parse["repaired"] > 0
    assert metrics["split"] == "dev" and metrics["order_check"].startswith("passed")


def test_cluener_predictions_file_is_one_valid_line_per_source_line(dev_run):
    from cluener.reader import read_cluener

    rows = read_cluener(dev_run / "cluener_predict.json")
    gold = read_cluener(SHARED_CLUENER / "dev.json")
    assert [r.text for r in rows] == [g.text for g in gold]
    details = (dev_run / "details.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(details) == 1343 and json.loads(details[0])["line"] == 1


def test_report_md_sections(dev_run):
    report = (dev_run / "report.md").read_text(encoding="utf-8")
    for heading in (
        "## Summary",
        "## Per class: official CLUENER",
        "## Per class: span",
        "## Parse",
        "## Error analysis",
        "### Confusion matrix",
        "## Comparison",
    ):
        assert heading in report
    assert report.count("| class | precision | recall | f1-score | support |") == 2
    metrics = json.loads((dev_run / "metrics.json").read_text(encoding="utf-8"))
    low, high = metrics["official"]["macro_f1_ci95"]  # the 95% sentence-bootstrap interval beside the score
    assert low <= metrics["official"]["macro_f1"] <= high
    assert f"| official macro F1 | {metrics['official']['macro_f1']:.4f} ({low:.4f}–{high:.4f}) |" in report
    assert "not training randomness" in report
    assert "| Roberta-wwm-ext+BiLstm+Crf | 0.64 | 0.77 |" in report
    assert "![per-class F1](f1_per_class.png)" in report
    for category in ("boundary", "type", "spurious", "missed", "hallucinated"):
        assert re.search(rf"^### {category} \(\d+\)", report, re.MULTILINE), category


def test_semeval_schemes_in_metrics_json_and_report_md(dev_run):
    """The SemEval-2013 family (eval/semeval.py) reaches metrics.json and report.md through the family registry; its
    strict scheme counts what the span metric counts."""
    metrics = json.loads((dev_run / "metrics.json").read_text(encoding="utf-8"))
    semeval, span = metrics["semeval"], metrics["span"]
    assert list(metrics).index("semeval") == list(metrics).index("span") + 1
    assert semeval["strict"]["correct"] == sum(c["tp"] for c in span["per_class"].values())
    assert semeval["strict"]["possible"] == span["support"] and semeval["strict"]["f1"] == span["micro_f1"]
    assert semeval["strict"]["f1"] < semeval["partial"]["f1"]  # the noisy outputs cut boundaries short
    assert semeval["partial"]["partial"] > 0 and semeval["per_class"]["address"]["exact"]["possible"] == 373
    report = (dev_run / "report.md").read_text(encoding="utf-8")
    strict = semeval["strict"]
    assert "## SemEval-2013 span schemes" in report
    assert (f"| strict | same boundaries and type | {strict['precision']:.4f} | {strict['recall']:.4f} | "
            f"{strict['f1']:.4f} | {strict['correct']} | {strict['incorrect']} | 0 | {strict['missed']} | "
            f"{strict['spurious']} |") in report  # fmt: skip


def test_refresh_adds_a_family_the_report_predates(dev_run, tmp_path):
    """A report written before a metric family existed gets its section on refresh, from details.jsonl, equal to
    what scoring writes, in its place; nothing else moves."""
    import shutil

    from eval.runs import refresh_report

    shutil.copytree(dev_run, tmp_path / dev_run.name)
    path = tmp_path / dev_run.name / "metrics.json"
    scored = json.loads(path.read_text(encoding="utf-8"))
    older = {k: v for k, v in scored.items() if k != "semeval"}
    path.write_text(json.dumps(older), encoding="utf-8")
    refreshed = refresh_report(dev_run.name, tmp_path)
    assert refreshed == scored and list(refreshed) == list(scored)
    assert "## SemEval-2013 span schemes" in (tmp_path / dev_run.name / "report.md").read_text(encoding="utf-8")


def test_a_report_without_a_family_is_not_up_to_date(dev_run, tmp_path):
    """`make report` scores again a report of the same predictions that predates a metric family."""
    import shutil

    from eval.runs import up_to_date_metrics

    pred = dev_run.parent.parent / "pred.jsonl"
    folder = shutil.copytree(dev_run, tmp_path / dev_run.name)
    assert up_to_date_metrics(pred, folder) is not None
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    del metrics["semeval"]
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    assert up_to_date_metrics(pred, folder) is None


def test_published_figures_are_compared_on_their_own_metric_and_split():
    baselines = load_baselines()
    metrics = {
        "name": "r",
        "split": "dev",
        "official": {"macro_f1": 0.5, "micro_f1": 0.6},
        "span": {"micro_f1": 0.7, "macro_f1": 0.65, "per_class": {lb: {"f1": 0.7} for lb in LABELS}},
    }
    text = "\n".join(
        comparison_section(
            {**metrics, "parse": {"failed": 0, "hallucinated": 0}, "official": {**metrics["official"]}}, baselines
        )
    )
    assert "| official macro F1 | 0.7970 | 0.5000 | -0.2970 |" in text  # LLM row, official macro
    assert "| official micro F1 | 0.7988 | 0.6000 | -0.1988 |" in text  # string micro = official micro
    assert "| span micro F1 | 0.8076 | 0.7000 | -0.1076 |" in text
    assert "| official macro F1 | 0.7882 | — (published on test) | — |" in text
    val = "\n".join(
        comparison_section({**metrics, "split": "val", "parse": {"failed": 0, "hallucinated": 0}}, baselines)
    )
    assert "Not compared: the baselines are dev figures and this run is on val." in val
    assert "| span micro F1 | 0.8076 | — (published on dev) | — |" in val


class OpenedFiles:
    """Every path this process opens while recording (the ``open`` audit event: ``open()``, ``Path.open``,
    ``io.open``, ``os.open``), to prove what a command reads. An audit hook cannot be removed: it records only
    inside ``with``."""

    hooked = False
    active: list[str] | None = None

    def __enter__(self) -> list[str]:
        if not OpenedFiles.hooked:
            sys.addaudithook(OpenedFiles._hook)
            OpenedFiles.hooked = True
        OpenedFiles.active = []
        return OpenedFiles.active

    def __exit__(self, *exc) -> None:
        OpenedFiles.active = None

    @staticmethod
    def _hook(event: str, args: tuple) -> None:
        if event == "open" and OpenedFiles.active is not None and isinstance(args[0], (str, bytes, os.PathLike)):
            OpenedFiles.active.append(os.fsdecode(args[0]))


def test_writing_a_run_reads_that_run_only(tmp_path, dev_run, dev_records, data_dir):
    """A run's report.md is a function of that run alone: beside another scored run and two broken ones (a
    malformed metrics.json, a details.jsonl cut short), score opens no file of theirs and writes, byte for byte, the
    report.md it writes into an empty reports/."""
    pred = write_jsonl(tmp_path / "gold.jsonl", (lf_row(r, r["output"]) for r in dev_records))
    alone, crowded = tmp_path / "alone", tmp_path / "crowded"
    assert score(pred, "--split", "dev", "--name", "gold-dev", "--reports", alone, "--data-dir", data_dir) == 0
    shutil.copytree(dev_run, crowded / "noisy-dev")
    shutil.copytree(dev_run, crowded / "malformed-dev")
    (crowded / "malformed-dev" / "metrics.json").write_text("{not json", encoding="utf-8")
    shutil.copytree(dev_run, crowded / "cut-dev")
    (crowded / "cut-dev" / "details.jsonl").write_text('{"text": "cut sh', encoding="utf-8")
    with OpenedFiles() as opened:
        assert score(pred, "--split", "dev", "--name", "gold-dev", "--reports", crowded, "--data-dir", data_dir) == 0
    others = [p for p in opened if any(f"{os.sep}{run}{os.sep}" in p for run in ("noisy-dev", "malformed-dev", "cut-dev"))]
    assert others == [], others
    assert any(p.endswith(f"{os.sep}gold.jsonl") for p in opened)  # the recording saw the run's own reads
    report = (crowded / "gold-dev" / "report.md").read_text(encoding="utf-8")
    assert report == (alone / "gold-dev" / "report.md").read_text(encoding="utf-8")
    assert "noisy-dev" not in report and "could not be read" not in report
    assert "[reports/README.md](../README.md)" in report  # where the other runs are
    assert not (crowded / "README.md").exists()


def test_the_index_pass_lists_every_run_with_its_significance(tmp_path, dev_run, dev_records, data_dir, capsys):
    """``python -m eval index``: every run, the best of the split marked, each other run's paired test against it,
    and a run that cannot be read named (never a failure of the pass)."""
    reports = tmp_path / "reports"
    pred = write_jsonl(tmp_path / "gold.jsonl", (lf_row(r, r["output"]) for r in dev_records))
    assert score(pred, "--split", "dev", "--name", "gold-dev", "--reports", reports, "--data-dir", data_dir) == 0
    shutil.copytree(dev_run, reports / "noisy-dev")
    shutil.copytree(dev_run, reports / "malformed-dev")
    (reports / "malformed-dev" / "metrics.json").write_text("{not json", encoding="utf-8")
    capsys.readouterr()
    assert main(["index", "--reports", str(reports)]) == 0
    assert capsys.readouterr().out == f"wrote {reports / 'README.md'}\n"
    index = (reports / "README.md").read_text(encoding="utf-8")
    assert index.index("[gold-dev]") < index.index("[noisy-dev]")  # best official macro first
    rows = {line.split("](")[0].lstrip("| ["): line for line in index.splitlines() if line.startswith("| [")}
    assert rows["gold-dev"].rstrip(" |").endswith("best run")
    assert re.search(r"macro -0\.\d{4} \(p 0\.\d{3}\\\*\)", rows["noisy-dev"]), rows["noisy-dev"]  # significantly worse (* escaped)
    assert "malformed-dev/metrics.json" in index and "could not be read" in index


def test_gold_file_option_recognises_the_official_dev_file(tmp_path, dev_records):
    pred = write_jsonl(tmp_path / "p.jsonl", (lf_row(r, r["output"]) for r in dev_records))
    assert score(pred, "--gold", SHARED_CLUENER / "dev.json", "--name", "g", "--reports", tmp_path / "reports") == 0
    metrics = json.loads((tmp_path / "reports" / "g" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["split"] == "dev" and metrics["official"]["macro_f1"] == 1.0


def test_input_errors_exit_1_with_file_and_line(tmp_path, dev_records, data_dir, capsys):
    pred = write_jsonl(tmp_path / "short.jsonl", (lf_row(r, r["output"]) for r in dev_records[:10]))
    args = ["--split", "dev", "--name", "x", "--reports", str(tmp_path / "reports"), "--data-dir", str(data_dir)]
    assert main(["score", str(pred), *args, "--no-order-check"]) == 1  # short and unchecked: not scored as partial
    assert f"error: {pred}: 10 predictions, but" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"predict": "{}"}\n{"prompt": "x"}\n', encoding="utf-8")
    assert main(["score", str(bad), *args]) == 1
    assert f"error: {bad}:2: 'predict' is missing" in capsys.readouterr().err
    assert main(["score", str(pred), "--split", "dev", "--name", "../escape", "--data-dir", str(data_dir)]) == 1
    assert "run name '../escape'" in capsys.readouterr().err
    assert not (tmp_path / "reports" / "x" / "metrics.json").exists()


def test_report_scores_new_recipe_predictions_once(tmp_path, dev_records, data_dir, capsys):
    saves, reports = tmp_path / "saves", tmp_path / "reports"
    test_records = json.loads((data_dir / "cluener_test.json").read_text(encoding="utf-8"))
    dev = write_jsonl(
        saves / "qwen3_0.6b_lora_sft" / "predict_dev" / "generated_predictions.jsonl",
        (lf_row(r, r["output"]) for r in dev_records),
    )
    write_jsonl(
        saves / "qwen3_0.6b_lora_sft" / "predict_test" / "generated_predictions.jsonl",
        (lf_row(r, "{}") for r in test_records),
    )
    write_jsonl(
        saves / "qwen3_0.6b_lora_sft" / "predict_dev_ckpt100" / "generated_predictions.jsonl",
        (lf_row(r, "{}") for r in dev_records),
    )
    write_jsonl(saves / "odd" / "elsewhere" / "generated_predictions.jsonl", [{"predict": "{}"}])
    write_jsonl(saves / "broken" / "predict_val" / "generated_predictions.jsonl", [{"predict": "{}"}])
    argv = ["report", "--saves", str(saves), "--reports", str(reports), "--data-dir", str(data_dir)]

    assert main(argv) == 1  # the broken val file is an error; the others are still scored
    err = capsys.readouterr().err
    assert "skipped: " in err and "odd/elsewhere" in err
    assert "error: " in err and "broken/predict_val/generated_predictions.jsonl:1: no prompt" in err
    runs = sorted(p.name for p in reports.iterdir() if p.is_dir())
    assert runs == ["qwen3_0.6b_lora_sft-dev", "qwen3_0.6b_lora_sft-dev_ckpt100", "qwen3_0.6b_lora_sft-test"]
    test_run = reports / "qwen3_0.6b_lora_sft-test"
    assert {p.name for p in test_run.iterdir()} == {
        "report.md",
        "metrics.json",
        "cluener_predict.json",
        "details.jsonl",
    }
    test_metrics = json.loads((test_run / "metrics.json").read_text(encoding="utf-8"))
    assert test_metrics["official"] is None and test_metrics["parse"]["ok"] == 1345
    first = json.loads((test_run / "cluener_predict.json").read_text(encoding="utf-8").splitlines()[0])
    assert first == {"id": 0, "label": {}}
    index = (reports / "README.md").read_text(encoding="utf-8")
    assert index.count("](qwen3_0.6b_lora_sft-") == 3

    (saves / "broken").rename(tmp_path / "broken")
    assert main(argv) == 0
    assert capsys.readouterr().out.count("up to date") == 3
    write_jsonl(dev, (lf_row(r, "{}") for r in dev_records))  # new predictions: scored again
    assert main(argv) == 0
    assert capsys.readouterr().out.count("up to date") == 2
    metrics = json.loads((reports / "qwen3_0.6b_lora_sft-dev" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["official"]["macro_f1"] == 0.0


def test_submit_writes_the_leaderboard_file(tmp_path, data_dir, capsys):
    test_records = json.loads((data_dir / "cluener_test.json").read_text(encoding="utf-8"))
    pred = write_jsonl(tmp_path / "p.jsonl", (lf_row(r, '{"name":["' + r["input"][:2] + '"]}') for r in test_records))
    out = tmp_path / "cluener_predict.json"
    assert main(["submit", str(pred), "--out", str(out), "--data-dir", str(data_dir)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == list(range(1345))
    assert rows[0]["label"]["name"] == {test_records[0]["input"][:2]: [[0, 1]]}
    assert "1345 lines" in capsys.readouterr().out


def test_test_split_report_has_no_scores():
    metrics = {
        "name": "t",
        "split": "test",
        "lines": 1,
        "predictions": "p",
        "predictions_sha256": "0" * 64,
        "gold": "g",
        "order_check": "passed",
        "official": None,
        "span": None,
        "errors": None,
        "files": {"report": "report.md", "metrics": "metrics.json", "predictions": "cluener_predict.json"},
        "parse": {
            "total": 1,
            "ok": 1,
            "repaired": 0,
            "failed": 0,
            "hallucinated": 0,
            "hallucinated_lines": 0,
            "overlapped": 0,
            "unknown_labels": 0,
            "unknown_label_counts": {},
            "predicted_strings": 0,
            "predicted_spans": 0,
            "repairs": {},
            "failure_reasons": {},
            "examples": {},
        },
    }
    text = render_report(metrics, load_baselines())
    assert "no gold labels" in text and "## Summary" not in text and "## Parse" in text
    assert "| t](t/report.md) | test | 1 | — | — | — | — |" in render_index([metrics]).replace("[t", "| t")


def test_markdown_escaping():
    assert md("a|b*c_d\nx") == "a\\|b\\*c\\_d x"
    assert code('{"a":"`"}') == '``{"a":"`"}``'
    assert code("`x") == "`` `x ``"
    assert code("plain") == "`plain`"


# ---------------------------------------------------------------- baselines data against its source


def markdown_rows(text: str, header_start: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_baselines_json_matches_baselines_md():
    if not (SHARED_CLUENER / "BASELINES.md").is_file():
        pytest.skip(f"{SHARED_CLUENER}: no BASELINES.md (it ships with ../shared/cluener2020, not the official archive)")
    source = (SHARED_CLUENER / "BASELINES.md").read_text(encoding="utf-8")
    baselines = load_baselines()
    models = {m["model"]: m for m in baselines["span_dev"]["models"]}
    f1_rows = markdown_rows(source, "| model | address |")
    assert [r[0] for r in f1_rows] == list(models)
    for row in f1_rows:
        model = models[row[0]]
        assert [model["per_class"][lb]["f1"] for lb in LABELS] + [model["micro_f1"]] == [float(c) for c in row[1:]]
    pr_rows = markdown_rows(source, "| class | support |")
    assert [r[0] for r in pr_rows] == list(LABELS)
    for row in pr_rows:
        for model, cell in zip(models.values(), row[2:]):
            p, r = (float(x) for x in cell.split("/"))
            c = model["per_class"][row[0]]
            assert (c["precision"], c["recall"], c["support"]) == (p, r, int(row[1]))
    published = markdown_rows(source, "| system | model | split | metric | F1 | source |")
    expected = []
    for system, model, split, metric, f1, _ in published:
        names = {
            "official macro": ["official_macro"],
            "span micro": ["span_micro"],
            "string micro": ["string_micro"],
            "string micro / macro": ["string_micro", "official_macro"],
        }[metric]
        for name, value in zip(names, f1.split(" / ")):
            expected.append((system, model, split, name, float(value)))
    assert [
        (p["system"], p["model"], p["split"], p["metric"], p["f1_as_published"]) for p in baselines["published"]
    ] == expected
    assert all(p["f1"] == round(p["f1_as_published"] / 100, 4) for p in baselines["published"])


def test_a_class_without_gold_is_n_a_and_the_official_macro_is_kept_and_labelled():
    """The committed demo run scores 16 training sentences with no book entity: n/a, not a 0.0000 that reads as a
    failure; the official macro (0.9, book counted 0 as CLUENER score.py does) stays, labelled."""
    from pathlib import Path

    from eval.report.tables import macro_note, per_class_table

    root = Path(__file__).resolve().parents[1]
    metrics = json.loads((root / "reports/demo_tiny_qwen3_full_sft-train16/metrics.json").read_text(encoding="utf-8"))
    assert metrics["official"]["per_class"]["book"]["support"] == 0 and metrics["official"]["macro_f1"] == 0.9
    text = per_class_table(metrics["official"])
    assert "| book | n/a | n/a | n/a | 0 |" in text
    assert "| macro avg (10 types, n/a = 0) | 0.9000 |" in text
    assert "mean F1 over the 9 classes with gold is 1.0000 (not a CLUENER figure)" in macro_note(metrics["official"])
    report = render_report(metrics, load_baselines())
    assert "| book | n/a | n/a | n/a | 0 |" in report and "| book | 0.0000 |" not in report
    full = {**metrics, "official": {**metrics["official"], "per_class": {
        label: {**c, "support": c["support"] or 1} for label, c in metrics["official"]["per_class"].items()}}}  # fmt: skip
    assert macro_note(full["official"]) == "" and "n/a" not in per_class_table(full["official"])
