"""The subcommands ``train``, ``tune`` and ``evaluate`` of the ``textattn`` command line.

Each module adds its subcommand's parser (``add_parser``) and holds the entry
function the parsed arguments are handed to, which takes plain arguments
(``run_train``, ``run_evaluate``; ``tune`` runs ``textattn.tuning.search.run_search``).
``train.py`` and ``evaluate.py`` at the top of the repository run the same
commands. ``export``, ``predict`` and ``explain`` are registered in
``textattn/__main__.py``.
"""
