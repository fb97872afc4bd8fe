"""Evaluating finished runs: metrics, speed, cached results, reports and plots.

``evaluate.py`` is the command line; the modules are:

    metrics       classification metrics from labels and predicted probabilities
    speed         inference throughput (batch 512) and batch-1 latency
    architecture  the config settings that tell runs apart (variant, layers, heads...)
    run           one run directory -> its results, cached in RUN_DIR/evaluation.json
    report        results -> one table (terminal, Markdown, CSV, JSON)
    plots         validation curves and accuracy against parameters (PNG)
    params        parameter counts straight from configs (no data, no training)
"""
