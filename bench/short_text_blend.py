"""How a hybrid's blend does on short text, chosen on held-out validation (docs/reading.md, lever 6).

    python bench/short_text_blend.py RUN_DIR [--floors 1e-7 1e-3 0.01 0.03 0.1] [--kinds-floor 0.01]

RUN_DIR is a hybrid run trained with ``train.final_fit: false`` (so its branches never saw
validation). Each branch's probabilities are computed through the serving computation for the
validation reviews and for each one's last sentence (``textattn.training.short_text``). Validation
is split in two halves by a seeded permutation, each sentence in the half of its review; every blend
is fitted on half A (reviews, or reviews plus sentences) and scored on half B. The table gives
accuracy and log-loss on half B's reviews and sentences: the criterion for choosing a blend without
touching test data or the behavioural suite. A second table breaks half B's sentences down by kind for
the length blend with word floor ``--kinds-floor``: those holding a negator (data/negation.py) and those
holding a contrast word (but, however, although, though, despite), validation's own view of what the
suite's negation and contrast categories probe (with review-level labels, so noisy).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from textattn.data.concession import CONCEDING_AFTER_WORDS, CONCEDING_BEFORE_WORDS  # noqa: E402
from textattn.data.negation import NEGATOR  # noqa: E402
from textattn.startup import configure_process  # noqa: E402

SEED = 0
KINDS = {
    "with a negator": r"(?:^|\s)" + NEGATOR + r"(?=\s|$)",
    "with a contrast word": r"\b(?:" + "|".join(CONCEDING_BEFORE_WORDS + CONCEDING_AFTER_WORDS) + r")\b",
}
"""Sentence kinds of the second table: a regex searched in the lowercased sentence."""


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
    kinds = {
        kind: np.array([bool(re.search(pattern, s.lower())) for _, s in sentences]) for kind, pattern in KINDS.items()
    }
    val_probs, val_factors = score(list(texts))
    sentence_probs, sentence_factors = score([s for _, s in sentences])
    return {
        "val": (val_probs, np.asarray(labels), val_factors),
        "sentences": (sentence_probs, np.asarray(labels)[review_of], sentence_factors),
        "review_of": review_of,
        "kinds": kinds,
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


def compare(data: dict, floors: list[float], kinds_floor: float = 0.01) -> tuple[list[tuple], list[tuple]]:
    """Rows (name, B reviews acc, log-loss, B sentences acc, log-loss) of each blend fitted on half A, and rows
    (kind, count, acc, log-loss) of half B's sentences by kind under the length blend with ``kinds_floor``."""
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

    def length_blend(floor):
        member_floors = [1e-7, floor] + [1e-7] * (len(val_p) - 2)
        w, b, v = fit_log_linear_blend(both, both_y, floors=member_floors, length_factors=both_f, steps=3000)
        return w, b, member_floors, v

    fitted = {floor: length_blend(floor) for floor in {*floors, kinds_floor}}
    for floor in floors:
        rows.append(row(f"length, word floor {floor:g}", *fitted[floor]))
    w, b, member_floors, v = fitted[kinds_floor]
    ps = blend_probabilities(pick(sen_p, ~sen_half), w, b, member_floors, v, sen_f[~sen_half])
    ys = sen_y[~sen_half]
    kinds = [("all", np.ones(len(ys), bool))] + [(k, m[~sen_half]) for k, m in data["kinds"].items()]
    by_kind = [(k, int(m.sum()), (ps[m].argmax(1) == ys[m]).mean(), log_loss(ps[m], ys[m])) for k, m in kinds]
    return rows, by_kind


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--floors", type=float, nargs="+", default=[1e-7, 1e-3, 0.01, 0.03, 0.1])
    parser.add_argument("--kinds-floor", type=float, default=0.01, help="the word floor of the by-kind table")
    args = parser.parse_args(argv)
    configure_process()
    data = branch_probabilities(args.run_dir)
    print(f"{len(data['val'][1]):,} validation reviews, {len(data['sentences'][1]):,} of their last sentences")
    print("| blend (fitted on half A) | half B reviews: acc | log-loss | half B sentences: acc | log-loss | sum |")
    print("|---|---|---|---|---|---|")
    rows, by_kind = compare(data, args.floors, args.kinds_floor)
    for name, va, vl, sa, sl in rows:
        print(f"| {name} | {va:.4f} | {vl:.4f} | {sa:.4f} | {sl:.4f} | {vl + sl:.4f} |")
    print(f"\nHalf B sentences by kind, length blend with word floor {args.kinds_floor:g}:")
    print("| sentences | count | acc | log-loss |")
    print("|---|---|---|---|")
    for kind, count, acc, loss in by_kind:
        print(f"| {kind} | {count:,} | {acc:.4f} | {loss:.4f} |")


if __name__ == "__main__":
    from textattn.errors import run_cli

    sys.exit(run_cli(main, None))  # a wrong run directory or data path: one "error:" line, exit status 2
