"""User-facing errors: one line saying what is wrong and how to fix it."""


class UserError(Exception):
    """A problem with the user's input (path, config, data), not a bug.

    Command-line entry points catch it, print ``error: <message>`` on one line
    and exit with status 2, without a traceback.
    """


EXIT_USAGE = 2
