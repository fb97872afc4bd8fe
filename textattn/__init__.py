"""textattn: attention models for IMDB sentiment classification in Keras 3."""

import os

# Keep TensorFlow's C++ start-up chatter out of the terminal unless asked for.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
