"""Typed config: YAML loading, type-checked overrides, unknown keys, round trip."""

import os

import pytest

from textattn.config import Config, apply_overrides, config_to_dict, load_config, save_config
from textattn.errors import UserError


def test_yaml_round_trip(tmp_path):
    config = load_config("configs/seed_mha.yaml")
    assert config.model.mha.output_dims == [16, 20]
    path = tmp_path / "c.yaml"
    save_config(config, path)
    assert load_config(path) == config


def test_overrides_are_parsed_and_type_checked():
    config = apply_overrides(
        Config(),
        [
            "train.epochs=3",
            "model.mha.output_dims=[8, 4]",
            "train.learning_rate=2e-3",
            "data.train_limit=null",
            "model.mask_padding=true",
        ],
    )
    assert config.train.epochs == 3 and config.model.mha.output_dims == [8, 4]
    assert config.train.learning_rate == 0.002 and config.model.mask_padding is True
    with pytest.raises(UserError, match="train.epochs: expected int"):
        apply_overrides(Config(), ["train.epochs=three"])
    with pytest.raises(UserError, match="expected one of 'none' | 'learned' | 'sinusoidal'"):
        apply_overrides(Config(), ["model.positional=rotary"])
    with pytest.raises(UserError, match="must look like key=value"):
        apply_overrides(Config(), ["train.epochs"])


def test_unknown_keys_are_errors_that_list_the_valid_ones(tmp_path):
    with pytest.raises(UserError, match=r"unknown config key 'model.mha.heads'.*num_heads"):
        apply_overrides(Config(), ["model.mha.heads=2"])
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  varient: mha\n")
    with pytest.raises(UserError, match=r"unknown config key 'model.varient'; valid keys here: variant"):
        load_config(path)


def test_malformed_yaml_and_bad_ranges(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML at line"):
        load_config(path)
    with pytest.raises(UserError, match="model.dropout must be in"):
        apply_overrides(Config(), ["model.dropout=1.5"])
    with pytest.raises(UserError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


def test_every_config_in_configs_loads():
    import glob

    paths = [p for p in glob.glob("configs/*.yaml") if not os.path.basename(p).startswith("tune")]
    assert len(paths) >= 10
    for path in paths:
        # Runs are named after their config: configs/fast.yaml writes runs/fast-TIMESTAMP.
        assert config_to_dict(load_config(path))["name"] == os.path.splitext(os.path.basename(path))[0]
