"""The variant registry: each entry gives a config section, a model, search-space keys and table columns."""

import dataclasses

import pytest

from textattn.config import Config, all_keys, apply_overrides
from textattn.errors import UserError
from textattn.evaluation.architecture import architecture_columns
from textattn.models import build_model
from textattn.models.bag_models import BUILDERS
from textattn.models.bodies import BODIES
from textattn.variants import NAMES, TOKEN_IDS, VARIANTS, variant


def small(name: str) -> Config:
    return apply_overrides(
        Config(),
        [
            f"model.variant={name}",
            "data.vocab_size=50",
            "data.sequence_length=12",
            "model.embedding_dim=8",
            "model.mask_padding=true",
            "model.hybrid.branch=attention",
        ],
    )


@pytest.mark.parametrize("name", NAMES)
def test_each_variant_builds_a_model_of_its_inputs(name):
    entry = variant(name)
    model = build_model(small(name), ngram_vocab_size=30)
    assert sorted(x.name for x in model.inputs) == sorted(entry.inputs)
    assert tuple(model.output.shape) == (None, 2)
    shapes = {x.name: tuple(x.shape) for x in model.inputs}
    if TOKEN_IDS in shapes:
        assert shapes[TOKEN_IDS] == (None, 12)


def test_the_models_build_every_registered_variant_and_no_other():
    assert sorted(BODIES) == sorted(v.name for v in VARIANTS if v.word_sequence)
    assert sorted(BUILDERS) == sorted(v.name for v in VARIANTS if not v.word_sequence)


@pytest.mark.parametrize("entry", [v for v in VARIANTS if v.section], ids=lambda v: v.name)
def test_each_section_is_in_the_config_and_its_keys_are_settable(entry):
    settings = getattr(Config().model, entry.section)
    assert isinstance(settings, entry.settings)
    fields = [f.name for f in dataclasses.fields(entry.settings)]
    assert [k for k in all_keys() if k.startswith(entry.config_prefix + ".")] == [
        f"{entry.config_prefix}.{f}" for f in fields
    ]


@pytest.mark.parametrize("name", NAMES)
def test_each_variant_has_table_columns(name):
    columns = architecture_columns(small(name))
    assert set(columns) == {"variant", "positional", "pooling", "mask_padding", "layers", "heads"}
    assert isinstance(columns["layers"], int) and columns["layers"] >= 0
    assert columns["variant"] == ("hybrid+attention" if name == "hybrid" else name)


def test_unknown_variant_and_branch_are_user_errors():
    with pytest.raises(UserError, match="expected one of 'baseline'"):
        apply_overrides(Config(), ["model.variant=lstm"])
    with pytest.raises(UserError, match="unknown model.variant 'lstm'"):
        variant("lstm")
    with pytest.raises(UserError, match="model.hybrid.branch must be a word-sequence variant"):
        apply_overrides(Config(), ["model.variant=hybrid", "model.hybrid.branch=ngram"])
