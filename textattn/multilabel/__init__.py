"""Multi-label classification: a set of labels per example, one sigmoid and one threshold per label.

See docs/multi_label.md. The data side lives in textattn/data/multi_labels.py.
"""
