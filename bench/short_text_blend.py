"""How a hybrid's blend does on short text, chosen on held-out validation (docs/reading.md, lever 6).

    python bench/short_text_blend.py RUN_DIR [--floors 1e-7 1e-3 0.01 0.03 0.1]

RUN_DIR is a hybrid run trained with ``train.final_fit: false`` (so its branches never saw
validation). Each branch's probabilities are computed through the serving computation for the
validation reviews and for each one's last sentence (``textattn.training.short_text``). Validation
is split in two halves by a seeded permutation, each sentence in the half of its review; every blend
is fitted on half A (reviews, or reviews plus sentences) and scored on half B. The table gives
accuracy and log-loss on half B's reviews and sentences: the criterion for choosing a blend without
touching test data or the behavioural suite.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from textattn.startup import configure_process  # noqa: E402

SEED = 0


def branch_probabilities(run_dir: str) -> dict:
    """{"val": (probs [ngram, word, each expert the run has], labels, factors), "sentences": (probs, labels,
    factors), "review_of": (M,)}."""
    # Imported here, after configure_process() in main(): the allocator setting must precede TensorFlow.
    from textattn import serving
    from textattn.data.pipeline import split_texts
    from textattn.training import short_text

    parts, model = serving.load_serving_parts(run_dir)
    config = parts.config
    if config.model.variant != "hybrid" or config.train.final_fit:
        sys.exit(f"error: {run_dir!r} must be a hybrid run trained with train.final_fit=false")
    score = member_scorer(parts, model)
    texts, labels = split_texts(config.data, config.seed).validation
    sentences = [(i, short_text.last_sentence(t)) for i, t in enumerate(texts)]
    sentences = [(i, s) for i, s in sentences if s is not None]
    review_of = np.array([i for i, _ in sentences])
    val_probs, val_factors = score(list(texts))
    sentence_probs, sentence_factors = score([s for _, s in sentences])
    return {
        "val": (val_probs, np.asarray(labels), val_factors),
        "sentences": (sentence_probs, np.asarray(labels)[review_of], sentence_factors),
        "review_of": review_of,
    }


def member_scorer(parts, model):
    """raw texts (M,) -> (each blend member's probabilities [(M, C)] in the blend's order, length factors (M,))."""
    from textattn.layers.log_linear_blend import length_factor
    from textattn.models.bag_models import CHARACTER_MEMBER, LEXICON_BRANCH, NB_EXPERT, NGRAM_BRANCH, WORD_BRANCH
    from textattn.training import short_text

    members = [(model.get_layer(NGRAM_BRANCH), "ngrams"), (model.get_layer(WORD_BRANCH), "token_ids")]
    names = {layer.name for layer in model.layers}
    if LEXICON_BRANCH in names:
        members.append((model.get_layer(LEXICON_BRANCH), "token_ids"))
    if NB_EXPERT in names:  # the blend's members in its order (textattn/models/bag_models.py assemble_hybrid)
        members.append((model.get_layer(NB_EXPERT), "ngrams"))
    if CHARACTER_MEMBER in names:
        members.append((model.get_layer(CHARACTER_MEMBER), "ngrams"))

    def score(texts):
        probs, counts = short_text.branch_probabilities(members, parts, texts)
        return probs, np.asarray(length_factor(counts, parts.config.data.sequence_length))

    return score


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1.0)).mean())


def compare(data: dict, floors: list[float]) -> list[tuple]:
    """Rows (name, B reviews acc, log-loss, B sentences acc, log-loss) of each blend fitted on half A."""
    from textattn.layers.log_linear_blend import fit_log_linear_blend
    from textattn.training.hybrid import blend_probabilities

    val_p, val_y, val_f = data["val"]
    sen_p, sen_y, sen_f = data["sentences"]
    half = np.random.default_rng(SEED).permutation(len(val_y)) < len(val_y) // 2
    sen_half = half[data["review_of"]]

    def pick(probs, mask):
        return [p[mask] for p in probs]

    def row(name, weights, bias, floors=None, length_weights=None):
        pv = blend_probabilities(pick(val_p, ~half), weights, bias, floors, length_weights, val_f[~half])
        ps = blend_probabilities(pick(sen_p, ~sen_half), weights, bias, floors, length_weights, sen_f[~sen_half])
        yv, ys = val_y[~half], sen_y[~sen_half]
        return (name, (pv.argmax(1) == yv).mean(), log_loss(pv, yv), (ps.argmax(1) == ys).mean(), log_loss(ps, ys))

    both = [np.concatenate([v, s]) for v, s in zip(pick(val_p, half), pick(sen_p, sen_half))]
    both_y = np.concatenate([val_y[half], sen_y[sen_half]])
    both_f = np.concatenate([val_f[half], sen_f[sen_half]])
    rows = [
        row("constant, reviews only", *fit_log_linear_blend(pick(val_p, half), val_y[half])),
        row("constant, reviews + sentences", *fit_log_linear_blend(both, both_y)),
    ]
    for floor in floors:
        member_floors = [1e-7, floor] + [1e-7] * (len(val_p) - 2)
        w, b, v = fit_log_linear_blend(both, both_y, floors=member_floors, length_factors=both_f, steps=3000)
        rows.append(row(f"length, word floor {floor:g}", w, b, member_floors, v))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--floors", type=float, nargs="+", default=[1e-7, 1e-3, 0.01, 0.03, 0.1])
    args = parser.parse_args(argv)
    configure_process()
    data = branch_probabilities(args.run_dir)
    print(f"{len(data['val'][1]):,} validation reviews, {len(data['sentences'][1]):,} of their last sentences")
    print("| blend (fitted on half A) | half B reviews: acc | log-loss | half B sentences: acc | log-loss | sum |")
    print("|---|---|---|---|---|---|")
    for name, va, vl, sa, sl in compare(data, args.floors):
        print(f"| {name} | {va:.4f} | {vl:.4f} | {sa:.4f} | {sl:.4f} | {vl + sl:.4f} |")


if __name__ == "__main__":
    from textattn.errors import run_cli

    sys.exit(run_cli(main, None))  # a wrong run directory or data path: one "error:" line, exit status 2
