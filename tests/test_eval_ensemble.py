"""eval.ensemble: vote rules, members on the same sentences, and the ensemble of one run repeated is that run."""

from __future__ import annotations

import json

import pytest

from eval.__main__ import main
from eval.ensemble import SPANS, STRINGS, EnsembleError, build_ensemble, default_min_votes, vote

from conftest import lf_row, write_jsonl

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

TEXT = "张三在北京见李四"


def row(strings: dict, spans: list) -> dict:
    return {"text": TEXT, "strings": strings, "spans": spans}


A = row({"name": ["张三", "李四"]}, [["name", 0, 2], ["name", 6, 8]])
B = row({"name": ["张三"], "address": ["北京"]}, [["name", 0, 2], ["address", 3, 5]])
C = row({"name": ["张三"], "address": ["北京"], "scene": ["不在"]}, [["name", 0, 2], ["address", 3, 5]])


def kept_spans(line: dict) -> set:
    return {(label, s, e + 1) for label, m in line.get("spans", {}).items() for spans in m.values() for s, e in spans}


def test_default_is_a_strict_majority():
    assert [default_min_votes(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]


def test_span_votes():
    members = [[A], [B], [C]]
    assert kept_spans(vote(members, 1, SPANS)[0]) == {("name", 0, 2), ("name", 6, 8), ("address", 3, 5)}
    assert kept_spans(vote(members, 2, SPANS)[0]) == {("name", 0, 2), ("address", 3, 5)}
    assert kept_spans(vote(members, 3, SPANS)[0]) == {("name", 0, 2)}
    line = vote(members, 3, SPANS)[0]
    assert line["predict"] == '{"name":["张三"]}' and line["prompt"] == TEXT


def test_string_votes_count_each_member_once():
    twice = row({"name": ["张三", "张三"]}, [])
    members = [[twice], [row({}, [])], [row({}, [])]]
    assert json.loads(vote(members, 2, STRINGS)[0]["predict"]) == {}
    members = [[A], [B], [C]]
    assert json.loads(vote(members, 2, STRINGS)[0]["predict"]) == {"name": ["张三"], "address": ["北京"]}
    assert json.loads(vote(members, 1, STRINGS)[0]["predict"]) == {
        "name": ["张三", "李四"], "address": ["北京"], "scene": ["不在"]}  # fmt: skip


def test_bad_min_votes():
    with pytest.raises(EnsembleError, match="between 1 and the number of members"):
        vote([[A], [B]], 3, SPANS)
    with pytest.raises(EnsembleError, match="between 1"):
        vote([[A]], 0, STRINGS)


def noisy(records, shift: int) -> list[str]:
    out = []
    for i, r in enumerate(records):
        target = json.loads(r["output"]) if r["output"] else {}
        if (i + shift) % 3 == 0:
            target = {}
        if (i + shift) % 7 == 0:
            target.setdefault("name", []).append("不存在的人")  # hallucinated
        out.append(json.dumps(target, ensure_ascii=False))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, dev_records, data_dir):
    tmp = tmp_path_factory.mktemp("ensemble")
    for shift in (0, 1, 2):
        pred = write_jsonl(tmp / f"m{shift}.jsonl", (lf_row(r, o) for r, o in zip(dev_records, noisy(dev_records, shift))))
        assert main(["score", str(pred), "--split", "dev", "--name", f"m{shift}", "--reports", str(tmp / "reports"),
                     "--data-dir", str(data_dir)]) == 0  # fmt: skip
    return tmp / "reports"


def scores(metrics: dict) -> tuple:
    return (metrics["official"]["macro_f1"], metrics["official"]["micro_f1"], metrics["span"]["micro_f1"],
            metrics["span"]["macro_f1"], metrics["official"]["per_class"], metrics["span"]["per_class"])  # fmt: skip


def test_ensemble_of_one_run_repeated_is_that_run(runs, data_dir):
    for k in (1, 2, 3):
        assert main(["ensemble", "m0", "m0", "m0", "--name", f"same{k}", "--min-votes", str(k),
                     "--reports", str(runs), "--data-dir", str(data_dir)]) == 0  # fmt: skip
        same = json.loads((runs / f"same{k}" / "metrics.json").read_text())
        m0 = json.loads((runs / "m0" / "metrics.json").read_text())
        assert scores(same) == scores(m0)
        assert same["ensemble"] == {"members": ["m0", "m0", "m0"], "min_votes": k, "unit": "strings"}
        assert same["parse"]["hallucinated"] == m0["parse"]["hallucinated"] > 0
        assert (runs / f"same{k}" / "report.md").is_file()


def test_majority_of_three_noisy_runs_beats_each(runs, data_dir):
    assert main(["ensemble", "m0", "m1", "m2", "--name", "vote", "--reports", str(runs),
                 "--data-dir", str(data_dir)]) == 0  # fmt: skip
    ens = json.loads((runs / "vote" / "metrics.json").read_text())
    assert ens["ensemble"]["min_votes"] == 2
    for name in ("m0", "m1", "m2"):
        member = json.loads((runs / name / "metrics.json").read_text())
        assert ens["official"]["micro_f1"] > member["official"]["micro_f1"]


def test_members_must_share_the_split(runs, data_dir, capsys):
    val = json.loads((data_dir / "cluener_val.json").read_text(encoding="utf-8"))
    pred = write_jsonl(runs.parent / "v.jsonl", (lf_row(r, r["output"]) for r in val))
    assert main(["score", str(pred), "--split", "val", "--name", "v", "--reports", str(runs),
                 "--data-dir", str(data_dir)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["ensemble", "m0", "v", "--name", "bad", "--reports", str(runs), "--data-dir", str(data_dir)]) == 1
    assert "different splits" in capsys.readouterr().err
    assert not (runs / "bad").exists()
    with pytest.raises(EnsembleError, match="no members"):
        build_ensemble([], runs)


def test_span_taggers_vote_on_exact_spans(runs, dev_gold, data_dir):
    """CLUENER-format predictions (a span tagger's): the unit is the span, and one run repeated is that run."""
    rows = []
    for i, ex in enumerate(dev_gold):
        row = ex.to_cluener()
        if i % 5 == 0:
            row["label"] = {}
        rows.append(row)
    pred = write_jsonl(runs.parent / "tagger.json", rows)
    assert main(["score", str(pred), "--split", "dev", "--name", "tagger", "--reports", str(runs),
                 "--data-dir", str(data_dir)]) == 0  # fmt: skip
    assert main(["ensemble", "tagger", "tagger", "--name", "tagger2", "--reports", str(runs),
                 "--data-dir", str(data_dir)]) == 0  # fmt: skip
    one = json.loads((runs / "tagger" / "metrics.json").read_text())
    two = json.loads((runs / "tagger2" / "metrics.json").read_text())
    assert two["ensemble"] == {"members": ["tagger", "tagger"], "min_votes": 2, "unit": "spans"}
    assert scores(two) == scores(one)
    assert two["parse"]["span_lines"] == 1343
