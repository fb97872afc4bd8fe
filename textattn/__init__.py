"""textattn: attention models for IMDB sentiment classification in Keras 3.

Importing it defines names and does nothing else; the command line sets up its
process (quiet TensorFlow start-up, CPU allocator) in ``textattn.startup``.
"""

__version__ = "0.1.0"
