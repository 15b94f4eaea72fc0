"""The model's target string: render it from gold, parse it back from (untrusted) model output.

Target format: a compact JSON object, entity type -> list of entity strings, each string once per type, types and
strings in order of first appearance in the text; ``{}`` when the sentence has none.

>>> from cluener.reader import Entity
>>> render_target("叶老桂在浙商银行", [Entity("company", 4, 8), Entity("name", 0, 3)])
'{"name":["叶老桂"],"company":["浙商银行"]}'
>>> parse_target('{"name":["叶老桂"],"company":["浙商银行"]}').entities
{'name': ['叶老桂'], 'company': ['浙商银行']}

Parsing never executes anything. It accepts the exact format (status ``ok``) and recovers what a careful reader
would (status ``repaired``): ``<think>`` blocks, Markdown fences, prose around the JSON, trailing commas,
full-width JSON punctuation, single quotes, Chinese type names, ``[{"label": ..., "text": ...}]`` lists (or one such
object, or either inside a wrapper such as ``{"entities": ...}``), duplicate keys (merged), ``null`` values, JSON
encoded twice, truncated output (complete items are kept), and a malformed value beside good ones
(``{"address":["文汇路"],"organization":5}`` keeps the address; each part left out is counted by reason in
``ParseResult.dropped``). ``failed`` means nothing could be read: no complete
JSON object or list and no complete entity item (so ``对不起 {`` fails, while a complete ``{}`` inside prose is a
repaired "no entities"). A failed line has no entities.

An unclosed ``<think>`` block (the output ended while the model was still thinking, e.g. at ``max_new_tokens``) is
not an answer: only the text before ``<think>`` is read, the thinking is never scored as the answer, and the line
is counted (:data:`UNCLOSED_THINK` among its repairs or failure reasons; ``unclosed_think`` in the parse stats).
Unknown types are dropped and counted. Entity strings are kept exactly as written (no trimming), so rendering any
entity set and parsing it back is the identity; empty strings are dropped and recorded as a repair.

>>> r = parse_target('<think>\\n</think>\\n```json\\n{"name": ["张三",], }\\n```')
>>> r.status, r.entities
('repaired', {'name': ['张三']})
>>> r = parse_target('{"name":["张三","李')
>>> r.status, r.entities
('repaired', {'name': ['张三']})
>>> r = parse_target('[{"label":"name","text":"张三"},{"label":"address","te')
>>> r.status, r.entities
('repaired', {'name': ['张三']})
>>> parse_target("没有实体").status, parse_target("对不起，我无法回答 {").status, parse_target("好的：{}").status
('failed', 'failed', 'repaired')
>>> parse_target('<think>\\n草稿 {"name":["张三"]}').status
'failed'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Iterable

from .labels import CHINESE_NAMES, LABEL_SET
from .lenient_json import NOTHING, START, JsonObject, LenientReader

OK, REPAIRED, FAILED = "ok", "repaired", "failed"
UNCLOSED_THINK = "unclosed think block (its text is not the answer)"
NOTHING_READ = "no entity structure found"

_CHINESE_TO_LABEL = {zh: en for en, zh in CHINESE_NAMES.items()}
_CHINESE_TO_LABEL.update(
    {
        "地名": "address",
        "书籍": "book",
        "公司名": "company",
        "游戏名": "game",
        "政府机构": "government",
        "电影名": "movie",
        "人名": "name",
        "组织": "organization",
        "机构": "organization",
        "职务": "position",
        "职称": "position",
    }
)
_LABEL_ALIASES = {"goverment": "government", "organisation": "organization", "person": "name", "per": "name"}
_LABEL_KEYS = ("label", "type", "entity_type", "category", "类型", "实体类型")
_TEXT_KEYS = ("text", "entity", "name", "value", "span", "mention", "实体", "实体名称")
_MAX_STARTS = 16


def render_target(text: str, entities: Iterable) -> str:
    """Render gold entities (objects with ``label``, ``start``, ``end``) as the compact target string."""
    grouped: dict[str, list[str]] = {}
    for ent in sorted(entities, key=lambda e: (e.start, e.end)):
        strings = grouped.setdefault(ent.label, [])
        mention = text[ent.start : ent.end]
        if mention not in strings:
            strings.append(mention)
    return json.dumps(grouped, ensure_ascii=False, separators=(",", ":"))


@dataclass
class ParseResult:
    """What was read from one model output."""

    entities: dict[str, list[str]] = field(default_factory=dict)
    status: str = FAILED
    unknown_labels: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)  # malformed parts left out: reason -> how many


def parse_target(raw: Any) -> ParseResult:
    """Parse one model output into ``{type: [strings]}``; see the module docstring."""
    if not isinstance(raw, str):
        return ParseResult(repairs=["not a string"])
    stripped = raw.strip()
    # Fast path: valid JSON (the exact target format is status ok; any interpretation needed makes it repaired).
    try:
        value = json.loads(stripped, object_pairs_hook=JsonObject.from_pairs)
    except (ValueError, RecursionError):
        pass
    else:
        if isinstance(value, str) and value.strip()[:1] in ("{", "["):  # JSON encoded twice
            inner = parse_target(value)
            if inner.status != FAILED:
                inner.status = REPAIRED
                inner.repairs = sorted(set(inner.repairs) | {"JSON encoded twice"})
                return inner
        result = _interpret(value)
        if result is not None:
            result.status = REPAIRED if result.repairs else OK
            return result
    return _parse_lenient(stripped)


# ---------------------------------------------------------------- lenient path


def _strip_wrappers(text: str, repairs: list[str]) -> str:
    """Remove think blocks and code fences; an unclosed think block and what follows it (see the module doc)."""
    if "<think>" in text or "</think>" in text:
        closed = text.rfind("</think>")
        if closed >= 0:
            text = text[closed + len("</think>") :]
            repairs.append("think block removed")
        else:
            text = text[: text.find("<think>")]
            repairs.append(UNCLOSED_THINK)
    if "```" in text:
        match = re.search(r"```[a-zA-Z]*\s*\n?(.*?)(?:```|$)", text, flags=re.S)
        if match:
            text = match.group(1)
            repairs.append("code fence removed")
    return text.strip()


def _parse_lenient(text: str) -> ParseResult:
    repairs: list[str] = []
    result = _scan(_strip_wrappers(text, repairs))
    if result is not None:
        result.repairs = repairs + result.repairs
        result.status = REPAIRED
        return result
    return ParseResult(status=FAILED, repairs=repairs + [NOTHING_READ])


def _scan(text: str) -> ParseResult | None:
    """Try the first few '{' / '[' starts (bounded, so linear in len(text))."""
    starts = [m.start() for m in islice(START.finditer(text), _MAX_STARTS)]
    for start in starts:
        reader = LenientReader(text, start)
        value = reader.value(0)
        if value is NOTHING:
            continue
        result = _interpret(value)
        if result is None:
            continue
        if not reader.closed and not result.entities and not result.unknown_labels:
            continue  # a cut-off start with no complete item in it: nothing was read
        if start > 0 or text[reader.pos :].strip():
            result.repairs.append("text around the JSON ignored")
        result.repairs.extend(sorted(reader.repairs))
        return result
    return None


def _normalise_label(key: Any, repairs: list[str]) -> str | None:
    if not isinstance(key, str):
        return None
    name = key.strip()
    if name in LABEL_SET:
        if name != key:
            repairs.append("label name normalised")
        return name
    lowered = name.lower()
    for candidate in (lowered, _LABEL_ALIASES.get(lowered), _CHINESE_TO_LABEL.get(name)):
        if candidate in LABEL_SET:
            repairs.append("label name normalised")
            return candidate
    return None


def _strings(value: Any, out: _Collector) -> list[str] | None:
    """A type's value as its strings; None for a value that is no list of strings at all (a number, true)."""
    repairs = out.repairs
    if isinstance(value, str):
        repairs.append("single string instead of a list")
        return [value]
    if value is None:
        repairs.append("null instead of a list")
        return []
    if isinstance(value, dict):  # CLUENER layout {string: spans}
        repairs.append("CLUENER span layout")
        return list(value)
    if isinstance(value, list):
        strings = [v for v in value if isinstance(v, str)]
        if len(strings) != len(value):
            out.drop("non-string items dropped", len(value) - len(strings))
        return strings
    return None


def _kind(value: Any) -> str:
    """What a malformed value is, for its count: ``number``, ``true/false``, else the JSON type's name."""
    return "true/false" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else "other value"


def _pairs(obj: dict) -> list:
    return getattr(obj, "pairs", None) or list(obj.items())


def _first(item: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in item:
            return item[key]
    return None


class _Collector:
    """Entities grouped by type in first-seen order, each string once per type (O(1) per string)."""

    def __init__(self) -> None:
        self.grouped: dict[str, dict[str, None]] = {}
        self.unknown: list[str] = []
        self.repairs: list[str] = []
        self.dropped: dict[str, int] = {}

    def drop(self, reason: str, count: int = 1) -> None:
        """A malformed part left out: a repair of the line, and counted (by reason) in the parse statistics."""
        self.repairs.append(reason)
        self.dropped[reason] = self.dropped.get(reason, 0) + count

    def add_labelled(self, raw_label: Any, strings: Iterable[str]) -> None:
        """``strings`` under ``raw_label`` once it is normalised to a type; an unknown label is recorded instead."""
        label = _normalise_label(raw_label, self.repairs)
        if label is None:
            self.unknown.append(str(raw_label))
        else:
            self.add(label, strings)

    def add(self, label: str, strings: Iterable[str]) -> None:
        bucket = self.grouped.setdefault(label, {})
        for s in strings:
            if not s:
                self.drop("empty string dropped")
            elif s in bucket:
                self.repairs.append("repeated string merged")
            else:
                bucket[s] = None

    def result(self) -> ParseResult:
        entities = {label: list(bucket) for label, bucket in self.grouped.items() if bucket}
        return ParseResult(
            entities=entities, unknown_labels=self.unknown, repairs=sorted(set(self.repairs)), dropped=self.dropped
        )


def _interpret_items(items: list, out: _Collector) -> bool:
    """A list of ``{"label": ..., "text": ...}`` objects; incomplete items are dropped (recorded). False: none usable."""
    usable = 0
    for item in items:
        lab = _first(item, _LABEL_KEYS) if isinstance(item, dict) else None
        txt = _first(item, _TEXT_KEYS) if isinstance(item, dict) else None
        if isinstance(txt, list) and all(isinstance(t, str) for t in txt):
            strings = txt
        elif isinstance(txt, str):
            strings = [txt]
        else:
            strings = None
        if lab is None or strings is None:
            out.drop("incomplete item dropped")
            continue
        usable += 1
        out.add_labelled(lab, strings)
    return usable > 0


def _interpret(value: Any, depth: int = 0) -> ParseResult | None:
    """Turn a decoded JSON value into entities, or None when it has no entity structure."""
    out = _Collector()
    if isinstance(value, dict):
        pairs = _pairs(value)
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            out.repairs.append("duplicate key merged")
        known = [k for k in keys if _normalise_label(k, []) is not None]
        if not known and depth < 2:
            # One {"label": ..., "text": ...} object, or a wrapper such as {"entities": [...]}.
            if _first(value, _LABEL_KEYS) is not None and _first(value, _TEXT_KEYS) is not None:
                if _interpret_items([value], out):
                    out.repairs.append("single label/text object")
                    return out.result()
                out = _Collector()
            if len(pairs) == 1 and isinstance(pairs[0][1], (dict, list)) and pairs[0][1]:
                inner = _interpret(pairs[0][1], depth + 1)
                if inner is not None and inner.entities:
                    inner.repairs = sorted(set(inner.repairs) | {"wrapper object removed"})
                    return inner
        usable = 0
        for key, item in pairs:
            strings = _strings(item, out)
            if strings is None:  # {"address": ["文汇路"], "organization": 5}: the address is kept
                out.drop(f"{_kind(item)} instead of a list of strings (value dropped)")
                continue
            usable += 1
            out.add_labelled(key, strings)
        if pairs and not usable:  # no value was a list of strings: nothing was read
            return None
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out.repairs.append("list of label/text objects")
        if not _interpret_items(value, out):
            return None
    elif value == []:
        out.repairs.append("empty list")
    else:
        return None
    return out.result()
