"""Evaluating finished runs: metrics, speed, cached results, reports and plots.

``textattn evaluate`` (textattn/commands/evaluate.py) is the command line; the modules are:

    metrics       classification metrics from labels and predicted probabilities
    speed         serving throughput (batch 512) and batch-1 latency on raw review texts
    architecture  the config settings that tell runs apart (variant, layers, heads...)
    calibration   expected calibration error, Brier score, temperature fitting and scaling
    length        accuracy per review-length bucket
    behaviour     the behavioural suite (tests/data/behaviour.tsv) scored through a predict function
    run           one run directory -> its results, cached in RUN_DIR/evaluation.json
    report        results -> one table (terminal, Markdown, CSV, JSON)
    plots         validation curves and accuracy against parameters (PNG)
    params        parameter counts straight from configs (no data, no training)
"""
