"""textattn: attention models for IMDB sentiment classification in Keras 3."""

import os

from textattn.quiet import quiet_start

# Keep TensorFlow's C++ start-up chatter out of the terminal unless asked for
# (TEXTATTN_VERBOSE=1 or --verbose shows it); see textattn/quiet.py.
quiet_start()
# TensorFlow's default CPU allocator hands large tensors (a 512 x 256 x 256 attention
# score matrix is 134 MB) straight to mmap/munmap, so every step page-faults them in
# again: about 40% of a CPU epoch was kernel time. The pooling BFC allocator keeps them.
# Measured on seed_attention, 2 cores: 39 -> 21 s per epoch (see bench/run.py).
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

__version__ = "0.1.0"
