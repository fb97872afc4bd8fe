"""Workarounds for upstream bugs, one module each, each guarded and with a test that says when it can go."""
