import pytest

from eval.align import align
from cluener.reader import Entity

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


def test_longest_first_and_no_overlap():
    spans, missing = align("北京大学在北京", {"address": ["北京"], "organization": ["北京大学"]})
    assert spans == [Entity("organization", 0, 4), Entity("address", 5, 7)]
    assert missing == []


def test_every_occurrence_is_aligned():
    spans, _ = align("张三和张三", {"name": ["张三"]})
    assert spans == [Entity("name", 0, 2), Entity("name", 3, 5)]


def test_strings_not_in_text_are_reported_not_aligned():
    spans, missing = align("张三", {"name": ["李四", "张三"], "address": ["北京"]})
    assert spans == [Entity("name", 0, 2)]
    assert missing == [("name", "李四"), ("address", "北京")]


def test_same_string_under_two_types_is_aligned_once():
    spans, _ = align("长江", {"scene": ["长江"], "address": ["长江"]})
    assert spans == [Entity("scene", 0, 2)]


def test_overlapping_occurrences_of_one_string():
    spans, _ = align("aaa", {"name": ["aa"]})
    assert spans == [Entity("name", 0, 2)]


def test_strings_only_inside_longer_spans_are_reported_as_overlapped():
    from eval.align import align_strings

    result = align_strings("北京大学和北京大学", {"organization": ["北京大学"], "address": ["北京", "上海"]})
    assert result.entities == [Entity("organization", 0, 4), Entity("organization", 5, 9)]
    assert result.overlapped == [Entity("address", 0, 2), Entity("address", 5, 7)]
    assert result.missing == [("address", "上海")]


def test_missing_keeps_the_model_order_for_many_strings():
    from eval.align import align_strings

    strings = [f"不在{i}" for i in range(3000)]  # the old index-based sort was quadratic here
    assert [s for _, s in align_strings("张三", {"name": strings}).missing] == strings
