"""Shared fixtures: a tiny aclImdb tree, a tiny config, a tiny trained run, the real archive.

The plain helpers they use live in helpers.py; test modules import those from
there, never from this file.
"""

from __future__ import annotations

import os

import pytest

from textattn.startup import configure_process

# What the command line does first (textattn/__main__.py): quiet TensorFlow's start-up lines and default its
# CPU allocator, before any test module imports TensorFlow. ``import textattn`` itself does neither.
configure_process()

from helpers import REAL_ARCHIVE, make_aclimdb, tiny_config  # noqa: E402  (imports TensorFlow: after the set-up)


@pytest.fixture(scope="session")
def tiny_aclimdb(tmp_path_factory) -> str:
    """Path of a tiny aclImdb directory: 120 train, 60 test, 10 unsup reviews."""
    return make_aclimdb(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="session")
def tiny_run(tiny_aclimdb, tmp_path_factory) -> str:
    """A finished run directory trained on the tiny tree (baseline, masked)."""
    from textattn.training import train

    tmp = tmp_path_factory.mktemp("tiny_run")
    return train(tiny_config(tmp, data=tiny_aclimdb), output_dir=str(tmp / "runs"), verbose=0).run_dir


@pytest.fixture(scope="session")
def real_archive() -> str:
    """The real aclImdb archive; required in CI (fails there if missing)."""
    if not os.path.exists(REAL_ARCHIVE):
        message = f"real IMDB archive not found at {REAL_ARCHIVE}; set TEXTATTN_DATA"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return REAL_ARCHIVE
