"""The subcommands of the ``textattn`` command line, one module each.

Each module adds its subcommand's parser (``add_parser``) and holds the
``handle`` function the parsed arguments are handed to, which calls an entry
function taking plain arguments (``run_train``, ``run_evaluate``,
``run_explain``; ``tune`` runs ``textattn.tuning.search.run_search``,
``predict`` ``textattn.predict.run_predict``, ``export``
``textattn.export.export_run``). TensorFlow is imported inside those, never at
the top of a command module, so that building the parser (``--help``, a wrong
option) stays fast. ``train.py`` and ``evaluate.py`` at the top of the
repository run the same commands.
"""
