"""An explanation as text: ANSI-shaded tokens on a colour terminal, tokens with their weights otherwise.

    pos       0.9731  known_tokens=7                    (the predicted class and its probability)
      a wonderful film with a dull ending                 (each token's background: its weight)
      top 3: wonderful 0.412 · dull 0.220 · ending 0.101
      n-grams (log-odds, + toward pos, - toward neg): +1.234 "wonderful" · -0.880 "dull ending"

Without colour the second line reads ``a[0.021] wonderful[0.412] ...``.
"""

from __future__ import annotations

import json
import os

from textattn.explain.explainer import Explanation

# 256-colour backgrounds from pale yellow to red; level 0 is left unshaded.
RAMP = (None, 230, 229, 228, 222, 215, 209, 203)
RESET = "\x1b[0m"
NGRAM_ROWS = 5


def use_colour(stream) -> bool:
    """ANSI colour only on a terminal, and never when NO_COLOR is set to anything non-empty (no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def shade_level(weight: float, heaviest: float) -> int:
    """0 (no shade) to len(RAMP) - 1 (the review's heaviest token), linear in weight / heaviest."""
    if heaviest <= 0 or weight <= 0:
        return 0
    return min(len(RAMP) - 1, int(round(weight / heaviest * (len(RAMP) - 1))))


def shaded_tokens(explanation: Explanation, colour: bool) -> str:
    heaviest = max(explanation.weights, default=0.0)
    words = []
    for token, weight in zip(explanation.tokens, explanation.weights):
        if not colour:
            words.append(f"{token}[{weight:.3f}]")
            continue
        level = shade_level(weight, heaviest)
        words.append(token if level == 0 else f"\x1b[30;48;5;{RAMP[level]}m{token}{RESET}")
    return " ".join(words) if words else "(no tokens)"


def format_review(explanation: Explanation, top: int, colour: bool) -> str:
    e = explanation
    answer = ", ".join(f"{name} {p:.4f}" for name, p in e.labels) if e.labels else f"{e.label:<8}  {e.probability:.4f}"
    lines = [f"{answer}  known_tokens={e.known_tokens}", "  " + shaded_tokens(e, colour)]
    if top > 0 and e.tokens:
        lines.append(f"  top {min(top, len(e.tokens))}: " + " · ".join(f"{t} {w:.3f}" for _, t, w in e.top(top)))
    if e.ngrams:
        shown = e.ngrams[: max(top, NGRAM_ROWS)]
        lines.append(
            f"  n-grams ({e.ngram_measure}, + toward {e.ngram_toward}, - toward {e.ngram_against}): "
            + " · ".join(f'{c:+.3f} "{g}"' for g, c in shown)
        )
    return "\n".join(lines)


def format_jsonl(explanation: Explanation, top: int, meaning: str) -> str:
    e = explanation
    record = {
        "text": e.text,
        "label": e.label,
        "label_id": e.label_id,
        "probability": e.probability,
        "known_tokens": e.known_tokens,
        "tokens": e.tokens,
        "weights": e.weights,
        "top": [{"position": i, "token": t, "weight": w} for i, t, w in e.top(top)],
        "weights_meaning": meaning,
    }
    if e.ngrams:
        record["ngrams"] = [{"ngram": g, "contribution": c} for g, c in e.ngrams]
    if e.labels:  # multi-label: the predicted set, most probable first
        record["labels"] = [{"label": name, "probability": p} for name, p in e.labels]
    return json.dumps(record, ensure_ascii=False)
