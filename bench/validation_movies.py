"""Does IMDB's validation share movies with the training part, and do the members do better on those reviews?

    python bench/validation_movies.py RUN_DIR [--characters]

RUN_DIR is a hybrid run of the aclImdb archive trained with ``train.final_fit: false`` (its members
never saw validation). aclImdb's ``train/urls_{pos,neg}.txt`` name each training review's movie (line
i: review i), and the dataset's README says train and test hold disjoint movies. Validation is carved
from the training split, so it can share movies with the part trained on; this prints how many of its
reviews do, and each member's validation accuracy on the reviews whose movie the training part holds
and on the others. With ``--characters`` a character n-gram member (``bench/char_ngram_member.py``) is
fitted on the training part and scored too.

The two groups also differ in how many reviews their movies have (a movie with many reviews is
almost surely on both sides), so a gap is not all memorisation: the table gives each group's median
reviews per movie.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import short_text_blend  # noqa: E402

from textattn.startup import configure_process  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--characters", action="store_true", help="fit and score a character n-gram member too")
    args = parser.parse_args(argv)
    configure_process()
    from textattn import runs
    from textattn.data.aclimdb import read_training_movies
    from textattn.data.pipeline import split_texts

    data = short_text_blend.branch_probabilities(args.run_dir)
    config = runs.load_config(args.run_dir)
    if config.data.source != "local" or not str(config.data.path).endswith((".tar.gz", ".tgz")):
        sys.exit(f"error: {args.run_dir!r} was not trained from the aclImdb archive (it names the movies)")
    splits = split_texts(config.data, config.seed)
    movie_of = read_training_movies(config.data.path)
    fit_movies = [movie_of[t] for t in splits.fit[0]]
    val_movies = [movie_of[t] for t in splits.validation[0]]
    seen = np.isin(val_movies, list(set(fit_movies)))
    labels = data["val"][1]
    h = config.model.hybrid  # the blend's members in its order (textattn/models/bag_models.py assemble_hybrid)
    names = (
        ["n-gram branch", "word branch"] + ["lexicon"] * (h.lexicon != "none") + ["Naive Bayes"] * h.naive_bayes_expert
    )
    names += ["characters (the run's)"] * bool(h.character_ngrams)
    members = {name: np.asarray(p) for name, p in zip(names, data["val"][0])}
    if args.characters:
        from char_ngram_member import character_member

        score = character_member(
            config,
            list(splits.fit[0]),
            np.asarray(splits.fit[1]),
            list(splits.validation[0]),
            labels,
            1_000_000,
            (3, 4, 5, 6),
        )
        members["character member"] = score(list(splits.validation[0]))
    reviews_per_movie = {}
    for m in fit_movies + val_movies:
        reviews_per_movie[m] = reviews_per_movie.get(m, 0) + 1
    per_review = np.array([reviews_per_movie[m] for m in val_movies])
    print(
        f"{seen.sum():,} of {len(seen):,} validation reviews ({len(set(val_movies)):,} movies) have their movie in "
        f"the training part; median reviews per movie (training split): {np.median(per_review[seen]):.0f} for "
        f"them, {np.median(per_review[~seen]):.0f} for the other {(~seen).sum():,}"
    )
    print("| member | val acc, movie in the training part | movie not in it | gap |")
    print("|---|---|---|---|")
    for name, probs in members.items():
        correct = probs.argmax(axis=1) == labels
        print(
            f"| {name} | {correct[seen].mean():.4f} | {correct[~seen].mean():.4f} | {correct[seen].mean() - correct[~seen].mean():+.4f} |"
        )


if __name__ == "__main__":
    from textattn.errors import run_cli

    sys.exit(run_cli(main, None))  # a wrong run directory or data path: one "error:" line, exit status 2
