"""The arithmetic of `make bench-predict` (benchmarks/bench_predict.py): gold generation lengths, buckets, projections.

No torch here: the lengths come in as lists of ints.

- ``gold_length``: the tokens a model that answers the gold target generates: the target's tokens through the
  recipe's template up to and including the first stop token (``<|im_end|>``), where generation ends;
- ``buckets``: dev sorted by gold length, cut into contiguous groups; a group runs with ``max_new_tokens`` = its
  longest gold length, so a shorter example generates ``overshoot`` tokens more than its gold (recorded);
- ``fit_batch_seconds``: seconds per generation batch as ``a + c x steps`` (prefill + decode per step), a
  non-negative least-squares line through the buckets' measured (steps, seconds per batch);
- ``project_dataset_order``: what ``make predict`` takes on a split: it runs batches of ``per_device_eval_batch_size``
  in dataset order, and HF ``generate`` runs each batch until its longest answer is done (a trained model stops at its
  stop token), so the batch costs ``a + c x max(gold in batch)``.

>>> buckets([5, 9, 7, 5, 12, 8], 2)
[[0, 3, 2], [5, 1, 4]]
>>> overshoot([5, 9, 7, 5, 12, 8], [[0, 3, 2], [5, 1, 4]])
[4, 7]
>>> fit_batch_seconds([(10, 2.0), (20, 3.0), (30, 4.0)])
(1.0, 0.1)
>>> project_dataset_order([4, 8, 2, 10], 2, 1.0, 0.1)
3.8
"""

from __future__ import annotations

import math


def gold_length(target_ids: list[int], stop_ids: list[int]) -> int:
    """Tokens generated up to and including the first stop token (all of ``target_ids`` when it has none).

    >>> gold_length([11, 12, 13, 151645, 198], [151645])
    4
    """
    for position, token in enumerate(target_ids):
        if token in stop_ids:
            return position + 1
    return len(target_ids)


def buckets(lengths: list[int], count: int) -> list[list[int]]:
    """Indices sorted by length (ties in dataset order), cut into ``count`` contiguous groups of near-equal size."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    count = max(1, min(count, len(order)))
    size, extra = divmod(len(order), count)
    groups, start = [], 0
    for k in range(count):
        end = start + size + (1 if k < extra else 0)
        groups.append(order[start:end])
        start = end
    return [g for g in groups if g]


def overshoot(lengths: list[int], groups: list[list[int]]) -> list[int]:
    """Per group: the tokens generated beyond the gold lengths when every row runs to the group's longest."""
    return [sum(max(lengths[i] for i in g) - lengths[i] for i in g) for g in groups]


def fit_batch_seconds(points: list[tuple[float, float]]) -> tuple[float, float]:
    """``(a, c)`` of seconds per batch = a + c x steps, least squares with a, c >= 0 (a noisy fit is clamped)."""
    if not points:
        raise ValueError("no measured bucket")
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var > 0:
        c = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
        a = mean_y - c * mean_x
        if a >= 0 and c >= 0:
            return round(a, 6), round(c, 6)
        if c < 0:  # time does not grow with steps here: a flat cost per batch
            return round(mean_y, 6), 0.0
    # a through the origin: seconds proportional to steps
    c = sum(x * y for x, y in points) / sum(x * x for x, _ in points)
    return 0.0, round(c, 6)


def project_dataset_order(lengths: list[int], batch: int, a: float, c: float) -> float:
    """Seconds of generation for ``lengths`` in dataset order, batches of ``batch``, each to its longest answer."""
    total = 0.0
    for start in range(0, len(lengths), batch):
        total += a + c * max(lengths[start : start + batch])
    return round(total, 3)


def batches(n: int, batch: int) -> int:
    return math.ceil(n / batch)
