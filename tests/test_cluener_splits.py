"""cluener.splits: the gold of a project split or of a CLUENER file, and the split it is reported under."""

from __future__ import annotations

import json
import shutil

import pytest

from cluener.files import sha256_file
from cluener.splits import gold_of_file, gold_of_split, official_source
from eval.__main__ import main

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def test_gold_of_a_split_names_its_source(data_dir, built):
    gold = gold_of_split("val", data_dir)
    assert [ex.text for ex in gold.examples] == [ex.text for ex in built["splits"]["val"]]
    assert gold.split == "val" and gold.path.endswith("train.json")
    assert gold.description.startswith("CLUENER2020 train (train.json, sha256 60299d202779")
    assert "the val lines of" in gold.description and gold.description.endswith("(seed 42) (--split val)")
    assert str(data_dir) not in gold.description and "/" not in gold.description.split("the val lines of ")[0]


def test_a_gold_file_is_named_by_content_then_by_option_never_by_file_stem(tmp_path, cluener_dir):
    official = tmp_path / "gold.json"
    shutil.copyfile(cluener_dir / "dev.json", official)  # an official file under another name
    gold = gold_of_file(official)
    assert (gold.split, gold.description) == ("dev", official_source("dev"))  # what it is, not where it was
    assert gold.description.startswith("CLUENER2020 dev (dev.json, sha256 90036b59832e")
    custom = tmp_path / "gold16.json"
    lines = (cluener_dir / "train.json").read_text(encoding="utf-8").splitlines()[:16]
    custom.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert gold_of_file(custom).split == "custom"
    assert gold_of_file(custom).description == f"gold16.json (sha256 {sha256_file(custom)})"  # outside the repo
    assert gold_of_file(custom, "train16").split == "train16"
    assert len(gold_of_file(custom).examples) == 16
    unlabelled = tmp_path / "test_like.json"
    unlabelled.write_text(json.dumps({"id": 0, "text": "张三"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert not gold_of_file(unlabelled).examples[0].labelled


def test_split_name_goes_with_gold_only(capsys):
    with pytest.raises(SystemExit) as info:
        main(["score", "p.jsonl", "--split", "dev", "--split-name", "x", "--name", "r"])
    assert info.value.code == 2 and "--split-name goes with --gold" in capsys.readouterr().err
