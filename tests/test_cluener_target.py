"""The target parser: every recovery by hand, and properties (never raises, linear work, render/parse identity)."""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cluener.target as target_module
from cluener.reader import Entity
from cluener.labels import LABELS
from cluener.target import FAILED, OK, REPAIRED, UNCLOSED_THINK, parse_target, render_target

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)

GOOD = '{"name":["张三"],"company":["浙商银行"]}'
GOOD_ENTITIES = {"name": ["张三"], "company": ["浙商银行"]}


@pytest.mark.parametrize(
    "raw, status, entities, repair",
    [
        (GOOD, OK, GOOD_ENTITIES, None),
        ("{}", OK, {}, None),
        ("  " + GOOD + "\n", OK, GOOD_ENTITIES, None),
        (f"<think>\n先找人名。\n</think>\n\n{GOOD}", REPAIRED, GOOD_ENTITIES, "think block removed"),
        (f"<think>\n\n</think>\n\n```json\n{GOOD}\n```", REPAIRED, GOOD_ENTITIES, "code fence removed"),
        (f"```\n{GOOD}\n```", REPAIRED, GOOD_ENTITIES, "code fence removed"),
        (f"实体如下：{GOOD}。希望有帮助！", REPAIRED, GOOD_ENTITIES, "text around the JSON ignored"),
        ('{"name":["张三",],"company":["浙商银行"],}', REPAIRED, GOOD_ENTITIES, "trailing comma"),
        ("｛“name”：［“张三”］，“company”：［“浙商银行”］｝", REPAIRED, GOOD_ENTITIES, "full-width punctuation"),
        ('{"name"：["张三"]，"company"：["浙商银行"]}', REPAIRED, GOOD_ENTITIES, "full-width punctuation"),
        ("{'name': ['张三'], 'company': ['浙商银行']}", REPAIRED, GOOD_ENTITIES, "non-JSON quotes"),
        (
            '[{"label":"name","text":"张三"},{"label":"company","text":"浙商银行"}]',
            REPAIRED,
            GOOD_ENTITIES,
            "list of label/text objects",
        ),
        (
            '[{"type":"姓名","entity":"张三"},{"type":"公司","entity":"浙商银行"}]',
            REPAIRED,
            GOOD_ENTITIES,
            "label name normalised",
        ),
        ('{"name":["张三"],"company":["浙商银', REPAIRED, {"name": ["张三"]}, "truncated"),
        ('{"name":["张三"],"comp', REPAIRED, {"name": ["张三"]}, "truncated"),
        ('[{"label":"name","text":"张三"},{"label":"company","te', REPAIRED, {"name": ["张三"]}, "truncated"),
        ("<think>\n好的，", FAILED, {}, None),  # an unclosed think block with no answer
        ('<think>\n草稿 {"name":["张三"]}', FAILED, {}, UNCLOSED_THINK),  # thinking is never the answer
        ('{"name":["张三"]}<think>\n草稿', REPAIRED, {"name": ["张三"]}, UNCLOSED_THINK),  # the answer came first
        ('{"name":["张三"],"name":["李四"]}', REPAIRED, {"name": ["张三", "李四"]}, "duplicate key merged"),
        ('{"name":null,"company":["浙商银行"]}', REPAIRED, {"company": ["浙商银行"]}, "null instead of a list"),
        ('{"name":"张三"}', REPAIRED, {"name": ["张三"]}, "single string instead of a list"),
        ('{"label":"name","text":"张三"}', REPAIRED, {"name": ["张三"]}, "single label/text object"),
        ('{"entities":{"name":["张三"]}}', REPAIRED, {"name": ["张三"]}, "wrapper object removed"),
        ('"{\\"name\\":[\\"张三\\"]}"', REPAIRED, {"name": ["张三"]}, "JSON encoded twice"),
        ('{"name":{"张三":[[0,1]]}}', REPAIRED, {"name": ["张三"]}, "CLUENER span layout"),
        ('{"NAME":["张三"]}', REPAIRED, {"name": ["张三"]}, "label name normalised"),
        ('{"goverment":["国务院"]}', REPAIRED, {"government": ["国务院"]}, "label name normalised"),
        ('{"name":["张三","张三"]}', REPAIRED, {"name": ["张三"]}, "repeated string merged"),
        ('{"name":["","张三"]}', REPAIRED, {"name": ["张三"]}, "empty string dropped"),
        ('{"name":["张三",3]}', REPAIRED, {"name": ["张三"]}, "non-string items dropped"),
        ("[]", REPAIRED, {}, "empty list"),
        ("没有实体", FAILED, {}, None),
        ("对不起，我无法回答 {", FAILED, {}, None),  # failed: no complete object or list, no complete item
        ('{"name":[', FAILED, {}, None),
        ("我认为是 {name: 张三}", FAILED, {}, None),
        ("好的：{} 。", REPAIRED, {}, "text around the JSON ignored"),  # a complete {} inside prose
        ('{"foo":["x"],"na', REPAIRED, {}, "truncated"),  # a complete item of an unknown type was read
        ("", FAILED, {}, None),
        ("null", FAILED, {}, None),
        ('{"name": 5}', FAILED, {}, None),
    ],
)
def test_recoveries(raw, status, entities, repair):
    result = parse_target(raw)
    assert (result.status, result.entities) == (status, entities), result
    if repair:
        assert repair in result.repairs
    if status == OK:
        assert result.repairs == []


def test_unknown_types_are_dropped_and_counted():
    result = parse_target('{"name":["张三"],"product":["iPhone"],"时间":["昨天"]}')
    assert result.status == OK
    assert result.entities == {"name": ["张三"]}
    assert result.unknown_labels == ["product", "时间"]


def test_strings_are_kept_exactly():
    # No trimming: a string with spaces is what the model said (it may then not occur in the sentence).
    assert parse_target('{"name":[" 张三"]}').entities == {"name": [" 张三"]}


def test_not_a_string_fails():
    assert parse_target(None).status == FAILED
    assert parse_target(b'{"name":["x"]}').status == FAILED


def test_model_output_is_never_executed():
    # eval() would concatenate, call and import; the parser reads text only.
    assert parse_target("{'name': ['张' + '三']}").entities.get("name") != ["张三"]
    payload = "{'name': [__import__('sys').modules.__setitem__('eval_target_pwned', 1) or '张三']}"
    parse_target(payload)
    assert "eval_target_pwned" not in sys.modules


# ---------------------------------------------------------------- properties

JSONISH = st.sampled_from(
    list("{}[]\"',:，：、“”‘’「」｛｝［］ \n\\u0123456789abcnul-.`<>/thinkjso名张三")
    + ["<think>", "</think>", "```json\n", "```", "null", "true", '"name"', '"address"', "\\u4e00"]
)
json_like = st.lists(JSONISH, max_size=80).map("".join)


@given(st.one_of(st.text(max_size=300), json_like))
@example("[00")  # a bare number with a leading zero (found by this test on Python 3.12): json.loads raised
@example('{"name":[-01, 1e5x')
@settings(max_examples=400, deadline=None)
def test_arbitrary_text_never_raises(raw):
    result = parse_target(raw)
    assert result.status in (OK, REPAIRED, FAILED)
    assert set(result.entities) <= set(LABELS)
    assert all(strings and all(isinstance(s, str) and s for s in strings) for strings in result.entities.values())
    if result.status == FAILED:
        assert result.entities == {}


def python_work(function, argument, filename: str = target_module.__file__) -> int:
    """Deterministic measure of work: Python calls + lines executed in ``filename`` while ``function(argument)`` runs."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        count += 1
        return local

    def tracer(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename == filename:
            count += 1
            return local
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        function(argument)
    finally:
        sys.settrace(previous)
    return count


def grows_linearly(
    function, chunk: str, prefix: str = "", filename: str = target_module.__file__
) -> tuple[bool, int, int]:
    """``prefix + chunk * n``: work at 10n is at most 15x the work at n (+ a constant); quadratic work gives ~100x."""
    copies = max(16, -(-200 // len(chunk)))  # enough copies that the bounded number of JSON starts is reached
    small = python_work(function, prefix + chunk * copies, filename)
    large = python_work(function, prefix + chunk * (10 * copies), filename)
    return large <= 15 * small + 1000, small, large


def _quadratic(text: str) -> None:
    for i in range(len(text)):
        for _ in range(i, len(text)):
            pass


def test_linearity_check_rejects_quadratic_work():
    assert grows_linearly(_quadratic, "ab", filename=__file__)[0] is False


@pytest.mark.parametrize(
    "prefix, chunk",
    [
        ('{"name":["', "张"),  # one long truncated string, read by every start
        ('{"name":[', '"张三",'),  # a long list, truncated
        ("[", '{"label":"name","text":"张三"},'),
        ("", '{"name":["张'),
        ("", "["),
        ("", "{"),
        ("```json\n", '{"a":5,'),
        ("｛“name”：［", "“张三”，"),
    ],
)
def test_parse_work_is_linear_on_known_hard_inputs(prefix, chunk):
    linear, small, large = grows_linearly(parse_target, chunk, prefix)
    assert small > 50, "the measure must see the parser's work"
    assert linear, (small, large)


@given(json_like, st.one_of(json_like, st.text(min_size=1, max_size=40)).filter(bool))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parse_work_is_linear_in_input_length(prefix, chunk):
    linear, small, large = grows_linearly(parse_target, chunk, prefix)
    assert linear, (small, large)


@st.composite
def text_with_entities(draw):
    text = draw(st.text(min_size=1, max_size=40))
    entities = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        entities.append(Entity(draw(st.sampled_from(LABELS)), start, end))
    return text, entities


@given(text_with_entities())
@settings(max_examples=400, deadline=None)
def test_render_then_parse_is_the_identity(case):
    text, entities = case
    expected: dict[str, list[str]] = {}
    for ent in sorted(entities, key=lambda e: (e.start, e.end)):
        strings = expected.setdefault(ent.label, [])
        if text[ent.start : ent.end] not in strings:
            strings.append(text[ent.start : ent.end])
    result = parse_target(render_target(text, entities))
    assert (result.status, result.entities, result.unknown_labels, result.repairs) == (OK, expected, [], [])
