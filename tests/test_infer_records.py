"""infer.records: alpaca records read like LLaMA-Factory reads them; bad input names file and record."""

from __future__ import annotations

import json

import pytest
from llm_assets import alpaca_records, write_dataset_dir

from infer.records import DataError, load_records, resolve_dataset

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def test_prompt_is_built_like_llamafactory_alpaca_converter(tmp_path):
    rows = alpaca_records(3) + [{"instruction": "只有指令", "input": "", "output": ""}, {"instruction": "无输出"}]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    records = load_records(path)
    assert [r.prompt for r in records[:3]] == [row["instruction"] + "\n" + row["input"] for row in rows[:3]]
    assert [r.prompt for r in records[3:]] == ["只有指令", "无输出"]
    assert [r.label for r in records] == [row.get("output", "") for row in rows]
    assert [r.index for r in records] == list(range(5))
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    assert load_records(jsonl) == records


@pytest.mark.parametrize(
    "content, message",
    [
        ('[{"instruction": "a"}, 3]', "d.json: record 2: expected an object, got int"),
        ('[{"instruction": "a", "input": 5}]', "d.json: record 1: 'input' is int, not a string"),
        ('[{"input": "x"}]', "d.json: record 1: missing 'instruction'"),
        ('[{"instruction": "", "input": ""}]', "d.json: record 1: empty prompt"),
        ('[{"instruction": "a"},\n {"instruction": }]', "d.json:2: invalid JSON"),
        ("[]", "d.json: no records"),
    ],
)
def test_bad_dataset_names_file_and_record(tmp_path, content, message):
    path = tmp_path / "d.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_records(path)
    assert message in str(info.value)


def test_bad_jsonl_line_names_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"instruction": "a"}\n\n{"instruction": "b"\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"d\.jsonl:3: invalid JSON"):
        load_records(path)


def test_dataset_names_resolve_through_dataset_info(tmp_path):
    write_dataset_dir(tmp_path, {"cluener_dev": alpaca_records(2)})
    path, columns = resolve_dataset("cluener_dev", tmp_path)
    assert path == tmp_path / "cluener_dev.json" and columns["prompt"] == "instruction"
    with pytest.raises(DataError, match="not registered"):
        resolve_dataset("cluener_test", tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        resolve_dataset("cluener_dev", tmp_path / "nowhere")
