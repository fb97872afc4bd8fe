"""textattn's Keras layers, each registered for safe ``.keras`` loading."""

from textattn.layers.attention_pooling import AttentionPooling
from textattn.layers.bag_columns import BagColumns
from textattn.layers.bahdanau_attention import BahdanauAttention
from textattn.layers.folded_attention import FoldedAttention
from textattn.layers.folded_multi_head_attention import FoldedMultiHeadAttention
from textattn.layers.lexicon_scores import LexiconScores
from textattn.layers.log_linear_blend import LogLinearBlend
from textattn.layers.masked_max_pooling import MaskedGlobalMaxPooling1D
from textattn.layers.naive_bayes_evidence import NaiveBayesEvidence
from textattn.layers.naive_bayes_ngrams import NaiveBayesNgramLogits
from textattn.layers.positional_embedding import PositionalEmbedding
from textattn.layers.sinusoidal_encoding import SinusoidalPositionEncoding, sinusoidal_table
from textattn.layers.transformer_block import TransformerBlock

__all__ = [
    "AttentionPooling",
    "BagColumns",
    "BahdanauAttention",
    "FoldedAttention",
    "FoldedMultiHeadAttention",
    "LexiconScores",
    "LogLinearBlend",
    "MaskedGlobalMaxPooling1D",
    "NaiveBayesEvidence",
    "NaiveBayesNgramLogits",
    "PositionalEmbedding",
    "SinusoidalPositionEncoding",
    "TransformerBlock",
    "sinusoidal_table",
]
