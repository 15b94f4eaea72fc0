"""benchmarks/packing_lf.py: the padding knobs through LLaMA-Factory's own pipeline, and each example's loss.

On the first 160 train examples (a full run takes minutes): LF's packed datasets at cutoff_len 256, LF's collator,
a random shrunken Qwen3 loaded through LF. benchmarks/padding.py's length arithmetic must agree with LF's pipeline.
"""

from __future__ import annotations


import pytest


from benchmarks import packing_lf, padding

SAMPLES = 160


@pytest.fixture(scope="module")
def measured(project_root):
    return packing_lf.measure("qwen3_0.6b_lora_sft", [256], loss_packs=2, max_samples=SAMPLES, dataset_dir=project_root)


def test_neat_packing_keeps_each_loss_and_plain_packing_does_not(measured):
    packed = measured["packing"]["256"]
    assert packed["neat_packing"]["loss"]["unchanged"] and packed["neat_packing"]["loss"]["examples"] >= 3
    assert packed["neat_packing"]["loss"]["max_abs_diff"] < packing_lf.UNCHANGED
    # plain packing: an example attends to the ones packed before it, so its loss moves
    assert not packed["packing"]["loss"]["unchanged"]
    assert packed["packing"]["loss"]["max_abs_diff"] > 10 * packing_lf.UNCHANGED
    # a padded row of a group_by_length batch is masked: its example's loss is what it is alone
    assert measured["group_by_length_loss"]["unchanged"] and measured["group_by_length_loss"]["rows"] == 16


def test_lf_pipeline_agrees_with_the_length_arithmetic(measured, project_root):
    """padding.py (lengths + LF's greedy_knapsack) predicts the packs and the efficiency LF's pipeline shows."""
    config = padding.recipe_config("qwen3_0.6b_lora_sft")
    pairs = padding.pair_lengths(config, project_root / "data")[:SAMPLES]
    efficiency, packs = padding.packing_efficiency(padding.cut_lengths(pairs, 256), 256)
    for knob in ("packing", "neat_packing"):  # the same packs, only the mask differs
        assert measured["packing"]["256"][knob]["packs"] == packs
        assert measured["packing"]["256"][knob]["efficiency"] == pytest.approx(efficiency, abs=1e-4)
    assert measured["examples"] == SAMPLES and 0 < measured["random"] < measured["group_by_length"] <= 1
