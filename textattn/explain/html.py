"""An explanation page: one self-contained HTML file, inline CSS, no scripts, nothing fetched.

One block per review: the label and probability, the tokens shaded by weight
(alpha = weight / the review's heaviest weight; hover a token for its
weight), a legend, the top tokens and, for n-gram models, the signed n-gram
rows. Long reviews wrap. A Content-Security-Policy forbids every fetch and
script, so the page shows the same from a plain file anywhere.
"""

from __future__ import annotations

from html import escape

from textattn.explain.explainer import Explanation

SHADE = "255, 140, 0"  # orange: token weight
NGRAM_ROWS = 10

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #fff;
       max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; }
.meta { color: #57606a; font-size: .9rem; margin: 0 0 1rem; }
.review { border: 1px solid #d0d7de; border-radius: 8px; padding: .9rem 1.1rem; margin: 1rem 0; }
.head { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; align-items: baseline; margin-bottom: .5rem; }
.label { font-weight: 600; padding: .05rem .5rem; border-radius: 4px; }
.positive, .pos { background: #dafbe1; color: #116329; }
.negative, .neg { background: #ffebe9; color: #a40e26; }
.unknown { background: #eaeef2; color: #424a53; }
.caption { color: #57606a; font-style: italic; }
.tokens { font-size: 1.05rem; line-height: 2; margin: .3rem 0; white-space: normal;
          overflow-wrap: anywhere; word-break: break-word; }
.t { padding: .12rem .14rem; border-radius: 3px; }
.legend, .top { color: #57606a; font-size: .85rem; margin: .3rem 0; }
.bar { display: inline-block; width: 9rem; height: .75rem; vertical-align: middle; border: 1px solid #d0d7de;
       background: linear-gradient(to right, rgba(255, 140, 0, 0), rgba(255, 140, 0, 1)); }
table.ngrams { border-collapse: collapse; font-size: .85rem; margin-top: .4rem; }
table.ngrams th, table.ngrams td { padding: .1rem .6rem; border-bottom: 1px solid #eaeef2; text-align: left; }
.up { color: #116329; } .down { color: #a40e26; }
"""


def token_spans(explanation: Explanation) -> str:
    heaviest = max(explanation.weights, default=0.0)
    spans = []
    for token, weight in zip(explanation.tokens, explanation.weights):
        alpha = weight / heaviest if heaviest > 0 else 0.0
        spans.append(
            f'<span class="t" style="background: rgba({SHADE}, {alpha:.3f})" '
            f'title="{weight:.4f}">{escape(token)}</span>'
        )
    return " ".join(spans) if spans else '<span class="caption">(no tokens)</span>'


def review_block(explanation: Explanation, top: int, caption: str | None = None) -> str:
    e = explanation
    heaviest = max(e.weights, default=0.0)
    parts = [
        '<section class="review">',
        '<div class="head">'
        f'<span class="label {escape(e.label)}">{escape(e.label)}</span>'
        f"<span>p({escape(e.label)}) = {e.probability:.4f}</span>"
        f"<span>known tokens: {e.known_tokens}</span>"
        + (f'<span class="caption">{escape(caption)}</span>' if caption else "")
        + "</div>",
        f'<p class="tokens">{token_spans(e)}</p>',
        f'<p class="legend">shade: <span class="bar"></span> weight 0 to {heaviest:.3f} (this review\'s heaviest '
        f"token); {len(e.tokens)} tokens, weights sum to 1</p>",
    ]
    if top > 0 and e.tokens:
        listed = ", ".join(f"{escape(t)} {w:.3f}" for _, t, w in e.top(top))
        parts.append(f'<p class="top">top {min(top, len(e.tokens))}: {listed}</p>')
    if e.ngrams:
        rows = "".join(
            f'<tr><td class="{"up" if c >= 0 else "down"}">{c:+.3f}</td><td>{escape(g)}</td></tr>'
            for g, c in e.ngrams[: max(top, NGRAM_ROWS)]
        )
        parts.append(
            f'<table class="ngrams"><tr><th>{escape(e.ngram_measure)}</th>'
            f"<th>n-gram (+ toward {escape(e.ngram_toward)}, - toward {escape(e.ngram_against)})</th></tr>"
            f"{rows}</table>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def render_page(explanations, title: str, meaning: str, top: int = 10, captions=None) -> str:
    """The whole page as a string; ``captions`` (optional) holds one line per review."""
    captions = list(captions) if captions is not None else [None] * len(explanations)
    blocks = "\n".join(review_block(e, top, c) for e, c in zip(explanations, captions))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">Weights: {escape(meaning)}</p>
{blocks or '<p class="meta">No reviews.</p>'}
</body>
</html>
"""
