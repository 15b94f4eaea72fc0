"""cluener.yaml_files: the one reader of YAML configuration files and key=value overrides."""

from __future__ import annotations

import pytest

from cluener.yaml_files import YamlFileError, apply_overrides, read_mapping

from conftest import ROOT

pytestmark = pytest.mark.light  # no torch: runs in the light tier too (tests/light_tier.py)


class CallerError(ValueError):
    pass


def test_a_mapping_is_read_and_an_empty_file_is_empty(tmp_path):
    (tmp_path / "r.yaml").write_text("seed: 42\nlora_target: all\n", encoding="utf-8")
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    assert read_mapping(tmp_path / "r.yaml") == {"seed": 42, "lora_target": "all"}
    assert read_mapping(tmp_path / "empty.yaml") == {}
    assert read_mapping(tmp_path / "absent.yaml", missing_ok=True) == {}


@pytest.mark.parametrize(
    "text, message",
    [
        (None, r"absent\.yaml: not found"),
        ("seed: [1\n", r"bad\.yaml: not valid YAML \(while parsing"),
        ("- a\n- b\n", r"bad\.yaml: expected a mapping of key: value, found list"),
        (b"\xff\xfe", r"bad\.yaml: cannot be read"),
    ],
)
def test_a_file_that_cannot_be_a_config_is_one_line_in_the_callers_error(tmp_path, text, message):
    path = tmp_path / ("absent.yaml" if text is None else "bad.yaml")
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(CallerError, match=message) as caught:
        read_mapping(path, error=CallerError)
    assert "\n" not in str(caught.value)


def test_overrides_are_yaml_values_and_leave_the_input_alone():
    config = {"seed": 42, "learning_rate": 1e-4}
    out = apply_overrides(config, ["seed=7", "learning_rate=5e-5", "predict_splits=[dev, test]", " bf16 =false", "x="])
    assert out == {"seed": 7, "learning_rate": 5e-5, "predict_splits": ["dev", "test"], "bf16": False, "x": None}
    assert config == {"seed": 42, "learning_rate": 1e-4}


@pytest.mark.parametrize("item", ["seed", "=7", " =7"])
def test_an_override_without_key_and_value_is_an_error(item):
    with pytest.raises(YamlFileError, match="expected key=value"):
        apply_overrides({}, [item])


def test_a_value_that_is_not_yaml_is_an_error_unless_lenient():
    with pytest.raises(CallerError, match=r"override 'learning_rate=\[1': not a YAML value"):
        apply_overrides({}, ["learning_rate=[1"], error=CallerError)
    assert apply_overrides({}, ["learning_rate=[1"], strict=False) == {"learning_rate": "[1"}


OVERRIDES = ["learning_rate=5e-5", "seed=7", "lora_target=q_proj,v_proj", "eval_dataset=", "predict_splits=[dev, test]"]


@pytest.mark.full  # LLaMA-Factory's own reader imports torch: not in the light tier
@pytest.mark.parametrize("recipe", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "yaml_configs").glob("*/*.yaml")))
def test_every_recipe_reads_as_llamafactory_reads_it(recipe, monkeypatch):
    """LLaMA-Factory's read_args (OmegaConf.load + from_cli) gives the same dict as read_mapping + apply_overrides."""
    from llamafactory.hparams.parser import read_args

    monkeypatch.setattr("sys.argv", ["llamafactory-cli", str(ROOT / recipe), *OVERRIDES])
    assert apply_overrides(read_mapping(ROOT / recipe), OVERRIDES) == read_args()
