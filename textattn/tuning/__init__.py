"""Hyperparameter search with KerasTuner over the textattn model variants.

``space`` parses configs/tune.yaml, ``hypermodel`` turns hyperparameter values
into a Config and a compiled model, ``search`` runs the tuner (alone, as the
chief or as a worker) and ``report`` writes the results table and the best
config.
"""
