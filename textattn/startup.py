"""What a textattn command sets in its process before TensorFlow loads.

Nothing here runs on ``import textattn``: the command line (``main()`` in
textattn/__main__.py, which train.py and evaluate.py call too), the bench/
scripts and the tests call :func:`configure_process`. A program that imports
textattn as a library keeps TensorFlow's own logging and allocator.
"""

from __future__ import annotations

import os

from textattn.quiet import quiet_start

# TensorFlow's default CPU allocator hands large tensors (a 512 x 256 x 256 attention
# score matrix is 134 MB) straight to mmap/munmap, so every step page-faults them in
# again, in kernel time. The pooling BFC allocator keeps them (bench/run.py measures
# both; bench/README.md has the figures).
ALLOCATOR_ENV = "TF_CPU_ALLOCATOR_USE_BFC"


def configure_process() -> None:
    """Quiet TensorFlow's start-up lines (unless verbose; see textattn/quiet.py) and default its CPU
    allocator to BFC (an ``TF_CPU_ALLOCATOR_USE_BFC`` already set is kept). Call before TensorFlow is
    imported; calling again changes nothing."""
    quiet_start()
    os.environ.setdefault(ALLOCATOR_ENV, "true")
