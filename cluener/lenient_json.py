"""A forgiving JSON reader for model output (used by :mod:`cluener.target`'s parse side): full-width brackets and
colons, curly quotes, single quotes, trailing commas, a cut-off end. Linear in the text and depth-capped.

>>> reader = LenientReader('｛“name”：［“张三”，］｝', 0)
>>> reader.value(0).pairs, reader.closed
([('name', ['张三'])], True)
>>> reader = LenientReader('{"name": ["张三", "李', 0)
>>> reader.value(0).pairs, reader.closed, sorted(reader.repairs)
([('name', ['张三'])], False, ['truncated'])
"""

from __future__ import annotations

import json
import re

MAX_DEPTH = 8  # nesting deeper than this is not read (no recursion overflow on hostile input)


class _Nothing:
    pass


class JsonObject(dict):
    """A decoded JSON object that remembers every key/value pair, so duplicate keys are merged, not lost."""

    pairs: list

    @classmethod
    def from_pairs(cls, pairs: list) -> JsonObject:
        obj = cls(pairs)
        obj.pairs = list(pairs)
        return obj


START = re.compile(r"[\[{［｛]")


NOTHING = _Nothing()
# A bare JSON value: a number as JSON writes it (no leading zeros: "00" is not one), true, false or null.
_BARE = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
_OPEN = {"{": "{", "｛": "{", "[": "[", "［": "["}
_CLOSE = {"}": "}", "｝": "}", "]": "]", "］": "]"}
_COLON = {":", "："}
_COMMA = {",", "，", "、"}
_QUOTES = {'"': '"', "“": "”", "”": "”", "'": "'", "‘": "’", "「": "」"}


class LenientReader:
    """A forgiving JSON reader: full-width syntax, trailing commas, single quotes, truncation.

    Each character is read at most once, and nesting is capped, so it runs in linear time and cannot overflow.

    Kept instead of json-repair (0.64.4, measured in its place on this module's tests and the dev targets:
    ``PYTHONPATH=tests python -m benchmarks.bench_libraries target``): json-repair gets 35 of the 41 recovery cases of
    tests/test_cluener_target.py right (this reader 41): it drops full-width ``｛“name”：［…］｝`` output, calls
    ``对不起 {`` and ``{"name":[`` repaired, and completes cut strings. Cut at every character, the 1,343 dev targets
    give 10,225 invented strings (``浙商银`` for ``浙商银行``) with json-repair, 0 here; and it is superlinear on
    hard inputs (27.6 s for a 20,000-character cut string, 8.2 s for 20,000 ``{``; here 0.02 s and 0.0002 s).
    """

    def __init__(self, text: str, pos: int):
        self.text, self.pos, self.repairs = text, pos, set()
        self.closed = False  # whether the outermost object or list was read to its closing bracket

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
            return NOTHING
        if ch in _OPEN:
            if depth >= MAX_DEPTH:
                return NOTHING
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
                return NOTHING  # a string never spans lines in this format
            out.append(ch)
            self.pos += 1
        self.repairs.add("truncated")
        return NOTHING

    def _bare(self):
        match = _BARE.match(self.text, self.pos)
        if not match:
            return NOTHING
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
            self.closed = self.closed or depth == 0
            return items
        while True:
            item = self.value(depth + 1)
            if item is NOTHING:
                if not self._peek():
                    self.repairs.add("truncated")
                return items
            items.append(item)
            separator = self._separator("]")
            if separator != "next":
                self.closed = self.closed or (depth == 0 and separator == "close")
                return items

    def _object(self, depth: int):
        obj = JsonObject.from_pairs([])
        if self._peek() in _CLOSE:
            self.pos += 1
            self.closed = self.closed or depth == 0
            return obj
        while True:
            ch = self._peek()
            if ch in _QUOTES:
                key = self._string()
            else:  # unquoted key such as {name: [...]}
                match = re.compile(r"[A-Za-z_\u4e00-\u9fff]+").match(self.text, self.pos)
                key = match.group(0) if match else NOTHING
                if match:
                    self.pos = match.end()
                    self.repairs.add("unquoted key")
            if key is NOTHING or self._peek() not in _COLON:
                if not self._peek():
                    self.repairs.add("truncated")
                return obj
            if self._peek() != ":":
                self.repairs.add("full-width punctuation")
            self.pos += 1
            item = self.value(depth + 1)
            if item is NOTHING:
                if not self._peek():
                    self.repairs.add("truncated")
                return obj
            obj[key] = item
            obj.pairs.append((key, item))
            separator = self._separator("}")
            if separator != "next":
                self.closed = self.closed or (depth == 0 and separator == "close")
                return obj


# ---------------------------------------------------------------- interpretation
