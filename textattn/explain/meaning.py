"""What a weight means, in words: for --help, the JSON output, the HTML legend and metadata.json."""

from __future__ import annotations

import textwrap

from textattn.explain import weight_kinds as tw

TOKEN_WEIGHTS = {
    tw.ATTENTION_POOLING: "the attention pooling's own weights over the tokens (AttentionPooling, "
    "return_attention_scores=True)",
    tw.ROLLOUT: "attention rollout (Abnar & Zuidema 2020) through the stacked self-attention layers, heads "
    "averaged, 0.5*A + 0.5*I where the block has a residual (transformer), carried into the pooled "
    "vector by the pooling's query ({query})",
    tw.RNN_ATTENTION: "the Bahdanau attention pooling's weights over the RNN states (state t sits at token t)",
    tw.GRADIENT_X_INPUT: "gradient x input: |d(positive-vs-negative logit)/d(embedding) . embedding| per token "
    "(more than two classes: of the predicted class's logit minus the mean logit)",
}
POOL_QUERIES = {
    "average": "average pooling: uniform over the tokens",
    "attention": "attention pooling: its weights",
    "max": "max pooling: each position's share of the channels whose maximum it holds",
}
NGRAM_ROWS = (
    "n-gram rows: each distinct n-gram's exact signed contribution to the log-odds of the probability "
    "shown (feature weight r*w of NaiveBayesNgramLogits, a negated word's share of its plain word's "
    "included, times the hybrid's blend weight, plus with a Naive Bayes expert its scaled ratio r times "
    "the expert's blend weight, over the temperature; with a character member, a character n-gram "
    "'chars:...' through that member and its blend weight); + toward the second class (positive), - toward "
    "the first; with more than two "
    "classes, the contribution to log p(predicted) minus the mean log-probability"
)
NGRAM_SHADING = "each n-gram's |contribution| spread evenly over the words of its occurrences"
COMMON = (
    "Padding gets 0; over a review's tokens the weights are non-negative and sum to 1 "
    "(a model trained without a padding mask also attends to padding: that share is dropped and the "
    "rest renormalised)."
)

ROLLOUT_QUERIES = (
    "average pooling: a uniform query over the tokens; attention pooling: its weights; "
    "max pooling: each position's share of the channels whose maximum it holds"
)
HELP_ROWS = (
    ("baseline, attention pooling", TOKEN_WEIGHTS[tw.ATTENTION_POOLING]),
    ("attention, additive, mha, transformer", TOKEN_WEIGHTS[tw.ROLLOUT].format(query=ROLLOUT_QUERIES)),
    ("rnn_attention", TOKEN_WEIGHTS[tw.RNN_ATTENTION]),
    ("baseline, average/max pooling", TOKEN_WEIGHTS[tw.GRADIENT_X_INPUT]),
    ("ngram", f"tokens shaded by {NGRAM_SHADING}; {NGRAM_ROWS}"),
    ("hybrid", f"tokens: its word branch's weights (as above); {NGRAM_ROWS}"),
)


def help_text(width: int = 88) -> str:
    """The per-variant meanings as an argparse epilog, wrapped to ``width`` columns."""
    lines = ["what a token's weight is, per variant:"]
    for variant, text in HELP_ROWS:
        lines.append(f"  {variant}:")
        lines += textwrap.wrap(text, width, initial_indent="      ", subsequent_indent="      ")
    lines += textwrap.wrap(COMMON, width)
    return "\n".join(lines)


def describe(config) -> str:
    """One sentence on what the token weights (and n-gram rows) of ``config``'s model are."""
    from textattn.models.bag_models import word_branch_config

    variant = config.model.variant
    if variant == "ngram":
        return f"ngram: token shading = {NGRAM_SHADING}; {NGRAM_ROWS}."
    word = word_branch_config(config).model if variant == "hybrid" else config.model
    kind = tw.weight_kind(word)
    text = TOKEN_WEIGHTS[kind].format(query=POOL_QUERIES[word.pooling])
    if variant == "hybrid":
        return f"hybrid: tokens = its {word.variant} word branch's weights, {text}; {NGRAM_ROWS}."
    return f"{variant} ({word.pooling} pooling): {text}."
