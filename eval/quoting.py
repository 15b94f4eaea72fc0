"""How much untrusted text (model output, an entity string, a sentence) a report, metrics.json or an error line
quotes: at most a few hundred characters, and a cut quote says so. The full text stays in ``details.jsonl``.

>>> quote("张三", 5)
'张三'
>>> quote("x" * 12, 5)
'xxxxx… [cut: 12 characters in all]'
"""

from __future__ import annotations

QUOTE_MAX = 200  # characters of an entity string or a model output quoted in report.md / metrics.json
SENTENCE_MAX = 500  # characters of a sentence quoted beside it
NAMES_MAX = 50  # distinct unknown type names listed (the rest are counted together)


def quote(text: str, limit: int = QUOTE_MAX) -> str:
    """``text``, or its first ``limit`` characters and a note that it was cut (with its full length)."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}… [cut: {len(text)} characters in all]"


def quote_repr(text: str, limit: int = QUOTE_MAX) -> str:
    """``repr(text)`` for an error line, cut like :func:`quote`."""
    return quote(repr(text), limit)


def top_counts(counts: dict[str, int], limit: int = NAMES_MAX) -> dict[str, int]:
    """The ``limit`` largest of ``counts`` (names quoted), the others summed under one entry that says how many.

    >>> top_counts({"a": 3, "b": 2, "c": 1}, 1)
    {'a': 3, '… 2 other names': 3}
    """
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    out: dict[str, int] = {}
    for name, count in ranked[:limit]:
        key = quote(name)
        out[key] = out.get(key, 0) + count
    rest = ranked[limit:]
    if rest:
        out[f"… {len(rest)} other names"] = sum(count for _, count in rest)
    return out
