"""data.validation_by_movie: IMDB validation of whole movies, none of which the part trained on holds."""

import os
import shutil
import tarfile

import pytest
from helpers import tiny_config

from textattn.config import apply_overrides
from textattn.data import aclimdb
from textattn.data.pipeline import split_texts, whole_movies
from textattn.errors import UserError


def by_movie(tmp_path, data_path, *overrides):
    return apply_overrides(
        tiny_config(tmp_path, "baseline", data=data_path), ["data.validation_by_movie=true", *overrides]
    )


def test_validation_holds_whole_movies_the_training_part_does_not(tiny_aclimdb, tmp_path):
    config = by_movie(tmp_path, tiny_aclimdb)
    splits = split_texts(config.data, config.seed)
    movie_of = aclimdb.read_training_movies(tiny_aclimdb)
    fit = {movie_of[t] for t in splits.fit[0]}
    validation = {movie_of[t] for t in splits.validation[0]}
    assert fit and validation and not fit & validation
    assert 40 <= len(splits.validation[0]) < 40 + 10  # whole movies: at least 40, at most one movie more
    assert len(splits.fit[0]) + len(splits.validation[0]) == 120
    again = split_texts(config.data, config.seed)
    assert again.validation[0] == splits.validation[0] and again.fit[0] == splits.fit[0]
    # Without the setting validation shares its movies with the training part.
    shared = split_texts(apply_overrides(config, ["data.validation_by_movie=false"]).data, config.seed)
    assert {movie_of[t] for t in shared.validation[0]} & {movie_of[t] for t in shared.fit[0]}


def test_the_movies_are_read_from_the_archive_as_from_the_folder(tiny_aclimdb, tmp_path):
    archive = tmp_path / "aclImdb.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tiny_aclimdb, arcname="aclImdb")
    assert aclimdb.read_training_movies(str(archive)) == aclimdb.read_training_movies(tiny_aclimdb)


def test_whole_movies_takes_movies_until_the_size_is_reached():
    movies = ["a"] * 5 + ["b"] * 3 + ["c"] * 4 + ["d"]
    for seed in range(5):
        taken = whole_movies(movies, 6, seed)
        chosen = {m for m, t in zip(movies, taken) if t}
        assert all(t == (m in chosen) for m, t in zip(movies, taken))  # each movie whole, in or out
        assert taken.sum() >= 6
        assert taken.sum() - max(movies.count(m) for m in chosen) < 6  # no movie more than needed


def test_a_copy_without_the_urls_files_or_tfds_is_a_user_error(tiny_aclimdb, tmp_path):
    copy = shutil.copytree(tiny_aclimdb, tmp_path / "copy" / "aclImdb")
    os.remove(copy / "train" / "urls_pos.txt")
    aclimdb.read_training_movies.cache_clear()
    with pytest.raises(UserError, match="urls_pos.txt"):
        split_texts(by_movie(tmp_path, str(copy)).data, 7)
    config = apply_overrides(tiny_config(tmp_path, "baseline"), ["data.source=tfds", "data.validation_by_movie=true"])
    with pytest.raises(UserError, match="local aclImdb copy"):
        split_texts(config.data, 7)
