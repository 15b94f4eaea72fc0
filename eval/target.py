"""The model's target string: render it from gold, parse it back from (untrusted) model output.

Target format: a compact JSON object, entity type -> list of entity strings, each string once per type, types and
strings in order of first appearance in the text; ``{}`` when the sentence has none.

>>> from eval.cluener import Entity
>>> render_target("叶老桂在浙商银行", [Entity("company", 4, 8), Entity("name", 0, 3)])
'{"name":["叶老桂"],"company":["浙商银行"]}'
>>> parse_target('{"name":["叶老桂"],"company":["浙商银行"]}').entities
{'name': ['叶老桂'], 'company': ['浙商银行']}

Parsing never executes anything. It accepts the exact format (status ``ok``) and recovers what a careful reader
would (status ``repaired``): ``<think>`` blocks, Markdown fences, prose around the JSON, trailing commas,
full-width JSON punctuation, single quotes, Chinese type names, ``[{"label": ..., "text": ...}]`` lists, and
truncated output (complete items are kept). Anything else is ``failed`` with no entities. Unknown types are
dropped and counted.

>>> r = parse_target('<think>\\n</think>\\n```json\\n{"name": ["张三",], }\\n```')
>>> r.status, r.entities
('repaired', {'name': ['张三']})
>>> r = parse_target('{"name":["张三","李')
>>> r.status, r.entities
('repaired', {'name': ['张三']})
>>> parse_target("没有实体").status
'failed'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .labels import CHINESE_NAMES, LABEL_SET

OK, REPAIRED, FAILED = "ok", "repaired", "failed"

_CHINESE_TO_LABEL = {zh: en for en, zh in CHINESE_NAMES.items()}
_LABEL_ALIASES = {"goverment": "government", "organisation": "organization", "person": "name", "per": "name"}
_LABEL_KEYS = ("label", "type", "entity_type", "category", "类型", "实体类型")
_TEXT_KEYS = ("text", "entity", "name", "value", "span", "mention", "实体", "实体名称")
_MAX_DEPTH = 8
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


def parse_target(raw: Any) -> ParseResult:
    """Parse one model output into ``{type: [strings]}``; see the module docstring."""
    if not isinstance(raw, str):
        return ParseResult(repairs=["not a string"])
    stripped = raw.strip()
    # Fast path: the exact target format.
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        value = None
    else:
        result = _interpret(value)
        if result is not None and not result.repairs:
            result.status = OK
            return result
    return _parse_lenient(stripped)


# ---------------------------------------------------------------- lenient path


def _strip_wrappers(text: str, repairs: list[str]) -> tuple[str, str]:
    """Remove think blocks and code fences. Returns (text to parse, fallback text from an unclosed think block)."""
    fallback = ""
    if "<think>" in text or "</think>" in text:
        closed = text.rfind("</think>")
        if closed >= 0:
            text = text[closed + len("</think>") :]
            repairs.append("think block removed")
        else:
            opened = text.find("<think>")
            fallback = text[opened + len("<think>") :]
            text = text[:opened]
            repairs.append("unclosed think block removed")
    if "```" in text:
        match = re.search(r"```[a-zA-Z]*\s*\n?(.*?)(?:```|$)", text, flags=re.S)
        if match:
            text = match.group(1)
            repairs.append("code fence removed")
    return text.strip(), fallback.strip()


def _parse_lenient(text: str) -> ParseResult:
    repairs: list[str] = []
    body, fallback = _strip_wrappers(text, repairs)
    for candidate in (body, fallback):
        result = _scan(candidate)
        if result is not None:
            result.repairs = repairs + result.repairs
            result.status = REPAIRED
            return result
    return ParseResult(status=FAILED, repairs=repairs + ["no entity structure found"])


def _scan(text: str) -> ParseResult | None:
    """Try the first few '{' / '[' starts (bounded, so linear in len(text))."""
    starts = [m.start() for m in re.finditer(r"[\[{［｛]", text)][:_MAX_STARTS]
    for start in starts:
        reader = _Reader(text, start)
        value = reader.value(0)
        if value is _NOTHING:
            continue
        result = _interpret(value)
        if result is None:
            continue
        if start > 0 or text[reader.pos :].strip():
            result.repairs.append("text around the JSON ignored")
        result.repairs.extend(sorted(reader.repairs))
        return result
    return None


class _Nothing:
    pass


_NOTHING = _Nothing()
_OPEN = {"{": "{", "｛": "{", "[": "[", "［": "["}
_CLOSE = {"}": "}", "｝": "}", "]": "]", "］": "]"}
_COLON = {":", "："}
_COMMA = {",", "，", "、"}
_QUOTES = {'"': '"', "“": "”", "”": "”", "'": "'", "‘": "’", "「": "」"}


class _Reader:
    """A forgiving JSON reader: full-width syntax, trailing commas, single quotes, truncation.

    Each character is read at most once, and nesting is capped, so it runs in linear time and cannot overflow.
    """

    def __init__(self, text: str, pos: int):
        self.text, self.pos, self.repairs = text, pos, set()

    def _skip_ws(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n and text[self.pos] in " \t\r\n\u3000":
            self.pos += 1

    def _peek(self) -> str:
        self._skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def value(self, depth: int):
        ch = self._peek()
        if not ch:
            return _NOTHING
        if ch in _OPEN:
            if depth >= _MAX_DEPTH:
                return _NOTHING
            if ch not in "{[":
                self.repairs.add("full-width punctuation")
            self.pos += 1
            return self._object(depth) if _OPEN[ch] == "{" else self._array(depth)
        if ch in _QUOTES:
            return self._string()
        return self._bare()

    def _string(self):
        opener = self.text[self.pos]
        closer = _QUOTES[opener]
        if opener != '"':
            self.repairs.add("non-JSON quotes")
        self.pos += 1
        out = []
        text, n = self.text, len(self.text)
        while self.pos < n:
            ch = text[self.pos]
            if ch == closer or (opener == "“" and ch == '"'):
                self.pos += 1
                return "".join(out)
            if ch == "\\" and self.pos + 1 < n:
                nxt = text[self.pos + 1]
                if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[self.pos + 2 : self.pos + 6] or ""):
                    out.append(chr(int(text[self.pos + 2 : self.pos + 6], 16)))
                    self.pos += 6
                    continue
                out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(nxt, nxt))
                self.pos += 2
                continue
            if ch == "\n":
                return _NOTHING  # a string never spans lines in this format
            out.append(ch)
            self.pos += 1
        self.repairs.add("truncated")
        return _NOTHING

    def _bare(self):
        match = re.compile(r"-?\d+(?:\.\d+)?|true|false|null").match(self.text, self.pos)
        if not match:
            return _NOTHING
        self.pos = match.end()
        return json.loads(match.group(0))

    def _separator(self, closer: str) -> str:
        """After an item: 'close', 'next' or 'stop'."""
        ch = self._peek()
        if ch in _CLOSE and _CLOSE[ch] == closer:
            if ch != closer:
                self.repairs.add("full-width punctuation")
            self.pos += 1
            return "close"
        if ch in _COMMA:
            if ch != ",":
                self.repairs.add("full-width punctuation")
            self.pos += 1
            nxt = self._peek()
            if nxt in _CLOSE and _CLOSE[nxt] == closer:
                self.repairs.add("trailing comma")
                self.pos += 1
                return "close"
            return "next"
        if not ch:
            self.repairs.add("truncated")
        return "stop"

    def _array(self, depth: int):
        items: list = []
        if self._peek() in _CLOSE:
            self.pos += 1
            return items
        while True:
            item = self.value(depth + 1)
            if item is _NOTHING:
                if not self._peek():
                    self.repairs.add("truncated")
                return items
            items.append(item)
            if self._separator("]") != "next":
                return items

    def _object(self, depth: int):
        obj: dict = {}
        if self._peek() in _CLOSE:
            self.pos += 1
            return obj
        while True:
            ch = self._peek()
            if ch in _QUOTES:
                key = self._string()
            else:  # unquoted key such as {name: [...]}
                match = re.compile(r"[A-Za-z_\u4e00-\u9fff]+").match(self.text, self.pos)
                key = match.group(0) if match else _NOTHING
                if match:
                    self.pos = match.end()
                    self.repairs.add("unquoted key")
            if key is _NOTHING or self._peek() not in _COLON:
                if not self._peek():
                    self.repairs.add("truncated")
                return obj
            if self._peek() != ":":
                self.repairs.add("full-width punctuation")
            self.pos += 1
            item = self.value(depth + 1)
            if item is _NOTHING:
                if not self._peek():
                    self.repairs.add("truncated")
                return obj
            obj[key] = item
            if self._separator("}") != "next":
                return obj


# ---------------------------------------------------------------- interpretation


def _normalise_label(key: Any, repairs: list[str]) -> str | None:
    if not isinstance(key, str):
        return None
    name = key.strip()
    if name in LABEL_SET:
        return name
    lowered = name.lower()
    for candidate in (lowered, _LABEL_ALIASES.get(lowered), _CHINESE_TO_LABEL.get(name)):
        if candidate in LABEL_SET:
            repairs.append("label name normalised")
            return candidate
    return None


def _strings(value: Any, repairs: list[str]) -> list[str] | None:
    if isinstance(value, str):
        repairs.append("single string instead of a list")
        return [value]
    if isinstance(value, dict):  # CLUENER layout {string: spans}
        repairs.append("CLUENER span layout")
        return [k for k in value if isinstance(k, str)]
    if isinstance(value, list):
        out = [v for v in value if isinstance(v, str)]
        if len(out) != len(value):
            repairs.append("non-string items dropped")
        return out
    return None


def _interpret(value: Any) -> ParseResult | None:
    """Turn a decoded JSON value into entities, or None when it has no entity structure."""
    repairs: list[str] = []
    unknown: list[str] = []
    grouped: dict[str, list[str]] = {}

    def add(label: str, strings: list[str]) -> None:
        bucket = grouped.setdefault(label, [])
        for s in strings:
            s = s.strip()
            if s and s not in bucket:
                bucket.append(s)

    if isinstance(value, dict):
        for key, item in value.items():
            strings = _strings(item, repairs)
            if strings is None:
                return None
            label = _normalise_label(key, repairs)
            if label is None:
                unknown.append(str(key))
                continue
            add(label, strings)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        repairs.append("list of label/text objects")
        for item in value:
            lab = next((item[k] for k in _LABEL_KEYS if k in item), None)
            txt = next((item[k] for k in _TEXT_KEYS if k in item), None)
            if lab is None or not isinstance(txt, str):
                return None
            label = _normalise_label(lab, repairs)
            if label is None:
                unknown.append(str(lab))
                continue
            add(label, [txt])
    elif value == []:
        repairs.append("empty list")
    else:
        return None
    grouped = {k: v for k, v in grouped.items() if v}
    return ParseResult(entities=grouped, unknown_labels=unknown, repairs=sorted(set(repairs)))
