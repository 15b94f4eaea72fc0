"""Raw CLUENER validation: each kind of bad line gives its message and line number."""

from __future__ import annotations

import json

import pytest

from cluener.reader import CluenerFormatError, Entity, read_cluener

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

GOOD = json.dumps({"text": "叶老桂在浙商银行", "label": {"name": {"叶老桂": [[0, 2]]}, "company": {"浙商银行": [[4, 7]]}}},
                  ensure_ascii=False)  # fmt: skip


def write_lines(tmp_path, lines, name="bad.json"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"text": "abc", "label": {', "invalid JSON"),
        ('["text", "abc"]', "expected a JSON object, got list"),
        ('{"label": {}}', "'text' is missing or not a string"),
        ('{"text": 5, "label": {}}', "'text' is missing or not a string"),
        ('{"text": "abc"}', "'label' is missing or not an object"),
        ('{"text": "abc", "label": {"person": {"a": [[0, 0]]}}}', "unknown label 'person'"),
        ('{"text": "abc", "label": {"goverment": {"a": [[0, 0]]}}}', "unknown label 'goverment'"),
        ('{"text": "abc", "label": {"name": {}}}', "expected a non-empty object"),
        ('{"text": "abc", "label": {"name": {"a": []}}}', "expected a non-empty list of [start, end] spans"),
        ('{"text": "abc", "label": {"name": {"a": [[0]]}}}', "is not [start, end] integers"),
        ('{"text": "abc", "label": {"name": {"a": [["0", 0]]}}}', "is not [start, end] integers"),
        ('{"text": "abc", "label": {"name": {"c": [[2, 3]]}}}', "span [2, 3] outside the text (length 3)"),
        ('{"text": "abc", "label": {"name": {"b": [[1, 0]]}}}', "outside the text"),
        ('{"text": "abc", "label": {"name": {"b": [[0, 0]]}}}', "span [0, 0] covers 'a', not the entity string 'b'"),
        ('{"text": "abc", "label": {"name": {"": [[0, 0]]}}}', "empty entity string"),
        ("", "empty line"),
    ],
)
def test_bad_line_names_file_line_and_problem(tmp_path, bad_line, message):
    path = write_lines(tmp_path, [GOOD, GOOD, bad_line, GOOD])
    with pytest.raises(CluenerFormatError) as info:
        read_cluener(path)
    assert info.value.line == 3
    assert info.value.path == str(path)
    assert message in info.value.problem
    assert str(info.value).startswith(f"{path}:3: ")


def test_test_split_lines_have_no_label(tmp_path):
    path = write_lines(tmp_path, ['{"id": 0, "text": "abc"}', '{"id": 1, "text": "d", "label": {}}'])
    with pytest.raises(CluenerFormatError, match=r":2: unexpected 'label'"):
        read_cluener(path, labelled=False)


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(GOOD.encode() + b"\n" + b'{"text": "\xff"}\n')
    with pytest.raises(CluenerFormatError, match=r":2: not valid UTF-8"):
        read_cluener(path)


def test_good_line_gives_exclusive_entities():
    (ex,) = read_cluener_lines([GOOD])
    assert ex.entities == (Entity("name", 0, 3), Entity("company", 4, 8))
    assert ex.to_cluener() == json.loads(GOOD)


def read_cluener_lines(lines):
    from cluener.reader import parse_line

    return [parse_line(line, "mem.json", i + 1) for i, line in enumerate(lines)]


def test_every_official_line_is_valid(cluener_dir):
    counts = {split: len(read_cluener(cluener_dir / f"{split}.json", labelled=split != "test"))
              for split in ("train", "dev", "test")}  # fmt: skip
    assert counts == {"train": 10748, "dev": 1343, "test": 1345}
    spans = sum(len(ex.entities) for ex in read_cluener(cluener_dir / "dev.json"))
    assert spans == 3072  # every labelled span of dev, none dropped
