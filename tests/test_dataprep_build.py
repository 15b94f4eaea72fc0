"""`make data`: splits, files, registration, round trip, determinism, and LLaMA-Factory loading them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cluener.labels import CHINESE_NAMES, LABELS
from cluener.layout import dataset_names
from cluener.prompts import DEFAULT_INSTRUCTION, GUIDED_INSTRUCTION, GUIDELINES, PROMPTS
from cluener.reader import Entity, Example
from cluener.splits import load_split
from cluener.target import parse_target
from dataprep.build import build, round_trip

from conftest import ROOT

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

FILES = dataset_names(PROMPTS)


def read_records(root, name):
    return json.loads((root / "data" / f"{name}.json").read_text(encoding="utf-8"))


def test_split_counts(built, project_root):
    counts = built["manifest"]["counts"]
    assert counts["train"] + counts["val"] == 10748
    assert 200 <= counts["val"] <= 900
    assert counts["dev"] == 1343 and counts["test"] == 1345
    for name in FILES:
        split = name.rsplit("_", 1)[1]
        assert len(read_records(project_root, name)) == counts[split]
    train_inputs = {r["input"] for r in read_records(project_root, "cluener_train")}
    val_inputs = {r["input"] for r in read_records(project_root, "cluener_val")}
    dev_inputs = {r["input"] for r in read_records(project_root, "cluener_dev")}
    assert not train_inputs & val_inputs and not train_inputs & dev_inputs


def test_registered_in_dataset_info(project_root):
    info = json.loads((project_root / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(FILES) <= set(info)
    for name in FILES:
        assert info[name]["file_name"] == f"data/{name}.json"
        assert (project_root / info[name]["file_name"]).is_file()


def test_repo_dataset_info_matches_what_make_data_writes(project_root):
    assert json.loads((ROOT / "dataset_info.json").read_text()) == json.loads(
        (project_root / "dataset_info.json").read_text()
    )


def test_test_split_in_source_order_with_empty_output(project_root, cluener_dir):
    records = read_records(project_root, "cluener_test")
    source = [json.loads(line) for line in (cluener_dir / "test.json").read_text(encoding="utf-8").splitlines()]
    assert [r["input"] for r in records] == [row["text"] for row in source]
    assert all(r["output"] == "" for r in records)


def test_target_format(project_root, built):
    """Compact JSON; types and strings in order of first appearance; each string once per type; {} when none."""
    records = read_records(project_root, "cluener_dev")
    assert records[0]["instruction"] == DEFAULT_INSTRUCTION
    for record, ex in zip(records, built["splits"]["dev"]):
        assert record["input"] == ex.text
        target = json.loads(record["output"])
        assert record["output"] == json.dumps(target, ensure_ascii=False, separators=(",", ":"))
        first_seen: dict = {}
        for ent in sorted(ex.entities, key=lambda e: (e.start, e.end)):
            first_seen.setdefault(ent.label, {}).setdefault(ex.text[ent.start : ent.end], ent.start)
        assert list(target) == list(first_seen)
        assert target == {label: list(strings) for label, strings in first_seen.items()}
    assert json.loads(read_records(project_root, "cluener_test")[0]["output"] or "{}") == {}


def test_prompts_name_the_types_and_shape():
    for instruction in (DEFAULT_INSTRUCTION, GUIDED_INSTRUCTION):
        for label in LABELS:
            assert label in instruction and CHINESE_NAMES[label] in instruction
        assert '{"类型":["实体"]}' in instruction and "{}" in instruction
    for label in LABELS:
        assert GUIDELINES[label] in GUIDED_INSTRUCTION


def test_round_trip_gives_back_every_sentence(built):
    for split in ("train", "val", "dev"):
        check = round_trip(built["splits"][split])
        assert check.exact == check.sentences == len(built["splits"][split]) and check.differing == []


def test_round_trip_names_a_sentence_it_cannot_give_back():
    """An empty mention (no raw line has one: the reader's spans are at least one character) is lost by the target
    format; the check names its line instead of passing it."""
    lost = Example(text="张三", entities=[Entity("name", 0, 0)], line=7)
    kept = Example(text="张三", entities=[Entity("name", 0, 2)], line=8)
    assert round_trip([kept, lost]) == (1, 2, [7])


def test_round_trip_parses_every_target_ok(project_root):
    for record in read_records(project_root, "cluener_dev"):
        assert parse_target(record["output"]).status == "ok"


def test_load_split_finds_the_same_gold(project_root, built):
    val = load_split("val", project_root / "data")
    assert [ex.text for ex in val] == [r["input"] for r in read_records(project_root, "cluener_val")]
    assert len(load_split("train", project_root / "data")) == built["manifest"]["counts"]["train"]


def test_two_runs_are_byte_identical(tmp_path, cluener_dir):
    outputs = []
    for run in ("a", "b"):
        root = tmp_path / run
        build(str(cluener_dir), root / "data", root / "dataset_info.json")
        outputs.append({p.name: p.read_bytes() for p in sorted((root / "data").glob("*.json")) if p.name != "manifest.json"}
                       | {"dataset_info.json": (root / "dataset_info.json").read_bytes()})  # fmt: skip
    assert outputs[0] == outputs[1]


def test_seed_changes_the_split(tmp_path, cluener_dir, built):
    result = build(str(cluener_dir), tmp_path / "data", tmp_path / "dataset_info.json", seed=7)
    assert result["manifest"]["val_lines"] != built["manifest"]["val_lines"]


def test_keeps_user_entries_in_dataset_info(tmp_path, cluener_dir):
    (tmp_path / "dataset_info.json").write_text('{"my_data": {"file_name": "mine.json"}}')
    build(str(cluener_dir), tmp_path / "data", tmp_path / "dataset_info.json")
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert info["my_data"] == {"file_name": "mine.json"} and "cluener_train" in info


def test_cli_reports_missing_source_files(tmp_path, cluener_dir):
    result = subprocess.run(
        [sys.executable, "-m", "dataprep.build", "--cluener-dir", str(tmp_path / "nowhere"),
         "--data-dir", str(tmp_path / "data"), "--dataset-info", str(tmp_path / "dataset_info.json")],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert "missing CLUENER file(s) train.json, dev.json, test.json" in result.stderr


def test_cli_prints_the_round_trip(tmp_path, cluener_dir):
    """What `make data` runs (the make target itself is exercised in test_end_to_end.py)."""
    result = subprocess.run(
        [sys.executable, "-m", "dataprep.build", "--cluener-dir", str(cluener_dir),
         "--data-dir", str(tmp_path / "data"), "--dataset-info", str(tmp_path / "dataset_info.json")],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "train 10248, val 500, dev 1343, test 1345 (seed 42)" in result.stdout
    dev_line = next(line for line in result.stdout.splitlines() if line.strip().startswith("dev "))
    assert dev_line.split() == ["dev", "1343/1343", "sentences", "exact"]


@pytest.mark.full  # LLaMA-Factory reads the files: not in the light tier
@pytest.mark.parametrize("name", ["cluener_train", "cluener_dev", "cluener_guided_val", "cluener_test"])
def test_llamafactory_loads_the_registered_datasets(project_root, tiny_qwen3, name):
    """LLaMA-Factory's own loader and template turn our files into supervised examples with the tiny tokenizer."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from transformers import AutoTokenizer

    model_args, data_args, training_args, _, _ = get_train_args(
        {
            "model_name_or_path": str(tiny_qwen3),
            "stage": "sft",
            "do_train": True,
            "finetuning_type": "lora",
            "dataset": name,
            "dataset_dir": str(project_root),
            "template": "qwen3_nothink",
            "cutoff_len": 640 if "guided" in name else 256,
            "max_samples": 64,
            "output_dir": str(project_root / "lf_out"),
            "overwrite_cache": True,
            "preprocessing_num_workers": None,
            "report_to": "none",
        }
    )
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    template = get_template_and_fix_tokenizer(tokenizer, data_args)
    module = get_dataset(template, model_args, data_args, training_args, stage="sft", tokenizer=tokenizer)
    dataset = module["train_dataset"]
    assert len(dataset) == 64
    row = dataset[0]
    text = tokenizer.decode(row["input_ids"])
    source = read_records(project_root, name)[0]
    assert source["input"] in text and "<|im_start|>assistant" in text
    target = tokenizer.decode([t for t, lab in zip(row["input_ids"], row["labels"]) if lab != -100])
    assert target == source["output"] + "<|im_end|>\n" or target == source["output"] + "<|im_end|>"
