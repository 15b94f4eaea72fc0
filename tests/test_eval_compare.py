"""eval.compare: the paired bootstrap between two scored runs (properties, reference, same-sentences rule, CLI)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eval.__main__ import main
from eval.bootstrap import METRIC_KEYS, resampled_f1
from eval.counting import Sentence, count_all
from eval.metrics import OFFICIAL, SPAN
from eval.compare import CompareError, _p_value, compare_runs, paired_test

from conftest import lf_row, write_jsonl

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def sentence_counts(gold_s, pred_s, gold_e, pred_e) -> dict[str, np.ndarray]:
    return count_all((OFFICIAL, SPAN), [Sentence(*x) for x in zip(gold_s, pred_s, gold_e, pred_e)])


def outputs(records, drop_every: int, fake_every: int) -> list[str]:
    """Gold targets with every ``drop_every``-th line emptied and every ``fake_every``-th given a wrong entity."""
    out = []
    for i, r in enumerate(records):
        target = json.loads(r["output"]) if r["output"] else {}
        if i % drop_every == 0:
            target = {}
        if i % fake_every == 0:
            target.setdefault("name", []).append(r["input"][:2])
        out.append(json.dumps(target, ensure_ascii=False))
    return out


def score(tmp, records, data_dir, name, texts, split="dev") -> None:
    pred = write_jsonl(tmp / f"{name}.jsonl", (lf_row(r, o) for r, o in zip(records, texts, strict=True)))
    status = main(["score", str(pred), "--split", split, "--name", name, "--reports", str(tmp / "reports"),
                   "--data-dir", str(data_dir)])  # fmt: skip
    assert status == 0


@pytest.fixture(scope="module")
def reports(tmp_path_factory, dev_records, data_dir):
    tmp = tmp_path_factory.mktemp("compare")
    score(tmp, dev_records, data_dir, "good", outputs(dev_records, 10, 25))
    score(tmp, dev_records, data_dir, "bad", outputs(dev_records, 3, 4))
    score(tmp, dev_records, data_dir, "close", outputs(dev_records, 10, 24))
    val = json.loads((data_dir / "cluener_val.json").read_text(encoding="utf-8"))
    score(tmp, val, data_dir, "other_split", outputs(val, 10, 25), split="val")
    return tmp / "reports"


def test_a_run_against_itself_gives_delta_zero_and_p_one(reports):
    result = compare_runs("good", "good", reports)
    assert set(result) == set(METRIC_KEYS)
    for r in result.values():
        assert r["a"] == r["b"] and r["delta"] == 0 and r["ci95"] == [0.0, 0.0] and r["p"] == 1.0


def test_swapping_the_runs_flips_the_sign_and_keeps_p(reports):
    ab, ba = compare_runs("good", "bad", reports), compare_runs("bad", "good", reports)
    for key in METRIC_KEYS:
        assert ab[key]["delta"] == -ba[key]["delta"] != 0
        assert ab[key]["ci95"] == [-ba[key]["ci95"][1], -ba[key]["ci95"][0]]
        assert ab[key]["p"] == ba[key]["p"]
        assert ab[key]["a"] == ba[key]["b"]


def test_scores_are_those_of_the_reports_and_a_clear_difference_is_significant(reports):
    result = compare_runs("good", "bad", reports)
    good = json.loads((reports / "good" / "metrics.json").read_text())
    bad = json.loads((reports / "bad" / "metrics.json").read_text())
    assert result["official.macro_f1"]["a"] == good["official"]["macro_f1"]
    assert result["span.micro_f1"]["b"] == bad["span"]["micro_f1"]
    for r in result.values():
        assert r["delta"] > 0 and r["ci95"][0] > 0 and r["p"] < 0.01


def test_a_tiny_difference_is_not_significant(reports):
    result = compare_runs("good", "close", reports)
    assert abs(result["official.micro_f1"]["delta"]) < 0.002
    assert result["official.micro_f1"]["ci95"][0] < 0 < result["official.micro_f1"]["ci95"][1]
    assert result["official.micro_f1"]["p"] > 0.05


def test_other_split_is_an_error(reports):
    with pytest.raises(CompareError, match="different splits"):
        compare_runs("good", "other_split", reports)


def test_other_sentences_are_an_error(reports, tmp_path):
    import shutil

    shutil.copytree(reports / "good", tmp_path / "good")
    shutil.copytree(reports / "bad", tmp_path / "shuffled")
    details = (tmp_path / "shuffled" / "details.jsonl").read_text(encoding="utf-8").splitlines()
    details[0], details[1] = details[1], details[0]
    (tmp_path / "shuffled" / "details.jsonl").write_text("\n".join(details) + "\n", encoding="utf-8")
    with pytest.raises(CompareError, match="differ at sentence 1"):
        compare_runs("good", "shuffled", tmp_path)
    with pytest.raises(CompareError, match="not found"):
        compare_runs("good", "missing", tmp_path)


def test_deltas_match_a_slow_reference():
    """Each resample's delta is score(A) - score(B) on the same drawn sentences."""
    rng = np.random.default_rng(3)
    n = 8
    a = sentence_counts(*_random_run(rng, n))
    b = sentence_counts(*_random_run(rng, n))
    result = paired_test(a, b, resamples=200, seed=9, digits=12)
    draws = np.random.default_rng(9).integers(0, n, size=(200, n))
    deltas = []
    for row in draws:
        w = np.bincount(row, minlength=n)[None, :]
        fa, fb = resampled_f1(a, w), resampled_f1(b, w)
        deltas.append(fa["official.micro_f1"][0] - fb["official.micro_f1"][0])
    deltas = np.array(deltas)
    ones = np.ones((1, n), dtype=np.int64)
    observed = resampled_f1(a, ones)["official.micro_f1"][0] - resampled_f1(b, ones)["official.micro_f1"][0]
    assert result["official.micro_f1"]["delta"] == pytest.approx(observed, abs=1e-11)
    assert result["official.micro_f1"]["ci95"] == pytest.approx(list(np.percentile(deltas, [2.5, 97.5])), abs=1e-9)
    want_p = (1 + np.sum(np.abs(deltas - observed) >= abs(observed) - 1e-12)) / 201
    assert result["official.micro_f1"]["p"] == pytest.approx(want_p, abs=1e-9)


def test_p_value_definition():
    # delta 0.1 observed; shifted to the null the resampled deltas are -0.1, 0, 0.1, 0.2: |.| >= 0.1 three times
    assert _p_value(np.array([0.0, 0.1, 0.2, 0.3]), 0.1) == pytest.approx((1 + 3) / 5)
    assert _p_value(np.array([0.1] * 99), 0.1) == pytest.approx(1 / 100)


def _random_run(rng, n):
    from cluener.labels import LABELS

    gold_s, pred_s, gold_e, pred_e = [], [], [], []
    for _ in range(n):
        labels = rng.choice(LABELS, size=3, replace=False)
        g = {str(lb): {f"x{int(rng.integers(0, 3))}"} for lb in labels}
        p = {str(lb): {f"x{int(rng.integers(0, 3))}"} for lb in labels}
        ge = {(str(labels[0]), 0, 2), (str(labels[1]), 3, 5)}
        pe = {(str(labels[0]), 0, int(rng.integers(1, 3))), (str(labels[2]), 3, 5)}
        gold_s.append(g), pred_s.append(p), gold_e.append(ge), pred_e.append(pe)
    return gold_s, pred_s, gold_e, pred_e


def test_cli_json_shape(reports, capsys):
    status = main(["compare", "good", "bad", "--reports", str(reports), "--json"])
    assert status == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == list(METRIC_KEYS)
    assert all(set(v) == {"a", "b", "delta", "ci95", "p"} for v in out.values())


def test_cli_table_and_errors(reports, capsys):
    assert main(["compare", "good", "bad", "--reports", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "| official.macro_f1 |" in out and "significant" in out
    assert main(["compare", "good", "other_split", "--reports", str(reports)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "different splits" in err and "Traceback" not in err


def test_versus_best_makes_each_paired_test_once_per_process(reports, monkeypatch):
    """`make report` re-renders every run's significance once per scored run: a known test is reused, not redone,
    and it is the same result a fresh test gives; other counts are a new test."""
    from eval import compare

    made = []
    real = compare.paired_test
    monkeypatch.setattr(compare, "paired_test", lambda *a, **k: made.append(1) or real(*a, **k))
    monkeypatch.setattr(compare, "_PAIRED", {})
    first = compare.versus_best(["good", "bad", "close"], "good", reports)
    assert len(made) == 2
    again = compare.versus_best(["good", "bad", "close"], "good", reports)
    assert again == first and len(made) == 2  # nothing recomputed
    fresh = real(compare.load_run("bad", reports).counts(), compare.load_run("good", reports).counts())
    assert first["bad"] == fresh
    compare.versus_best(["good", "bad", "close"], "close", reports)  # another best run: new tests
    assert len(made) == 4
