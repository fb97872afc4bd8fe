"""train.bucket_by_length: batches of similar length, cut to their longest review, same model outputs."""

import keras
import numpy as np
import pytest
from helpers import tiny_config

from textattn.config import apply_overrides, validate
from textattn.data import pipeline
from textattn.data.run_data import load_data
from textattn.errors import UserError
from textattn.models.build import build_model
from textattn.training import train

LENGTH = 40


def _token_ids(n=300, seed=0):
    """n reviews of 1..LENGTH tokens (ids 1..59), padded after; labels are the row numbers."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, LENGTH + 1, n)
    ids = np.zeros((n, LENGTH), np.int32)
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(1, 60, length)
    return ids, lengths, np.arange(n, dtype=np.int32)


def _epoch(ds):
    return [(np.asarray(x), np.asarray(y)) for x, y in ds]


@pytest.mark.parametrize("multiple", [1, 8])
def test_every_review_comes_once_whole_in_a_batch_cut_to_its_longest(multiple):
    ids, lengths, rows = _token_ids()
    ds = pipeline.make_dataset(ids, rows, 32, shuffle_seed=3, trim_multiple=multiple)
    batches = _epoch(ds)
    assert len(batches) == ds.cardinality() == -(-len(rows) // 32)
    seen = np.concatenate([y for _, y in batches])
    np.testing.assert_array_equal(np.sort(seen), rows)
    for x, y in batches:
        longest = lengths[y].max()
        assert x.shape[1] == min(LENGTH, -(-longest // multiple) * multiple)
        np.testing.assert_array_equal(x, ids[y, : x.shape[1]])  # nothing but padding was cut
    # Batches hold reviews of similar length: far less padding than random batches of the whole length.
    kept = sum(x.size for x, _ in batches)
    assert kept < 0.75 * ids.size


def test_bucketed_batches_change_every_epoch_and_repeat_with_the_seed():
    ids, _, rows = _token_ids()

    def two_epochs():
        ds = pipeline.make_dataset(ids, rows, 32, shuffle_seed=3, trim_multiple=1)
        return [[tuple(y) for _, y in _epoch(ds)] for _ in range(2)]

    first, second = two_epochs()
    assert first != second
    assert two_epochs() == [first, second]


def test_unshuffled_bucketing_sorts_the_whole_split():
    ids, lengths, rows = _token_ids()
    batches = _epoch(pipeline.make_dataset(ids, rows, 32, trim_multiple=1))
    order = np.concatenate([y for _, y in batches])
    assert np.all(np.diff(lengths[order]) >= 0)


def test_bucketing_keeps_each_reviews_ngrams_with_its_tokens(tiny_aclimdb, tmp_path):
    import tensorflow as tf

    config = apply_overrides(tiny_config(tmp_path, "hybrid", data=tiny_aclimdb), ["train.bucket_by_length=true"])
    data = load_data(config, verbose=False)

    def examples(for_fit):
        rows = []
        for batch, labels in data.dataset(config, "train", shuffle=False, for_fit=for_fit):
            bags = tf.sparse.to_dense(batch["ngrams"]).numpy()
            for ids, bag, label in zip(batch["token_ids"].numpy(), bags, labels.numpy()):
                rows.append((tuple(ids[ids != 0]), tuple(np.flatnonzero(bag)), int(label)))
        return sorted(rows)

    assert examples(for_fit=True) == examples(for_fit=False)


def test_a_masked_model_gives_the_same_outputs_on_cut_batches(tmp_path):
    ids, lengths, _ = _token_ids(64)
    for variant in ("attention", "mha", "transformer"):
        config = tiny_config(tmp_path, variant)
        config = apply_overrides(config, [f"data.sequence_length={LENGTH}", "train.bucket_by_length=true"])
        keras.utils.set_random_seed(0)
        model = build_model(config)
        full = model.predict(ids, verbose=0)
        short = ids[lengths <= 12][:, :12]
        np.testing.assert_allclose(model.predict(short, verbose=0), full[lengths <= 12], atol=2e-6)


def test_bucketing_needs_the_padding_mask(tmp_path):
    with pytest.raises(UserError, match="train.bucket_by_length needs model.mask_padding: true"):
        validate(
            apply_overrides(
                tiny_config(tmp_path, "attention"), ["train.bucket_by_length=true", "model.mask_padding=false"]
            )
        )
    # Models without token ids have no padding to cut.
    validate(
        apply_overrides(tiny_config(tmp_path, "ngram"), ["train.bucket_by_length=true", "model.mask_padding=false"])
    )


def test_a_bucketed_run_trains_and_its_saved_model_reads_full_length_reviews(tiny_aclimdb, tmp_path):
    config = apply_overrides(
        tiny_config(tmp_path, "attention", data=tiny_aclimdb), ["train.bucket_by_length=true", "train.epochs=2"]
    )
    run_dir = train(config, output_dir=str(tmp_path / "runs"), verbose=0).run_dir
    model = keras.saving.load_model(f"{run_dir}/model.keras", safe_mode=True)
    data = load_data(config, verbose=False)
    probabilities = model.predict(data.tokens.x_test, verbose=0)
    assert probabilities.shape == (len(data.tokens.x_test), 2)
    assert np.all(np.isfinite(probabilities))
