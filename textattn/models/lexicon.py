"""The hybrid's lexicon expert (``model.hybrid.lexicon: vader``): VADER's lexicon and rules over the token ids.

token_ids (batch, length) int32 -> LexiconScores (4 features) -> Dense(classes, softmax) -> (batch, C)

VADER's lexicon (vaderSentiment's ``vader_lexicon.txt``, 7,506 entries, MIT licence, C.J. Hutto;
Hutto & Gilbert 2014) and its booster words are read from the installed ``vaderSentiment`` package
when the model is built, at training time, and baked into the layer's table over the run's word
vocabulary; the saved model and the export need neither the package nor its files.
"""

from __future__ import annotations

import re

import keras
import numpy as np

from textattn.data.negation import NEGATOR, PREFIX
from textattn.errors import UserError
from textattn.layers.lexicon_scores import BOOSTER, CONTRAST, VALENCE, LexiconScores
from textattn.models.bag_models import LEXICON_BRANCH
from textattn.variants import TOKEN_IDS

SCORES_LAYER = "lexicon_scores"
CONTRAST_WORDS = ("but", "however")
NEGATION_SCALAR = -0.74  # VADER's N_SCALAR: a negated word's valence is this times its own
PACKAGE_HINT = "model.hybrid.lexicon=vader needs the vaderSentiment package: pip install 'vaderSentiment>=3.3,<4'"


def vader_lexicon() -> tuple[dict[str, float], dict[str, float]]:
    """(valence per word, booster increment per one-word booster) from the installed vaderSentiment package."""
    from importlib import resources

    try:
        text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
        from vaderSentiment.vaderSentiment import BOOSTER_DICT
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise UserError(f"{PACKAGE_HINT} ({exc})") from None
    valences = {}
    for line in text.splitlines():
        fields = line.strip().split("\t")
        if len(fields) >= 2:
            valences[fields[0]] = float(fields[1])
    boosters = {word: float(value) for word, value in BOOSTER_DICT.items() if " " not in word}
    return valences, boosters


def vader_table(vocabulary, valences=None, boosters=None) -> np.ndarray:
    """float32 (len(vocabulary), 3): valence, booster increment and contrast flag of each token id.

    ``vocabulary`` is the word vectorizer's (line i is id i; 0 padding, 1 unknown). A negation-marked
    token ``not_X`` gets ``-0.74 * valence(X)`` and X's booster increment; a negator itself
    (not, never, n't, ...) gets no valence, its effect being in the marked words after it.
    """
    if valences is None or boosters is None:
        valences, boosters = vader_lexicon()
    table = np.zeros((len(vocabulary), 3), np.float32)
    negator = re.compile(NEGATOR)
    for i, token in enumerate(vocabulary):
        if i < 2:
            continue
        marked = token.startswith(PREFIX)
        word = token[len(PREFIX) :] if marked else token
        if not marked and negator.fullmatch(word):
            continue
        valence = valences.get(word, 0.0)
        table[i, VALENCE] = NEGATION_SCALAR * valence if marked else valence
        table[i, BOOSTER] = boosters.get(word, 0.0)
        table[i, CONTRAST] = float(token in CONTRAST_WORDS)
    return table


def build_lexicon_model(vocab_size: int, sequence_length: int, num_classes: int = 2, table=None) -> keras.Model:
    """token ids (batch, sequence_length) -> class probabilities (batch, num_classes); ``table`` set when given."""
    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name=TOKEN_IDS)
    scores = LexiconScores(vocab_size, name=SCORES_LAYER)
    features = scores(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classifier")(features)
    if table is not None:
        scores.set_table(table)
    return keras.Model(inputs, outputs, name=LEXICON_BRANCH)
